"""Writes through sObject Collections: chunks of ≤ 200, allOrNone=false, per-record results."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import responses
from structlog.testing import capture_logs

from syncd.errors import RetriableError
from syncd.salesforce import OrgClient, WriteJob, Writer
from tests.contract.fakeorg import DATA, calls_to, sf_error

COLLECTIONS = f"{DATA}/composite/sobjects"


def _echo(
    fail: dict[str, tuple[str, str, list[str]]] | None = None, sobject: str = "Opportunity"
) -> Any:
    """A Collections endpoint: success per record, except Ids listed in ``fail``."""

    def callback(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body or "{}")
        assert body["allOrNone"] is False
        results = []
        for n, record in enumerate(body["records"]):
            assert record["attributes"] == {"type": sobject}
            rid = record.get("Id") or f"006NEW{n:012d}"
            if fail and rid in fail:
                code, message, fields = fail[rid]
                errors = [{"statusCode": code, "message": message, "fields": fields}]
                results.append({"id": rid, "success": False, "errors": errors})
            else:
                results.append({"id": rid, "success": True, "errors": []})
        return 200, {"Sforce-Limit-Info": "api-usage=10/15000"}, json.dumps(results)

    return callback


def _opps(n: int) -> list[dict[str, Any]]:
    return [{"Id": f"006A{i:014d}", "RoE_Status__c": "Compliant"} for i in range(n)]


def test_450_records_take_three_calls(client: OrgClient, org: responses.RequestsMock) -> None:
    org.add_callback(responses.PATCH, COLLECTIONS, callback=_echo())
    results = client.update("Opportunity", _opps(450))
    sizes = [len(json.loads(c.request.body)["records"]) for c in calls_to(org, "/composite/")]
    assert sizes == [200, 200, 50]
    assert [r.index for r in results] == list(range(450))
    assert all(r.success for r in results)
    assert client.calls == {"collections": 3}


def test_per_record_errors_come_back_as_results(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    records = _opps(3)
    bad = records[1]["Id"]
    fail = {bad: ("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Stage locked", ["StageName"])}
    org.add_callback(responses.PATCH, COLLECTIONS, callback=_echo(fail))
    results = client.update("Opportunity", records)
    assert [r.success for r in results] == [True, False, True]
    failure = results[1].errors[0]
    assert (failure.code, failure.message, failure.fields) == (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "Stage locked",
        ("StageName",),
    )


def test_the_writer_reports_each_failure_and_goes_on(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    records = _opps(150)
    fail = {
        records[5]["Id"]: ("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access", []),
        records[130]["Id"]: ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "bad value", ["Type"]),
    }
    org.add_callback(responses.PATCH, COLLECTIONS, callback=_echo(fail))
    progress: list[int] = []
    writer = Writer(client, concurrency=1, progress=lambda done, _total: progress.append(done))
    job = WriteJob("Opportunity", "update", records, [r["Id"] for r in records])
    with capture_logs() as logs:
        written = writer.write([job])
    assert (written.attempted, len(written.landed)) == (150, 148)
    assert len(calls_to(org, "/composite/")) == 1  # 200 or fewer: one Collections call
    assert [(f.record_id, f.index, f.code) for f in written.failures] == [
        (records[5]["Id"], 5, "UNABLE_TO_LOCK_ROW"),
        (records[130]["Id"], 130, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
    ]
    assert written.failures[1].fields == ("Type",)
    assert progress == [150]
    logged = [e for e in logs if e["event"] == "salesforce.record_failed"]
    assert [(e["record_id"], e["sobject"], e["code"]) for e in logged] == [
        (records[5]["Id"], "Opportunity", "UNABLE_TO_LOCK_ROW"),
        (records[130]["Id"], "Opportunity", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
    ]


def test_the_writer_upserts_by_key_and_names_results_by_the_callers_refs(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    upsert_url = f"{COLLECTIONS}/Task/RoE_Key__c"
    org.add_callback(responses.PATCH, upsert_url, callback=_echo(sobject="Task"))
    tasks = [{"RoE_Key__c": f"k{n}", "Subject": "s"} for n in range(3)]
    written = Writer(client).write(
        [WriteJob("Task", "upsert", tasks, ["k0", "k1", "k2"], key_field="RoE_Key__c")]
    )
    assert sorted(written.landed) == ["k0", "k1", "k2"] and not written.failures
    assert len(calls_to(org, "/composite/")) == 1


def test_a_stop_request_ends_the_writer_before_more_calls_are_sent(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.add_callback(responses.PATCH, COLLECTIONS, callback=_echo())
    asked = iter([False, True])
    writer = Writer(client, concurrency=2, should_stop=lambda: next(asked))
    records = _opps(300)  # three jobs, a call each: two in flight land, then the stop
    jobs = [
        WriteJob("Opportunity", "update", part, [r["Id"] for r in part])
        for part in (records[:100], records[100:200], records[200:])
    ]
    written = writer.write(jobs)
    assert written.interrupted and len(written.landed) == 200
    assert len(calls_to(org, "/composite/")) == 2


def test_a_failed_chunk_is_retried_and_then_succeeds(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.patch(COLLECTIONS, status=503, json=sf_error("SERVER_UNAVAILABLE"))
    org.add_callback(responses.PATCH, COLLECTIONS, callback=_echo())
    assert all(r.success for r in client.update("Opportunity", _opps(2)))
    assert len(calls_to(org, "/composite/")) == 2


def test_a_chunk_failing_for_good_raises_retriable(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.patch(COLLECTIONS, status=500, json=sf_error("UNKNOWN_EXCEPTION"))
    with pytest.raises(RetriableError, match="update Opportunity"):
        client.update("Opportunity", _opps(2))
    assert len(calls_to(org, "/composite/")) == 5  # RetryPolicy().attempts


def test_upsert_uses_the_external_id_path(client: OrgClient, org: responses.RequestsMock) -> None:
    body = [{"id": "00T000000000001AAA", "success": True, "errors": [], "created": True}]
    org.patch(f"{COLLECTIONS}/Task/RoE_Key__c", json=body)
    (result,) = client.upsert("Task", "RoE_Key__c", [{"RoE_Key__c": "k1", "Subject": "x"}])
    assert result.created is True and result.id == "00T000000000001AAA"
    sent = json.loads(calls_to(org, "/composite/")[0].request.body)
    assert sent["records"] == [{"attributes": {"type": "Task"}, "RoE_Key__c": "k1", "Subject": "x"}]


def test_delete_sends_ids_and_all_or_none_false(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.delete(COLLECTIONS, json=[{"id": "a", "success": True, "errors": []}] * 2)
    assert [r.success for r in client.delete(["a", "b"])] == [True, True]
    url = calls_to(org, "/composite/")[0].request.url
    assert "ids=a%2Cb" in url and "allOrNone=false" in url


def test_update_without_id_is_refused_before_any_call(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    with pytest.raises(ValueError, match="#1 has no Id"):
        client.update("Opportunity", [{"Id": "006A"}, {"Name": "x"}])
    assert len(org.calls) == 0


def test_composite_returns_the_subresponses(client: OrgClient, org: responses.RequestsMock) -> None:
    org.post(f"{DATA}/composite", json={"compositeResponse": [{"httpStatusCode": 200}]})
    sub = [{"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "l"}]
    assert client.composite(sub) == [{"httpStatusCode": 200}]
    assert client.calls == {"composite": 1}
    with pytest.raises(ValueError):
        client.composite(sub * 26)
