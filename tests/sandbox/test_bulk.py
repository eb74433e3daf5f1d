"""Bulk API 2.0 query jobs in the sandbox, over HTTPS: lifecycle, CSV, paging, counts."""

from __future__ import annotations

import csv
import inspect
import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from syncd.errors import FatalSyncError
from syncd.salesforce import OrgClient, RetryPolicy
from syncd.salesforce.bulk import BulkJobFailed
from syncd.sandbox import SandboxOrg, SandboxServer, bulk
from syncd.sfid import make_id
from tests.sandbox.test_server import Client

ACCOUNTS = [make_id("001", n) for n in range(1, 8)]
OPP = make_id("006", 1)
FIELDS = "Id, Name, IsPartner, BillingCountry"
SOQL = f"SELECT {FIELDS} FROM Account"
NO_WAIT = RetryPolicy(initial_wait=0, max_wait=0, jitter=0)


@pytest.fixture
def org() -> SandboxOrg:
    org = SandboxOrg()
    accounts = [
        {"Id": ident, "Name": f"Acme {n}", "BillingCountry": "US", "IsPartner": n == 2}
        for n, ident in enumerate(ACCOUNTS, start=1)
    ]
    accounts[0].update(Name='Acme, "Quoted"\nSecond line', BillingCountry=None)
    opp = {"Id": OPP, "Name": "Big deal", "AccountId": ACCOUNTS[0], "StageName": "Prospecting",
           "CloseDate": "2026-12-31", "Amount": 12500.5}  # fmt: skip
    org.load({"Account": accounts, "Opportunity": [opp]})
    return org


@pytest.fixture
def api(server: SandboxServer) -> Iterator[Client]:
    client = Client(server)
    server.reset_calls()  # the token call is not what these tests count
    yield client
    client.close()


def create(api: Client, soql: str = SOQL, operation: str = "query") -> requests.Response:
    body = {"operation": operation, "query": soql, "columnDelimiter": "COMMA", "lineEnding": "LF"}
    return api("POST", "jobs/query", json=body)


def completed_job(api: Client, soql: str = SOQL, operation: str = "query") -> str:
    job_id = create(api, soql, operation).json()["id"]
    assert api("GET", f"jobs/query/{job_id}").json()["state"] == "JobComplete"
    return str(job_id)


def results(api: Client, job_id: str, **params: Any) -> requests.Response:
    return api("GET", f"jobs/query/{job_id}/results", params=params)


def rows(response: requests.Response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.text)))


# -- the job lifecycle -----------------------------------------------------------------


def test_create_answers_job_info_and_status_completes(api: Client, server: SandboxServer) -> None:
    created = create(api)
    assert created.status_code == 200
    info = created.json()
    assert info["id"].startswith("750") and len(info["id"]) == 18
    assert (info["operation"], info["object"], info["state"]) == (
        "query", "Account", "UploadComplete",
    )  # fmt: skip
    status = api("GET", f"jobs/query/{info['id']}").json()
    assert status["state"] == "JobComplete" and status["numberRecordsProcessed"] == 7
    assert dict(server.calls) == {"bulk_job": 1, "bulk_status": 1}


def test_a_job_can_take_several_polls(api: Client, server: SandboxServer) -> None:
    server.bulk.polls_in_progress = 2
    job_id = create(api).json()["id"]
    early = results(api, job_id)
    assert early.status_code == 400 and early.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    states = [api("GET", f"jobs/query/{job_id}").json()["state"] for _ in range(3)]
    assert states == ["InProgress", "InProgress", "JobComplete"]


def test_a_failed_job_reports_its_error_message(api: Client, server: SandboxServer) -> None:
    server.bulk.fail_with = "QUERY_TIMEOUT: the query took too long"
    job_id = create(api).json()["id"]
    status = api("GET", f"jobs/query/{job_id}").json()
    assert status["state"] == "Failed"
    assert status["errorMessage"] == "QUERY_TIMEOUT: the query took too long"
    assert results(api, job_id).status_code == 400
    assert create(api).json()["id"] != job_id  # the knob fails one job only
    assert server.bulk.fail_with is None


def test_unknown_and_deleted_jobs_are_not_found(api: Client) -> None:
    unknown = make_id("750", 999)
    for response in (api("GET", f"jobs/query/{unknown}"), results(api, unknown)):
        assert response.status_code == 404 and response.json()[0]["errorCode"] == "NOT_FOUND"
    job_id = completed_job(api)
    assert api("DELETE", f"jobs/query/{job_id}").status_code == 204
    assert api("GET", f"jobs/query/{job_id}").status_code == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"operation": "query", "query": "SELECT Nope__c FROM Account"}, "INVALID_FIELD"),
        ({"operation": "query", "query": "SELECT Id FROM Nothing"}, "INVALID_TYPE"),
        ({"operation": "query", "query": "SELECT Id FROM"}, "MALFORMED_QUERY"),
        ({"operation": "query", "query": "SELECT COUNT() FROM Account"}, "INVALIDJOB"),
        ({"operation": "query", "query": "SELECT Id FROM Account OFFSET 5"}, "INVALIDJOB"),
        ({"operation": "insert", "query": SOQL}, "INVALIDJOB"),
        ({"operation": "query"}, "INVALIDJOB"),
        ({"operation": "query", "query": SOQL, "columnDelimiter": "SPACE"}, "INVALIDJOB"),
    ],
)
def test_bad_jobs_are_refused_like_salesforce(api: Client, body: dict[str, str], code: str) -> None:
    response = api("POST", "jobs/query", json=body)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code


# -- results: CSV and paging -----------------------------------------------------------


def test_results_page_by_locator_with_the_header_on_every_page(
    api: Client, server: SandboxServer
) -> None:
    job_id = completed_job(api)
    pages, locator = [], None
    while locator != "null":
        params = {"maxRecords": 3, **({"locator": locator} if locator else {})}
        response = results(api, job_id, **params)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/csv")
        assert response.text.startswith('"Id","Name","IsPartner","BillingCountry"\n')
        assert response.headers["Sforce-NumberOfRecords"] == str(len(rows(response)))
        pages.append([r["Id"] for r in rows(response)])
        locator = response.headers["Sforce-Locator"]
    assert [len(p) for p in pages] == [3, 3, 1]
    assert sorted(i for p in pages for i in p) == sorted(ACCOUNTS)
    assert dict(server.calls) == {"bulk_job": 1, "bulk_status": 1, "bulk_results": 3}
    again = results(api, job_id, maxRecords=3, locator=results(api, job_id, maxRecords=3)
                    .headers["Sforce-Locator"])  # fmt: skip
    assert [r["Id"] for r in rows(again)] == pages[1]  # a locator can be read again


def test_csv_quotes_commas_quotes_newlines_and_writes_nulls_empty(api: Client) -> None:
    job_id = completed_job(api, f"{SOQL} WHERE Id = '{ACCOUNTS[0]}'")
    lines = results(api, job_id).text
    assert lines == (
        '"Id","Name","IsPartner","BillingCountry"\n'
        f'"{ACCOUNTS[0]}","Acme, ""Quoted""\nSecond line","false",""\n'
    )


def test_csv_writes_numbers_plain_and_datetimes_like_salesforce(
    api: Client, org: SandboxOrg
) -> None:
    job_id = completed_job(api, "SELECT Amount, CloseDate, CreatedDate FROM Opportunity")
    (row,) = rows(results(api, job_id))
    stored = org.get("Opportunity", OPP)
    assert stored is not None
    assert row["Amount"] == "12500.5" and row["CloseDate"] == "2026-12-31"
    assert row["CreatedDate"] == stored["CreatedDate"].replace("+0000", "Z")
    assert row["CreatedDate"].endswith("Z") and len(row["CreatedDate"]) == 24


def test_results_come_from_a_snapshot_taken_at_creation(api: Client, org: SandboxOrg) -> None:
    job_id = create(api).json()["id"]
    org.update("Account", ACCOUNTS[1], {"Name": "Renamed later"})
    org.create("Account", {"Name": "Created later"})
    assert api("GET", f"jobs/query/{job_id}").json()["state"] == "JobComplete"
    names = [r["Name"] for r in rows(results(api, job_id))]
    assert len(names) == 7 and "Acme 2" in names and "Created later" not in names


def test_bad_locator_and_max_records_are_refused(api: Client) -> None:
    job_id = completed_job(api)
    assert results(api, job_id, locator="not-a-locator").json()[0]["errorCode"] == "INVALIDLOCATOR"
    assert results(api, job_id, maxRecords=0).json()[0]["errorCode"] == "INVALIDPARAMETER"


def test_query_all_includes_tombstones(api: Client, org: SandboxOrg) -> None:
    if "include_deleted" not in inspect.signature(org.query).parameters:
        pytest.skip("this sandbox org keeps no tombstones yet")
    org.delete("Account", ACCOUNTS[6])
    soql = "SELECT Id, IsDeleted FROM Account"
    live = {r["Id"]: r["IsDeleted"] for r in rows(results(api, completed_job(api, soql)))}
    everything = rows(results(api, completed_job(api, soql, "queryAll")))
    assert ACCOUNTS[6] not in live and set(live.values()) == {"false"}
    assert {r["Id"]: r["IsDeleted"] for r in everything}[ACCOUNTS[6]] == "true"
    assert len(everything) == len(live) + 1


def test_injected_latency_applies_to_bulk_calls(api: Client, server: SandboxServer) -> None:
    job_id = completed_job(api)
    server.faults.latency(0.2)
    started = time.monotonic()
    results(api, job_id)
    assert time.monotonic() - started >= 0.2


# -- the org client against the sandbox -----------------------------------------------


@pytest.fixture
def client(server: SandboxServer) -> OrgClient:
    client = OrgClient(server.salesforce_settings(), retry=NO_WAIT)
    client.connect()
    server.reset_calls()
    return client


def test_client_bulk_pages_equal_rest_records(client: OrgClient, server: SandboxServer) -> None:
    soql = "SELECT Id, Name, IsPartner, BillingCountry, CreatedDate FROM Account"
    server.bulk.polls_in_progress = 1
    pages = list(client.bulk_query_pages(soql, page_records=3, poll_seconds=0))
    assert [len(p) for p in pages] == [3, 3, 1]
    rest = sorted(client.query(soql), key=lambda r: r["Id"])
    assert sorted((r for p in pages for r in p), key=lambda r: r["Id"]) == rest
    bulk_kinds = {k: v for k, v in server.calls.items() if k.startswith(("bulk", "describe"))}
    assert bulk_kinds == {"describe": 1, "bulk_job": 1, "bulk_status": 2, "bulk_results": 3}
    assert {k: v for k, v in client.calls.items() if k != "query"} == bulk_kinds


def test_client_types_numbers_from_describe(client: OrgClient) -> None:
    soql = "SELECT Id, Amount, IsClosed, CloseDate FROM Opportunity"
    (page,) = list(client.bulk_query_pages(soql, poll_seconds=0))
    assert page == [{"Id": OPP, "Amount": 12500.5, "IsClosed": False, "CloseDate": "2026-12-31"}]


def test_client_survives_a_503_and_an_expired_session(
    client: OrgClient, server: SandboxServer
) -> None:
    server.faults.fail_next(503, "SERVER_UNAVAILABLE", kind="bulk_results")
    pages = client.bulk_query_pages(SOQL, page_records=4, poll_seconds=0)
    assert len(next(pages)) == 4
    server.faults.expire_sessions()
    assert len(next(pages)) == 3
    assert server.calls["bulk_results"] == 4  # 2 pages + one 503 + one 401 before re-login
    assert client.auth_calls == 2


def test_client_names_the_failed_job(client: OrgClient, server: SandboxServer) -> None:
    server.bulk.fail_with = "Query timeout"
    with pytest.raises(BulkJobFailed, match=r"job 750\w+ ended Failed: Query timeout"):
        list(client.bulk_query_pages(SOQL, poll_seconds=0))
    assert "bulk_results" not in server.calls


def test_client_bad_field_is_fatal_and_not_retried(
    client: OrgClient, server: SandboxServer
) -> None:
    with pytest.raises(FatalSyncError, match="INVALID_FIELD"):
        list(client.bulk_query_pages("SELECT Nope__c FROM Account", poll_seconds=0))
    assert server.calls["bulk_job"] == 1


def test_only_the_latest_jobs_are_kept(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "MAX_JOBS", 2)
    first, second, third = (create(api).json()["id"] for _ in range(3))
    assert api("GET", f"jobs/query/{first}").status_code == 404
    assert api("GET", f"jobs/query/{second}").status_code == 200
    assert api("GET", f"jobs/query/{third}").status_code == 200
