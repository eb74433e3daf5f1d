"""Answers Salesforce never gives get a message an operator can act on, never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import responses

from syncd.salesforce import OrgClient
from syncd.salesforce.errors import MalformedAnswer
from tests.contract.fakeorg import DATA, calls_to, page

HINT = "is this a Salesforce API endpoint?"
HTML = {"body": "<html><body>Welcome</body></html>", "content_type": "text/html"}
ACCOUNT = {"Id": "001A", "Name": "Acme"}


def test_a_204_where_per_record_results_belong(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.patch(f"{DATA}/composite/sobjects", status=204)
    with pytest.raises(MalformedAnswer) as caught:
        client.update("Account", [ACCOUNT])
    assert str(caught.value).startswith(
        "the org answered PATCH composite/sobjects with 204 and no per-record results "
        f"(syncd asked for: update Account); {HINT}"
    )
    assert "NoneType" not in str(caught.value)
    assert len(calls_to(org, "/composite/sobjects")) == 1  # not retried


@pytest.mark.parametrize(
    ("answer", "what"),
    [
        ({"json": {"results": []}}, "with 200 and no list of results for 1 records"),
        ({"json": [{"id": "001A", "success": True}] * 2}, "with 200 and 2 results for 1 records"),
        ({"json": ["ok"]}, "with 200 and per-record results that are not objects"),
        (HTML, "with 200 and an answer Salesforce never gives (JSONDecodeError"),
    ],
)
def test_collections_answers_of_the_wrong_shape(
    client: OrgClient, org: responses.RequestsMock, answer: dict[str, Any], what: str
) -> None:
    org.post(f"{DATA}/composite/sobjects", **answer)
    with pytest.raises(MalformedAnswer, match=HINT) as caught:
        client.create("Account", [{"Name": "Acme"}])
    assert f"the org answered POST composite/sobjects {what}" in str(caught.value)


def _query(client: OrgClient) -> Any:
    return list(client.query("SELECT Id FROM Account"))


def _describe(client: OrgClient) -> Any:
    return client.describe("Account")


def _limits(client: OrgClient) -> Any:
    return client.limits()


def _composite(client: OrgClient) -> Any:
    return client.composite([{"method": "GET", "url": "/x", "referenceId": "a"}])


def _batch(client: OrgClient) -> Any:
    return client.query_batch({"Account": ("SELECT Id FROM Account", False)})


CASES: list[tuple[str, str, dict[str, Any], Callable[[OrgClient], Any], str]] = [
    ("GET", "query/", HTML, _query, "GET query with 200 and an answer Salesforce never gives"),
    ("GET", "query/", {"json": {"done": True}}, _query, "a query answer without a list of records"),
    ("GET", "query/", {"json": {**page([]), "totalSize": "3"}}, _query, "totalSize is '3'"),
    ("GET", "sobjects/Account/describe", {"json": []}, _describe, "with 200 and no describe"),
    (
        "GET",
        "limits/",
        {"json": {"DailyApiRequests": {"Max": "x"}}},
        _limits,
        "no DailyApiRequests",
    ),
    ("POST", "composite", {"json": {"results": []}}, _composite, "no compositeResponse list"),
    ("POST", "composite", {"json": {"compositeResponse": []}}, _batch, "lacks the change query"),
    (
        "POST",
        "composite",
        {"json": {"compositeResponse": [{"referenceId": "q0", "httpStatusCode": 200}]}},
        _batch,
        "a query answer without a list of records",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "answer", "call", "what"), CASES, ids=[c[4][:40] for c in CASES]
)
def test_malformed_answers_are_named(
    client: OrgClient,
    org: responses.RequestsMock,
    method: str,
    path: str,
    answer: dict[str, Any],
    call: Callable[[OrgClient], Any],
    what: str,
) -> None:
    org.add(method, f"{DATA}/{path}", **answer)
    with pytest.raises(MalformedAnswer, match=HINT) as caught:
        call(client)
    assert what in str(caught.value)
    assert len(calls_to(org, f"/{path}")) == 1  # an answer of the wrong shape is not retried


# -- Bulk API 2.0 query jobs ----------------------------------------------------------

JOBS = f"{DATA}/jobs/query"
JOB = f"{JOBS}/750A"


def _job(org: responses.RequestsMock, status: dict[str, Any], results: dict[str, Any]) -> None:
    org.get(f"{DATA}/sobjects/Account/describe", json={"fields": [{"name": "Id", "type": "id"}]})
    org.post(JOBS, json={"id": "750A", "state": "UploadComplete"})
    org.get(JOB, **status)
    org.get(f"{JOB}/results", content_type="text/csv", **results)


BULK = {
    "a job status without a state": (
        {"json": {"id": "750A"}},
        {},
        "Bulk query job 750A reports the state None",
    ),
    "a job status that is not JSON": ({**HTML}, {}, "JSONDecodeError"),
    "results without Sforce-Locator": (
        {"json": {"state": "JobComplete"}},
        {"body": '"Id"\n"001A"\n', "headers": {"Sforce-NumberOfRecords": "1"}},
        "results of Bulk query job 750A without Sforce-Locator",
    ),
    "results without any header": (
        {"json": {"state": "JobComplete"}},
        {"body": '"Id"\n"001A"\n'},
        "without Sforce-Locator, Sforce-NumberOfRecords",
    ),
    "a record count that is not a number": (
        {"json": {"state": "JobComplete"}},
        {"body": "", "headers": {"Sforce-Locator": "null", "Sforce-NumberOfRecords": "n/a"}},
        "with Sforce-NumberOfRecords: 'n/a'",
    ),
}


@pytest.mark.parametrize(("status", "results", "what"), BULK.values(), ids=BULK.keys())
def test_bulk_answers_of_the_wrong_shape_are_named_not_key_errors(
    client: OrgClient,
    org: responses.RequestsMock,
    status: dict[str, Any],
    results: dict[str, Any],
    what: str,
) -> None:
    _job(org, status, results)
    with pytest.raises(MalformedAnswer, match=HINT) as caught:
        list(client.bulk_query_pages("SELECT Id FROM Account", poll_seconds=0))
    assert what in str(caught.value)
