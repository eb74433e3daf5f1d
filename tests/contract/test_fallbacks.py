"""Composite sub-responses are judged like top-level calls; failed cheap reads fall back.

The change check of an incremental cycle is one composite call: a transient failure in a
sub-response retries it, and when it keeps failing the cycle reads one query per object
instead. A Bulk read that fails before its first page reads through REST instead. Every
test asserts the exact calls made.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
from structlog.testing import capture_logs

from syncd.errors import ApiLimitExceeded, FatalSyncError
from syncd.salesforce import OrgClient
from syncd.sync.mapping import FieldMapping, load_mapping
from syncd.sync.reader import NoProgress, ReadOptions, read_changes, read_org
from tests.contract.fakeorg import DATA, calls_to, page, sf_error

ROOT = Path(__file__).resolve().parents[2]
SINCE = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
COMPOSITE = f"{DATA}/composite"
QUERIES = re.compile(rf"{re.escape(DATA)}/query(All)?/(\?|$)")
OBJECTS = ("User", "Account", "Opportunity")
JOBS = f"{DATA}/jobs/query"
JOB = f"{JOBS}/750A"
V = "/services/data/v62.0"
ROW = {"Id": "006A", "SystemModstamp": "2026-11-30T08:30:00.000+0000", "IsDeleted": False}


@pytest.fixture(scope="module")
def mapping() -> FieldMapping:
    return load_mapping(ROOT / "mappings" / "default.yaml")


def _object_of(soql: str) -> str:
    return re.search(r"\bFROM (\w+)", soql)[1]  # type: ignore[index]


def _rows_for(sobject: str) -> list[dict[str, Any]]:
    return [{**ROW, "Id": f"{sobject[:3]}A"}] if sobject == "Opportunity" else []


def _rest(org: responses.RequestsMock) -> None:
    """Every REST query answers its object's rows (one Opportunity, nothing else)."""

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        soql = parse_qs(urlparse(request.url).query)["q"][0]
        return 200, {}, json.dumps(page(_rows_for(_object_of(soql))))

    org.add_callback(responses.GET, QUERIES, callback=answer)


def _sub(index: int, status: int = 200, body: Any = None) -> dict[str, Any]:
    if body is None:
        body = page(_rows_for(OBJECTS[index]))
    return {"referenceId": f"q{index}", "httpStatusCode": status, "body": body}


def _composite(org: responses.RequestsMock, *subs: dict[str, Any], status: int = 200) -> None:
    answer: Any = {"compositeResponse": list(subs)} if status == 200 else sf_error("UNKNOWN")
    org.post(COMPOSITE, status=status, json=answer)


def _ok(org: responses.RequestsMock) -> None:
    _composite(org, *(_sub(i) for i in range(3)))


def _read(client: OrgClient, mapping: FieldMapping, **options: Any) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}

    def sink(sobject: str, live: list[dict[str, Any]], gone: dict[str, str | None]) -> None:
        seen.setdefault(sobject, []).extend(str(r["Id"]) for r in live)

    since = dict.fromkeys(OBJECTS, SINCE)
    read_changes(client, mapping, since, sink, ReadOptions(**options))
    return {k: v for k, v in seen.items() if v}


def _events(logs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == name]


# -- composite sub-responses ----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [(503, "SERVER_UNAVAILABLE"), (400, "UNABLE_TO_LOCK_ROW"), (400, "QUERY_TIMEOUT"),
     (500, "UNKNOWN_EXCEPTION")],
)  # fmt: skip
def test_a_transient_sub_response_retries_the_composite(
    client: OrgClient, org: responses.RequestsMock, mapping: FieldMapping, status: int, code: str
) -> None:
    failing = _sub(1, status, sf_error(code))
    _composite(org, _sub(0), failing, _sub(2))
    _composite(org, _sub(0), failing, _sub(2))
    _ok(org)
    with capture_logs() as logs:
        assert _read(client, mapping) == {"Opportunity": ["OppA"]}
    assert client.calls == {"composite": 3}
    assert [e["error_code"] for e in _events(logs, "salesforce.retry")] == [code, code]
    assert not _events(logs, "pull.changes_composite_failed")


def test_an_expired_session_in_a_sub_response_logs_in_again(
    client: OrgClient, org: responses.RequestsMock, mapping: FieldMapping
) -> None:
    _composite(org, _sub(0, 401, sf_error("INVALID_SESSION_ID")), _sub(1), _sub(2))
    _ok(org)
    assert _read(client, mapping) == {"Opportunity": ["OppA"]}
    assert client.calls == {"composite": 2} and len(calls_to(org, "/oauth2/token")) == 2


def test_a_composite_that_keeps_failing_falls_back_to_one_query_per_object(
    client: OrgClient, org: responses.RequestsMock, mapping: FieldMapping
) -> None:
    _composite(org, _sub(0), _sub(1, 503, sf_error("SERVER_UNAVAILABLE")), _sub(2))
    _rest(org)
    with capture_logs() as logs:
        assert _read(client, mapping) == {"Opportunity": ["OppA"]}
    # Five attempts (the retry policy's), then User (query), Account and Opportunity
    # (queryAll: deleted rows too) one call each.
    assert client.calls == {"composite": 5, "query": 3}
    paths = [urlparse(c.request.url).path for c in calls_to(org, "/query")]
    assert paths == [f"{V}/query/", f"{V}/queryAll/", f"{V}/queryAll/"]
    (warning,) = _events(logs, "pull.changes_composite_failed")
    assert warning["log_level"] == "warning" and warning["error_code"] == "SERVER_UNAVAILABLE"
    assert warning["objects"] == list(OBJECTS)
    assert "change query for Account: SERVER_UNAVAILABLE" in warning["error"]


def test_a_composite_endpoint_that_is_down_falls_back_too(
    client: OrgClient, org: responses.RequestsMock, mapping: FieldMapping
) -> None:
    _composite(org, status=500)
    _rest(org)
    assert _read(client, mapping) == {"Opportunity": ["OppA"]}
    assert client.calls == {"composite": 5, "query": 3}


def test_a_used_up_allowance_does_not_fall_back(
    client: OrgClient, org: responses.RequestsMock, mapping: FieldMapping
) -> None:
    limit = sf_error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    _composite(org, _sub(0), _sub(1, 403, limit), _sub(2))
    _rest(org)
    with pytest.raises(ApiLimitExceeded, match="TotalRequests"):
        _read(client, mapping)
    assert client.calls == {"composite": 1}


def test_the_concurrent_requests_limit_is_retried(
    client: OrgClient, org: responses.RequestsMock, mapping: FieldMapping
) -> None:
    busy = sf_error("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
    _composite(org, _sub(0, 403, busy), _sub(1), _sub(2))
    _ok(org)
    assert _read(client, mapping) == {"Opportunity": ["OppA"]}
    assert client.calls == {"composite": 2}


# -- Bulk API reads ---------------------------------------------------------------------

DESCRIBE = {"name": "Opportunity", "fields": [{"name": "Id", "type": "id"}]}


def _bulk(org: responses.RequestsMock, *, job: dict[str, Any], results: Callable[[], None]) -> None:
    org.get(f"{DATA}/sobjects/Opportunity/describe", json=DESCRIBE)
    org.post(JOBS, json={"id": "750A", "state": "UploadComplete"})
    org.get(JOB, json={"id": "750A", **job})
    results()


def _no_results() -> None:
    return None


def _full(client: OrgClient, org: responses.RequestsMock, mapping: FieldMapping) -> dict[str, int]:
    """A full read with Opportunity known to be big: the first pages of the others come in
    one composite call (nothing there), the deals through Bulk."""
    _composite(org, _sub(0), _sub(1))
    options = ReadOptions(bulk_objects=frozenset({"Opportunity"}))
    return read_org(client, mapping, NoProgress(), options=options).read


def test_a_failed_bulk_job_falls_back_to_rest_paging(
    client: OrgClient, org: responses.RequestsMock, mapping: FieldMapping
) -> None:
    _rest(org)
    failed = {"state": "Failed", "errorMessage": "InvalidBatch : Failed to process query"}
    _bulk(org, job=failed, results=_no_results)
    with capture_logs() as logs:
        assert _full(client, org, mapping) == {"User": 0, "Account": 0, "Opportunity": 1}
    assert client.calls == {
        "composite": 1, "describe": 1, "bulk_job": 1, "bulk_status": 1, "query": 1
    }  # fmt: skip
    (warning,) = _events(logs, "pull.bulk_failed")
    assert (warning["sobject"], warning["error_code"]) == ("Opportunity", "BulkJobFailed")
    assert warning["fallback"] == "rest" and "Failed to process query" in warning["error"]


def test_bulk_results_without_the_headers_fall_back_not_a_key_error(
    client: OrgClient, org: responses.RequestsMock, mapping: FieldMapping
) -> None:
    _rest(org)

    def header_less() -> None:
        org.get(f"{JOB}/results", body='"Id"\n"006A"\n', content_type="text/csv")

    _bulk(org, job={"state": "JobComplete"}, results=header_less)
    with capture_logs() as logs:
        assert _full(client, org, mapping)["Opportunity"] == 1
    assert client.calls == {
        "composite": 1, "describe": 1, "bulk_job": 1, "bulk_status": 1, "bulk_results": 1,
        "query": 1,
    }  # fmt: skip
    (warning,) = _events(logs, "pull.bulk_failed")
    assert warning["error_code"] == "MalformedAnswer"
    assert "without Sforce-Locator, Sforce-NumberOfRecords" in warning["error"]
    assert "is this a Salesforce API endpoint?" in warning["error"]


def test_a_change_burst_whose_bulk_job_is_refused_reads_the_composite_pages(
    client: OrgClient, org: responses.RequestsMock, mapping: FieldMapping
) -> None:
    more = "/services/data/v62.0/queryAll/01gA-1"
    burst = {**page([{**ROW, "Id": "006A"}], next_url=more), "totalSize": 2}
    _composite(org, _sub(0), _sub(1), _sub(2, body=burst))
    org.get(f"{DATA}/queryAll/01gA-1", json=page([{**ROW, "Id": "006B"}]))
    org.get(f"{DATA}/sobjects/Opportunity/describe", json=DESCRIBE)
    org.post(JOBS, status=400, json=sf_error("FeatureNotEnabled", "Bulk API is not enabled"))
    with capture_logs() as logs:
        assert _read(client, mapping, bulk_threshold=1) == {"Opportunity": ["006A", "006B"]}
    # The composite's first page is kept while Bulk is tried, so falling back costs only
    # the query_more a REST read needed anyway.
    assert client.calls == {"composite": 1, "describe": 1, "bulk_job": 1, "query_more": 1}
    assert _events(logs, "pull.bulk_failed")[0]["error_code"] == "FeatureNotEnabled"


def test_a_used_up_allowance_stops_a_bulk_read(
    client: OrgClient, org: responses.RequestsMock, mapping: FieldMapping
) -> None:
    _rest(org)
    org.get(f"{DATA}/sobjects/Opportunity/describe", json=DESCRIBE)
    org.post(JOBS, status=403, json=sf_error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit"))
    with pytest.raises(ApiLimitExceeded):
        _full(client, org, mapping)
    assert client.calls == {"composite": 1, "describe": 1, "bulk_job": 1}


def test_a_bulk_read_failing_after_its_first_page_is_not_read_twice(
    client: OrgClient, org: responses.RequestsMock, mapping: FieldMapping
) -> None:
    _rest(org)

    def pages() -> None:
        headers = {"Sforce-Locator": "MQ", "Sforce-NumberOfRecords": "1"}
        org.get(f"{JOB}/results", body='"Id"\n"006A"\n', headers=headers, content_type="text/csv")
        org.get(f"{JOB}/results", status=400, json=sf_error("INVALIDLOCATOR", "bad locator"))

    _bulk(org, job={"state": "JobComplete"}, results=pages)
    with pytest.raises(FatalSyncError, match="INVALIDLOCATOR"):
        _full(client, org, mapping)
    assert client.calls["bulk_results"] == 2 and "query" not in client.calls  # no REST read
