"""Bulk API 2.0 query through the org client: `responses` plays Salesforce."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import responses
from responses import matchers

from syncd.errors import FatalSyncError, RetriableError
from syncd.salesforce import OrgClient
from syncd.salesforce.bulk import (
    BulkJobFailed,
    BulkQuery,
    csv_row_bytes,
    parse_page,
    run,
    sobject_of,
    typed,
)
from tests.contract.fakeorg import DATA, calls_to, sf_error

JOBS = f"{DATA}/jobs/query"
JOB_ID = "7505g000000AbCdAAK"
JOB = f"{JOBS}/{JOB_ID}"
RESULTS = f"{JOB}/results"
SOQL = "SELECT Id, Name, IsPartner, NumberOfEmployees, AnnualRevenue, SystemModstamp FROM Account"
HEADER = '"Id","Name","IsPartner","NumberOfEmployees","AnnualRevenue","SystemModstamp"\n'
PAGE1 = (
    HEADER + '"001A","Acme, ""Inc""\nHQ","true","250","1500000.5","2024-01-31T12:00:00.000Z"\n'
    '"001B","Beta","false","","",""\n'
)
PAGE2 = HEADER + '"001C","Gamma","false","3","0.0","2024-02-01T08:30:00.000Z"\n'
DESCRIBE = {
    "name": "Account",
    "fields": [
        {"name": "Id", "type": "id"},
        {"name": "Name", "type": "string"},
        {"name": "IsPartner", "type": "boolean"},
        {"name": "NumberOfEmployees", "type": "int"},
        {"name": "AnnualRevenue", "type": "currency"},
        {"name": "SystemModstamp", "type": "datetime"},
    ],
}
EXPECTED = [
    [
        {"Id": "001A", "Name": 'Acme, "Inc"\nHQ', "IsPartner": True, "NumberOfEmployees": 250,
         "AnnualRevenue": 1500000.5, "SystemModstamp": "2024-01-31T12:00:00.000+0000"},
        {"Id": "001B", "Name": "Beta", "IsPartner": False, "NumberOfEmployees": None,
         "AnnualRevenue": None, "SystemModstamp": None},
    ],
    [
        {"Id": "001C", "Name": "Gamma", "IsPartner": False, "NumberOfEmployees": 3,
         "AnnualRevenue": 0.0, "SystemModstamp": "2024-02-01T08:30:00.000+0000"},
    ],
]  # fmt: skip


def job_info(state: str, **extra: str) -> dict[str, str]:
    return {"id": JOB_ID, "operation": "query", "object": "Account", "state": state, **extra}


def csv_page(
    org: responses.RequestsMock, body: str, next_locator: str, count: int, **params: str
) -> None:
    """One results page, answered only to a request with exactly these query parameters."""
    org.get(
        RESULTS,
        body=body,
        content_type="text/csv",
        headers={"Sforce-Locator": next_locator, "Sforce-NumberOfRecords": str(count)},
        match=[matchers.query_param_matcher(params)],
    )


def mock_job(org: responses.RequestsMock, *states: str) -> None:
    org.get(f"{DATA}/sobjects/Account/describe", json=DESCRIBE)
    org.post(JOBS, json=job_info("UploadComplete"))
    for state in states or ("JobComplete",):
        org.get(JOB, json=job_info(state))


def mock_two_pages(org: responses.RequestsMock) -> None:
    csv_page(org, PAGE1, "Mg", 2, maxRecords="2")
    csv_page(org, PAGE2, "null", 1, maxRecords="2", locator="Mg")


def bulk_requests(org: responses.RequestsMock) -> list[tuple[str, str]]:
    return [
        (c.request.method, c.request.url.split("/v62.0/")[1])
        for c in org.calls
        if "/v62.0/" in c.request.url
    ]


def test_the_exact_request_sequence_and_typed_pages(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    mock_job(org, "InProgress", "JobComplete")
    mock_two_pages(org)
    pages = list(client.bulk_query_pages(SOQL, page_records=2, poll_seconds=0))
    assert pages == EXPECTED
    assert bulk_requests(org) == [
        ("GET", "sobjects/Account/describe"),
        ("POST", "jobs/query"),
        ("GET", f"jobs/query/{JOB_ID}"),
        ("GET", f"jobs/query/{JOB_ID}"),
        ("GET", f"jobs/query/{JOB_ID}/results?maxRecords=2"),
        ("GET", f"jobs/query/{JOB_ID}/results?maxRecords=2&locator=Mg"),
    ]
    create = json.loads(calls_to(org, JOBS)[0].request.body)
    assert create == {"operation": "query", "query": SOQL, "columnDelimiter": "COMMA",
                      "lineEnding": "LF"}  # fmt: skip
    assert client.calls == {"describe": 1, "bulk_job": 1, "bulk_status": 2, "bulk_results": 2}


def test_include_deleted_creates_a_query_all_job(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.get(f"{DATA}/sobjects/Account/describe", json=DESCRIBE)
    org.post(
        JOBS,
        json=job_info("UploadComplete"),
        match=[matchers.json_params_matcher({"operation": "queryAll"}, strict_match=False)],
    )
    org.get(JOB, json=job_info("JobComplete"))
    csv_page(org, HEADER, "null", 0, maxRecords="50000")
    assert list(client.bulk_query_pages(SOQL, include_deleted=True, poll_seconds=0)) == []
    assert client.calls["bulk_job"] == 1 and client.calls["bulk_results"] == 1


def test_nothing_is_called_before_the_first_page_is_asked_for(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    mock_job(org)
    mock_two_pages(org)
    pages = client.bulk_query_pages(SOQL, page_records=2, poll_seconds=0)
    assert client.calls == {}
    next(pages)
    calls = dict(client.calls)
    # the second page is fetched while the first is worked on: it may be in flight already
    assert calls.pop("bulk_results") in (1, 2)
    assert calls == {"describe": 1, "bulk_job": 1, "bulk_status": 1}


def test_describe_is_asked_once_per_object(client: OrgClient, org: responses.RequestsMock) -> None:
    mock_job(org)
    mock_two_pages(org)
    for _ in range(2):
        assert list(client.bulk_query_pages(SOQL, page_records=2, poll_seconds=0)) == EXPECTED
    assert client.calls == {"describe": 1, "bulk_job": 2, "bulk_status": 2, "bulk_results": 4}


@pytest.mark.parametrize("state", ["Failed", "Aborted"])
def test_a_failed_job_raises_an_error_naming_the_job(
    client: OrgClient, org: responses.RequestsMock, state: str
) -> None:
    mock_job(org, "InProgress")
    org.get(JOB, json=job_info(state, errorMessage="INVALID_FIELD: No such column 'Foo__c'"))
    with pytest.raises(BulkJobFailed) as caught:
        list(client.bulk_query_pages(SOQL, poll_seconds=0))
    assert caught.value.job_id == JOB_ID and caught.value.state == state
    assert f"job {JOB_ID} ended {state}: INVALID_FIELD: No such column 'Foo__c'" in str(
        caught.value
    )
    assert isinstance(caught.value, FatalSyncError)
    assert client.calls == {"describe": 1, "bulk_job": 1, "bulk_status": 2}


def test_a_5xx_on_results_is_retried(client: OrgClient, org: responses.RequestsMock) -> None:
    mock_job(org)
    org.get(RESULTS, status=503, json=sf_error("SERVER_UNAVAILABLE"))
    mock_two_pages(org)
    assert list(client.bulk_query_pages(SOQL, page_records=2, poll_seconds=0)) == EXPECTED
    assert client.calls == {"describe": 1, "bulk_job": 1, "bulk_status": 1, "bulk_results": 3}


def test_a_rejected_query_is_fatal_and_not_retried(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.get(f"{DATA}/sobjects/Account/describe", json=DESCRIBE)
    org.post(JOBS, status=400, json=sf_error("INVALID_FIELD", "No such column 'Foo__c'"))
    with pytest.raises(FatalSyncError, match="INVALID_FIELD"):
        list(client.bulk_query_pages(SOQL, poll_seconds=0))
    assert client.calls == {"describe": 1, "bulk_job": 1}


def test_a_job_that_never_finishes_times_out_naming_the_job(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    mock_job(org, "InProgress")
    with pytest.raises(RetriableError, match=f"job {JOB_ID} on Account is still InProgress"):
        list(client.bulk_query_pages(SOQL, poll_seconds=0.01, timeout_seconds=0))
    assert client.calls == {"describe": 1, "bulk_job": 1, "bulk_status": 1}


def test_polls_back_off_within_the_deadline() -> None:
    """The poll loop on a fake clock: waits grow 1.5x, capped, and stop at the deadline."""
    now, waits, operations = [0.0], [], []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    def call(operation: str, fn: Callable[[Any], Any]) -> Any:
        operations.append(operation.split()[1])
        return {"id": JOB_ID} if operation.startswith("bulk job") else {"state": "InProgress"}

    query = BulkQuery(SOQL, "Account", {}, poll_seconds=4.0, timeout_seconds=60.0)
    with pytest.raises(RetriableError, match="after 60 s"):
        list(run(call, query, sleep=sleep, clock=lambda: now[0]))
    assert waits == [4.0, 6.0, 9.0, 10.0, 10.0, 10.0, 10.0]  # 59 s in all
    assert operations == ["job", *["status"] * 8]


def test_a_page_whose_count_disagrees_is_refused(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    mock_job(org)
    csv_page(org, PAGE1, "null", 3, maxRecords="2")
    with pytest.raises(FatalSyncError, match="Sforce-NumberOfRecords says 3 but"):
        list(client.bulk_query_pages(SOQL, page_records=2, poll_seconds=0))


# -- pure helpers -------------------------------------------------------------------


def test_sobject_comes_from_the_from_clause() -> None:
    assert sobject_of("SELECT Id, From__c FROM Opportunity WHERE Name = 'x FROM y'") == (
        "Opportunity"
    )
    assert sobject_of("select id from account") == "account"
    with pytest.raises(ValueError, match="FROM <object>"):
        sobject_of("SELECT Id")


def test_typed_cells() -> None:
    assert typed("", "boolean") is None and typed("TRUE", "boolean") is True
    assert typed("12", "int") == 12 and typed("1.5", "percent") == 1.5
    assert typed("007", "string") == "007" and typed("x", None) == "x"
    assert typed("2024-01-31T12:00:00.000Z", "datetime") == "2024-01-31T12:00:00.000+0000"
    with pytest.raises(FatalSyncError, match="field Amount \\(currency\\) holds 'abc'"):
        typed("abc", "currency", "Amount", JOB_ID)


def test_a_ragged_csv_row_is_refused() -> None:
    with pytest.raises(FatalSyncError, match="row 2 has 1 values for 2 columns"):
        parse_page('"Id","Name"\n"001A"\n', {}, JOB_ID)
    assert parse_page("", {}) == []


def test_a_page_asks_for_the_rows_its_byte_budget_holds() -> None:
    """maxRecords follows the bytes a row took so far; rows reach the caller in chunks."""
    asked: list[tuple[str, int]] = []
    page1 = "Id\n" + "".join(f"001{i:012d}AAA\n" for i in range(10))  # 19 bytes a row
    page2 = "Id\n" + "".join(f"001{i:012d}AAA\n" for i in range(10, 25))
    answers = {"": ("Mg", page1, 10), "Mg": ("", page2, 15)}

    def call(operation: str, fn: Callable[[Any], Any]) -> Any:
        if operation.startswith("bulk job"):
            return {"id": JOB_ID}
        if operation.startswith("bulk status"):
            return {"state": "JobComplete"}
        locator, size = fn.keywords["locator"], fn.keywords["size"]
        asked.append((locator, size))
        following, text, count = answers[locator]
        return {"locator": following, "number_of_records": count, "records": text}

    seen: list[tuple[int, int]] = []
    query = BulkQuery(SOQL, "Account", {}, page_bytes=640, poll_seconds=0)
    rows = [r["Id"] for page in run(call, query, on_page=lambda *p: seen.append(p)) for r in page]
    assert len(rows) == 25 == len(set(rows))
    # before any page a row counts as ASSUMED_ROW_BYTES (640); then as the first page's
    assert asked == [("", 1), ("Mg", int(640 / (len(page1) / 10)))]
    assert seen == [(len(page1), 10), (len(page2), 15)]
    # a sample of the rows (REST records of the same query) sizes the first page instead
    asked.clear()
    sample = [{"Id": f"001{i:012d}AAA"} for i in range(3)]
    width = csv_row_bytes(sample)
    assert width == 18 + 3  # quoted and separated, as Salesforce writes the CSV
    hinted = BulkQuery(SOQL, "Account", {}, page_bytes=640, row_bytes=width, poll_seconds=0)
    assert sum(len(page) for page in run(call, hinted)) == 25
    assert asked[0] == ("", int(640 / width))


def test_a_page_of_bytes_is_decoded_line_by_line_quoted_newlines_and_all() -> None:
    data = '"Id","Name"\r\n"001A","Café\nSüd\x00"\r\n"001B",""\r\n'.encode()
    assert parse_page(data, {}) == [
        {"Id": "001A", "Name": "Café\nSüd"},
        {"Id": "001B", "Name": None},
    ]
    assert parse_page(data, {}) == parse_page(data.decode(), {})
    with pytest.raises(FatalSyncError, match=rf"job {JOB_ID}: a results page is not UTF-8"):
        parse_page(b'"Id"\n"\xff"\n', {}, JOB_ID)
