"""Bulk API 2.0 ingest and Composite of Collections in the sandbox, over HTTPS: the job's
life, CSV values, per-record results, failures, and exact call counts end to end."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce

from syncd.salesforce import OrgClient, RetryPolicy
from syncd.salesforce.ingest import UNPROCESSED, BulkIngestFailed, IngestOptions, WriteJob
from syncd.salesforce.writes import write_records
from syncd.sandbox import SandboxOrg, SandboxServer
from syncd.sfid import make_id
from tests.sandbox.test_server import Client, token

ACCOUNT = make_id("001", 1)
DEALS = [make_id("006", n) for n in range(1, 10_001)]
NO_WAIT = RetryPolicy(initial_wait=0, max_wait=0, jitter=0)
FAST = IngestOptions(poll_seconds=0)
CSV = {"Content-Type": "text/csv; charset=UTF-8"}
KINDS = ("bulk_ingest_job", "bulk_ingest_upload", "bulk_ingest_state", "bulk_ingest_status")


@pytest.fixture
def org(request: pytest.FixtureRequest) -> SandboxOrg:
    """An account with 1,500 deals (or ``indirect``-ly as many as a test asks)."""
    count = getattr(request, "param", 1500)
    org = SandboxOrg()
    deal = {"AccountId": ACCOUNT, "StageName": "Prospecting", "CloseDate": "2026-12-31"}
    org.load(
        {
            "Account": [{"Id": ACCOUNT, "Name": "Acme"}],
            "Opportunity": [
                {"Id": i, "Name": f"Deal {n}", **deal} for n, i in enumerate(DEALS[:count])
            ],
        }
    )
    return org


@pytest.fixture
def api(server: SandboxServer) -> Iterator[Client]:
    client = Client(server)
    server.reset_calls()
    yield client
    client.close()


@pytest.fixture
def client(server: SandboxServer) -> OrgClient:
    client = OrgClient(server.salesforce_settings(), retry=NO_WAIT)
    client.connect()
    server.reset_calls()
    return client


def new_job(api: Client, **body: Any) -> str:
    body = {"object": "Opportunity", "operation": "update", "contentType": "CSV", **body}
    answer = api("POST", "jobs/ingest", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "Open"
    return str(answer.json()["id"])


def uploaded_job(api: Client, text: str, **body: Any) -> str:
    job_id = new_job(api, **body)
    assert (
        api("PUT", f"jobs/ingest/{job_id}/batches", data=text.encode(), headers=CSV).status_code
        == 201
    )
    return job_id


def close(api: Client, job_id: str, state: str = "UploadComplete") -> dict[str, Any]:
    answer = api("PATCH", f"jobs/ingest/{job_id}", json={"state": state})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def rows(api: Client, job_id: str, which: str) -> list[dict[str, str]]:
    answer = api("GET", f"jobs/ingest/{job_id}/{which}")
    assert answer.status_code == 200, answer.text
    return list(csv.DictReader(io.StringIO(answer.text)))


# -- the job's life over raw HTTP ------------------------------------------------------------


def test_a_job_goes_open_upload_complete_job_complete_and_answers_its_results(
    api: Client, server: SandboxServer, org: SandboxOrg
) -> None:
    job_id = uploaded_job(api, f"Id,RoE_Status__c\n{DEALS[0]},Compliant\n{DEALS[1]},Violation\n")
    assert close(api, job_id)["state"] == "UploadComplete"
    info = api("GET", f"jobs/ingest/{job_id}").json()
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "JobComplete",
        2,
        0,
    )
    assert info["contentUrl"] == f"services/data/v62.0/jobs/ingest/{job_id}/batches"
    assert rows(api, job_id, "successfulResults") == [
        {"sf__Id": DEALS[1], "sf__Created": "false", "Id": DEALS[1], "RoE_Status__c": "Violation"},
        {"sf__Id": DEALS[0], "sf__Created": "false", "Id": DEALS[0], "RoE_Status__c": "Compliant"},
    ]  # last first: Salesforce promises no order, so the sandbox keeps none
    assert rows(api, job_id, "failedResults") == []
    assert rows(api, job_id, "unprocessedRecords") == []
    assert org.get("Opportunity", DEALS[1])["RoE_Status__c"] == "Violation"
    assert {k: server.calls[k] for k in KINDS} == dict.fromkeys(KINDS, 1)
    assert server.calls["bulk_ingest_results"] == 3
    assert server.api_calls() == 7


def test_records_land_only_when_the_job_is_processed(
    api: Client, server: SandboxServer, org: SandboxOrg
) -> None:
    server.ingest.polls_in_progress = 2
    job_id = uploaded_job(api, f"Id,RoE_Status__c\n{DEALS[0]},Review\n")
    close(api, job_id)
    states = [api("GET", f"jobs/ingest/{job_id}").json()["state"] for _ in range(3)]
    assert states == ["InProgress", "InProgress", "JobComplete"]
    assert org.get("Opportunity", DEALS[0])["RoE_Status__c"] == "Review"


def test_an_aborted_job_processes_nothing(api: Client, org: SandboxOrg) -> None:
    job_id = uploaded_job(api, f"Id,RoE_Status__c\n{DEALS[0]},Review\n")
    close(api, job_id)
    assert close(api, job_id, "Aborted")["state"] == "Aborted"
    assert rows(api, job_id, "unprocessedrecords") == [{"Id": DEALS[0], "RoE_Status__c": "Review"}]
    assert org.get("Opportunity", DEALS[0])["RoE_Status__c"] is None


def test_an_unknown_column_fails_the_job(api: Client, org: SandboxOrg) -> None:
    job_id = uploaded_job(api, f"Id,Foo__c\n{DEALS[0]},x\n")
    close(api, job_id)
    info = api("GET", f"jobs/ingest/{job_id}").json()
    assert (info["state"], info["errorMessage"]) == (
        "Failed",
        "InvalidBatch : Field name not found : Foo__c",
    )
    assert info["numberRecordsProcessed"] == 0
    assert len(rows(api, job_id, "unprocessedrecords")) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"object": "Lead"}, "Unable to find object: Lead"),
        ({"operation": "hardDelete"}, "the sandbox ingests insert, update, upsert"),
        ({"operation": "upsert", "externalIdFieldName": "Name"}, "not an External ID field"),
        ({"contentType": "JSON"}, "contentType must be CSV"),
    ],
)
def test_a_job_the_sandbox_cannot_run_is_refused(api: Client, body: dict, message: str) -> None:
    answer = api(
        "POST", "jobs/ingest", json={"object": "Opportunity", "operation": "update", **body}
    )
    assert answer.status_code == 400
    assert message in answer.json()[0]["message"]


def test_uploads_are_one_per_job_and_bounded(api: Client, server: SandboxServer) -> None:
    job_id = uploaded_job(api, f"Id\n{DEALS[0]}\n")
    again = api("PUT", f"jobs/ingest/{job_id}/batches", data=b"Id\n", headers=CSV)
    assert again.status_code == 409
    server.ingest.max_upload_bytes = 10
    other = new_job(api)
    too_big = api("PUT", f"jobs/ingest/{other}/batches", data=b"Id\n" * 10, headers=CSV)
    assert too_big.status_code == 400 and "at most 10 bytes" in too_big.json()[0]["message"]
    assert api("GET", f"jobs/ingest/{job_id}/successfulResults").status_code == 400


# -- through the client: CSV values land as Collections would write them ----------------------


def test_bulk_and_collections_store_the_same_values(client: OrgClient, org: SandboxOrg) -> None:
    values = {
        "RoE_Reason__c": 'Partner "P1" displaced,\nsee the ledger.\r\nÜnïcødé too',
        "RoE_Comp_Eligible__c": False,
        "Amount": 1e16,
        "CloseDate": date(2027, 1, 31).isoformat(),
        "RoE_Remedy__c": None,
    }
    org.update("Opportunity", DEALS[0], {"RoE_Remedy__c": "was set"})
    org.update("Opportunity", DEALS[1], {"RoE_Remedy__c": "was set"})
    client.update("Opportunity", [{"Id": DEALS[0], **values}])
    client.bulk_ingest(WriteJob("Opportunity"), [{"Id": DEALS[1], **values}], FAST)
    by_rest, by_bulk = org.get("Opportunity", DEALS[0]), org.get("Opportunity", DEALS[1])
    assert {k: by_bulk[k] for k in values} == {k: by_rest[k] for k in values}
    assert by_bulk["RoE_Reason__c"] == values["RoE_Reason__c"]
    assert by_bulk["RoE_Remedy__c"] is None  # #N/A cleared it


def test_an_absent_key_leaves_the_field_alone(client: OrgClient, org: SandboxOrg) -> None:
    org.update("Opportunity", DEALS[0], {"RoE_Remedy__c": "keep me"})
    records = [
        {"Id": DEALS[0], "RoE_Status__c": "Review"},
        {"Id": DEALS[1], "RoE_Remedy__c": "new"},
    ]
    client.bulk_ingest(WriteJob("Opportunity"), records, FAST)
    assert org.get("Opportunity", DEALS[0])["RoE_Remedy__c"] == "keep me"
    assert org.get("Opportunity", DEALS[1])["RoE_Remedy__c"] == "new"


def test_task_upserts_create_then_update_by_the_key(client: OrgClient, org: SandboxOrg) -> None:
    job = WriteJob("Task", "upsert", "RoE_Key__c")
    description = 'Line one\nLine two, with "quotes"'
    tasks = [
        {
            "RoE_Key__c": f"K-{n}",
            "Subject": "Poached",
            "WhatId": DEALS[n],
            "ActivityDate": "2026-12-15",
            "Description": description,
        }
        for n in range(3)
    ]
    first = client.bulk_ingest(job, tasks, FAST)
    assert [r.created for r in first] == [True, True, True]
    second = client.bulk_ingest(job, [{"RoE_Key__c": "K-1", "Status": "Completed"}], FAST)
    assert (second[0].created, second[0].id) == (False, first[1].id)
    stored = org.get("Task", first[1].id or "")
    assert stored["Description"] == description and stored["IsClosed"] is True


def test_a_failed_job_leaves_every_record_unprocessed(
    client: OrgClient, server: SandboxServer
) -> None:
    server.ingest.fail_with, server.ingest.fail_after = "InternalServerError : retries exhausted", 2
    records = [{"Id": i, "RoE_Status__c": "Review"} for i in DEALS[:5]]
    with pytest.raises(BulkIngestFailed, match="retries exhausted") as caught:
        client.bulk_ingest(WriteJob("Opportunity"), records, FAST)
    results = caught.value.results
    assert [r.success for r in results] == [True, True, False, False, False]
    assert {r.errors[0].code for r in results[2:]} == {UNPROCESSED}
    assert server.ingest.fail_with is None  # the knob fires once


# -- the big one: 10,000 updates through write_records ----------------------------------------


@pytest.mark.parametrize("org", [10_000], indirect=True)
def test_10000_updates_with_refusals_take_six_calls(
    client: OrgClient, server: SandboxServer, org: SandboxOrg
) -> None:
    locked, deleted, too_long = DEALS[10:13], DEALS[5000], DEALS[9999]
    server.faults.fail_records(locked, "UNABLE_TO_LOCK_ROW")
    org.delete("Opportunity", deleted)
    records = [
        {
            "Id": i,
            "RoE_Status__c": "Compliant",
            "RoE_Comp_Eligible__c": True,
            "RoE_Reason__c": f"rule {n}",
        }
        for n, i in enumerate(DEALS)
    ]
    records[9999]["RoE_Reason__c"] = "x" * 300
    results = write_records(client, "Opportunity", records, ingest_options=FAST)
    refused = {r.id: r.errors[0].code for r in results if not r.success}
    assert refused == {
        **dict.fromkeys(locked, "UNABLE_TO_LOCK_ROW"),
        deleted: "ENTITY_IS_DELETED",
        too_long: "STRING_TOO_LONG",
    }
    assert [r.index for r in results] == list(range(10_000))
    assert [r.id for r in results] == DEALS
    stored = {r["Id"]: r for r in org.records("Opportunity")}
    for n, deal in enumerate(DEALS):
        if deal in refused:
            assert deal not in stored or stored[deal]["RoE_Status__c"] is None
        else:
            assert (stored[deal]["RoE_Status__c"], stored[deal]["RoE_Reason__c"]) == (
                "Compliant",
                f"rule {n}",
            )
    assert {k: server.calls[k] for k in KINDS} == dict.fromkeys(KINDS, 1)
    assert server.calls["bulk_ingest_results"] == 2  # successfulResults and failedResults
    assert server.api_calls() == 6 and client.api_calls == 6


def test_1500_updates_take_two_composite_calls(
    client: OrgClient, server: SandboxServer, org: SandboxOrg
) -> None:
    server.faults.fail_records([DEALS[1234]], "UNABLE_TO_LOCK_ROW")
    records = [{"Id": i, "RoE_Status__c": "Exempt"} for i in DEALS[:1500]]
    results = write_records(client, "Opportunity", records)
    assert [r.id for r in results if not r.success] == [DEALS[1234]]
    assert org.get("Opportunity", DEALS[1499])["RoE_Status__c"] == "Exempt"
    assert server.calls == {"composite": 2} and server.api_calls() == 2


def test_composite_takes_at_most_five_collections(api: Client, server: SandboxServer) -> None:
    sub = {
        "method": "PATCH",
        "url": "/services/data/v62.0/composite/sobjects",
        "body": {"records": [{"attributes": {"type": "Opportunity"}, "Id": DEALS[0]}]},
    }
    subs = [{**sub, "referenceId": f"r{n}"} for n in range(6)]
    answer = api("POST", "composite", json={"compositeRequest": subs})
    assert answer.status_code == 400 and "at most 5" in answer.json()[0]["message"]
    answer = api("POST", "composite", json={"compositeRequest": subs[:5]})
    assert [r["httpStatusCode"] for r in answer.json()["compositeResponse"]] == [200] * 5
    assert server.calls == {"composite": 2}


# -- simple-salesforce's own bulk2 (the benchmark's plain script) works here too --------------


def test_simple_salesforces_bulk2_round_trips(server: SandboxServer, org: SandboxOrg) -> None:
    session = requests.Session()
    session.verify = str(server.ca_bundle)
    session.trust_env = False
    body = token(server).json()
    sf = Salesforce(
        instance_url=body["instance_url"],
        session_id=body["access_token"],
        session=session,
        version="62.0",
    )
    server.faults.fail_records([DEALS[1]], "UNABLE_TO_LOCK_ROW")
    records = [{"Id": DEALS[0], "RoE_Comp_Eligible__c": True}, {"Id": DEALS[1], "Name": "x"}]
    (job,) = sf.bulk2.Opportunity.update(records=records, wait=0)
    assert (job["numberRecordsProcessed"], job["numberRecordsFailed"]) == (2, 1)
    failed = list(
        csv.DictReader(io.StringIO(sf.bulk2.Opportunity.get_failed_records(job["job_id"])))
    )
    assert failed[0]["sf__Error"].startswith("UNABLE_TO_LOCK_ROW:")
    assert sf.bulk2.Opportunity.get_unprocessed_records(job["job_id"]).startswith('"')
    assert org.get("Opportunity", DEALS[0])["RoE_Comp_Eligible__c"] is True  # "True" read as true
