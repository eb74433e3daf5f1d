"""The write-API choice and Composite of Collections: `responses` plays Salesforce."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import responses

from syncd.errors import ApiLimitExceeded, FatalSyncError
from syncd.salesforce import OrgClient
from syncd.salesforce.ingest import IngestOptions
from syncd.salesforce.writes import (
    BULK_THRESHOLD,
    COMPOSITE_RECORDS,
    call_bound,
    choose,
    lowest_bound,
    write_records,
)
from syncd.sfid import make_id
from tests.contract.fake_ingest import FakeIngest
from tests.contract.fakeorg import DATA, sf_error

COMPOSITE = f"{DATA}/composite"
COLLECTIONS = f"{DATA}/composite/sobjects"
SUB_URL = "/services/data/v62.0/composite/sobjects"
Sub = Callable[[dict[str, Any]], tuple[int, Any]]  # a subrequest -> (status, body)


def deals(n: int) -> list[dict[str, Any]]:
    return [{"Id": make_id("006", i), "RoE_Status__c": "Compliant"} for i in range(1, n + 1)]


def echo(sub: dict[str, Any], refuse: frozenset[str] = frozenset()) -> tuple[int, Any]:
    """Salesforce's answer to one Collections subrequest: a result per record, in order."""
    body = []
    for record in sub["body"]["records"]:
        key = record.get("Id") or record.get("RoE_Key__c")
        if key in refuse:
            errors = [{"statusCode": "STRING_TOO_LONG", "message": "too long", "fields": ["X"]}]
            body.append({"id": record.get("Id"), "success": False, "errors": errors})
        else:
            answer = {"id": record.get("Id") or "00T000000000001AAA", "success": True, "errors": []}
            if "RoE_Key__c" in record:
                answer["created"] = True
            body.append(answer)
    return 200, body


def composite_org(org: responses.RequestsMock, answer: Sub = echo) -> None:
    def callback(request: Any) -> tuple[int, dict[str, str], str]:
        subs = json.loads(request.body)["compositeRequest"]
        responses_ = []
        for sub in subs:
            status, body = answer(sub)
            responses_.append(
                {
                    "body": body,
                    "httpHeaders": {},
                    "httpStatusCode": status,
                    "referenceId": sub["referenceId"],
                }
            )
        return 200, {}, json.dumps({"compositeResponse": responses_})

    org.add_callback(responses.POST, COMPOSITE, callback=callback)


def sent(org: responses.RequestsMock) -> list[dict[str, Any]]:
    return [json.loads(c.request.body) for c in org.calls if c.request.url == COMPOSITE]


# -- the choice ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "api"),
    [
        (0, "none"),
        (1, "collections"),
        (200, "collections"),
        (201, "composite"),
        (1999, "composite"),
        (2000, "bulk"),
        (1_000_000, "bulk"),
    ],
)
def test_the_api_follows_the_number_of_records(count: int, api: str) -> None:
    assert choose(count) == api


def test_without_a_threshold_bulk_is_never_chosen() -> None:
    assert choose(10**6, None) == "composite"
    assert choose(500, bulk_threshold=300) == "bulk"


@pytest.mark.parametrize(
    ("count", "api", "bound"),
    [
        (0, "collections", 0),
        (200, "collections", 1),
        (201, "composite", 1),
        (1000, "composite", 1),
        (1001, "composite", 2),
        (10_000, "bulk", 5),
    ],
)
def test_the_call_bound_of_each_api(count: int, api: Any, bound: int) -> None:
    assert call_bound(count, api) == bound


@pytest.mark.parametrize(("count", "bound"), [(0, 0), (150, 1), (2000, 2), (5000, 5), (10**6, 5)])
def test_the_lowest_bound_takes_the_cheapest_api(count: int, bound: int) -> None:
    assert lowest_bound(count) == bound


# -- each path, call by call ----------------------------------------------------------------


def test_200_records_take_one_collections_call(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.add_callback(
        responses.PATCH,
        COLLECTIONS,
        callback=lambda r: (200, {}, json.dumps(echo({"body": json.loads(r.body)})[1])),
    )
    results = write_records(client, "Opportunity", deals(200))
    assert all(r.success for r in results) and len(results) == 200
    assert client.calls == {"collections": 1}


def test_1000_records_take_one_composite_call_of_five_collections(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    records = deals(1000)
    refused = frozenset({records[0]["Id"], records[999]["Id"]})
    composite_org(org, lambda sub: echo(sub, refused))
    results = write_records(client, "Opportunity", records)
    assert client.calls == {"composite": 1}
    (body,) = sent(org)
    assert body["allOrNone"] is False
    subs = body["compositeRequest"]
    assert [(s["method"], s["url"], len(s["body"]["records"])) for s in subs] == [
        ("PATCH", SUB_URL, 200)
    ] * 5
    assert all(s["body"]["allOrNone"] is False for s in subs)
    assert subs[1]["body"]["records"][0] == {
        "attributes": {"type": "Opportunity"},
        **records[200],
    }
    assert [r.index for r in results] == list(range(1000))
    assert [i for i, r in enumerate(results) if not r.success] == [0, 999]
    assert results[999].errors[0].code == "STRING_TOO_LONG"


def test_1999_records_take_two_composite_calls(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    composite_org(org)
    results = write_records(client, "Opportunity", deals(1999))
    assert [len(b["compositeRequest"]) for b in sent(org)] == [5, 5]
    assert [len(b["compositeRequest"][-1]["body"]["records"]) for b in sent(org)] == [200, 199]
    assert [r.id for r in results] == [r["Id"] for r in deals(1999)]
    assert client.calls == {"composite": 2}
    assert BULK_THRESHOLD > 1999 and COMPOSITE_RECORDS == 1000


def test_task_upserts_go_to_the_external_id_route(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    composite_org(org)
    tasks = [{"RoE_Key__c": f"K-{n}", "Subject": "Poached"} for n in range(450)]
    results = write_records(client, "Task", tasks, operation="upsert", external_id="RoE_Key__c")
    (body,) = sent(org)
    assert {s["url"] for s in body["compositeRequest"]} == {f"{SUB_URL}/Task/RoE_Key__c"}
    assert [len(s["body"]["records"]) for s in body["compositeRequest"]] == [200, 200, 50]
    assert all(r.created is True for r in results)


def test_inserts_are_posted(client: OrgClient, org: responses.RequestsMock) -> None:
    composite_org(org)
    write_records(client, "Task", [{"Subject": f"T{n}"} for n in range(300)], operation="insert")
    assert {s["method"] for s in sent(org)[0]["compositeRequest"]} == {"POST"}


def test_2000_records_go_through_one_bulk_job(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    FakeIngest(org)
    results = write_records(
        client, "Opportunity", deals(2000), ingest_options=IngestOptions(poll_seconds=0)
    )
    assert all(r.success for r in results)
    assert client.calls == {"bulk_ingest": 5}


# -- failed subrequests ----------------------------------------------------------------------


def test_a_subrequest_refused_for_a_row_lock_fails_its_records_only(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    def answer(sub: dict[str, Any]) -> tuple[int, Any]:
        if sub["referenceId"] == "records400":
            return 400, sf_error("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access")
        return echo(sub)

    composite_org(org, answer)
    results = write_records(client, "Opportunity", deals(1000))
    failed = [i for i, r in enumerate(results) if not r.success]
    assert failed == list(range(400, 600))
    assert results[400].errors[0].code == "UNABLE_TO_LOCK_ROW"
    assert results[400].id is None
    assert client.calls == {"composite": 1}  # retried next cycle, not now


def test_a_malformed_subrequest_raises_the_classified_error(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    composite_org(org, lambda sub: (400, sf_error("INVALID_FIELD", "No such column 'Foo__c'")))
    with pytest.raises(FatalSyncError, match="INVALID_FIELD: No such column 'Foo__c'") as caught:
        write_records(client, "Opportunity", deals(300))
    assert "update Opportunity" in str(caught.value)


def test_a_limit_in_a_subrequest_stops_the_cycle(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    composite_org(org, lambda sub: (403, sf_error("REQUEST_LIMIT_EXCEEDED")))
    with pytest.raises(ApiLimitExceeded):
        write_records(client, "Opportunity", deals(300))


def test_a_subrequest_missing_from_the_answer_is_fatal(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.post(COMPOSITE, json={"compositeResponse": []})
    with pytest.raises(FatalSyncError, match="lacks the update Opportunity of #0"):
        write_records(client, "Opportunity", deals(300))


def test_a_short_subresponse_is_fatal(client: OrgClient, org: responses.RequestsMock) -> None:
    composite_org(org, lambda sub: (200, []))
    with pytest.raises(FatalSyncError, match="with 0 results for 200"):
        write_records(client, "Opportunity", deals(300))


def test_bad_records_are_refused_before_any_call(client: OrgClient) -> None:
    with pytest.raises(ValueError, match="update Opportunity: record #1 has no Id"):
        write_records(client, "Opportunity", [{"Id": make_id("006", 1)}, {"Name": "x"}])
    with pytest.raises(ValueError, match="upsert Task: record #0 has no RoE_Key__c"):
        write_records(
            client, "Task", [{"Subject": "x"}], operation="upsert", external_id="RoE_Key__c"
        )
    with pytest.raises(ValueError, match="not a valid"):
        write_records(client, "Opportunity; DROP", deals(1))
    assert client.calls == {}
