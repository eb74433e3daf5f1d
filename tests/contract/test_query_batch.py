"""Several queries in one composite call: the change check of an incremental cycle."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from syncd.errors import FatalSyncError
from syncd.salesforce import OrgClient
from tests.contract.fakeorg import DATA, INSTANCE, calls_to, page

MORE = "/services/data/v62.0/queryAll/01gD0000002HU6KIAW-2000"


def test_one_composite_call_carries_every_query_and_more_pages_follow(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.post(
        f"{DATA}/composite",
        json={
            "compositeResponse": [
                {"referenceId": "q0", "httpStatusCode": 200, "body": page([])},
                {
                    "referenceId": "q1",
                    "httpStatusCode": 200,
                    "body": page([{"Id": "006A", "IsDeleted": False}], next_url=MORE),
                },
            ]
        },
        headers={"Date": "Tue, 01 Dec 2026 09:00:07 GMT"},
    )
    org.get(f"{INSTANCE}{MORE}", json=page([{"Id": "006B", "IsDeleted": True}]))
    pages = client.query_batch(
        {
            "User": ("SELECT Id FROM User", False),
            "Opportunity": ("SELECT Id, IsDeleted FROM Opportunity", True),
        }
    )
    assert client.calls == {"composite": 1}
    assert client.server_time == datetime(2026, 12, 1, 9, 0, 7, tzinfo=UTC)
    assert pages["User"][0] == 0 and list(pages["User"][1]) == []
    assert list(pages["Opportunity"][1]) == [
        [{"Id": "006A", "IsDeleted": False}],
        [{"Id": "006B", "IsDeleted": True}],
    ]
    assert client.calls == {"composite": 1, "query_more": 1}
    sent = json.loads(calls_to(org, "/composite")[0].request.body)
    urls = [urlparse(s["url"]) for s in sent["compositeRequest"]]
    assert [u.path for u in urls] == ["/services/data/v62.0/query", "/services/data/v62.0/queryAll"]
    assert parse_qs(urls[1].query)["q"] == ["SELECT Id, IsDeleted FROM Opportunity"]
    assert all(s["method"] == "GET" for s in sent["compositeRequest"])


def test_a_failed_subquery_names_the_object_and_the_error(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.post(
        f"{DATA}/composite",
        json={
            "compositeResponse": [
                {
                    "referenceId": "q0",
                    "httpStatusCode": 400,
                    "body": [{"errorCode": "INVALID_FIELD", "message": "No such column 'X__c'"}],
                }
            ]
        },
    )
    with pytest.raises(FatalSyncError, match=r"change query for Account: INVALID_FIELD: No such"):
        client.query_batch({"Account": ("SELECT X__c FROM Account", True)})
    assert client.calls == {"composite": 1}  # a malformed query is not retried


def test_query_batch_refuses_more_than_composite_takes(client: OrgClient) -> None:
    with pytest.raises(ValueError, match="1 to 25"):
        client.query_batch({f"O{n}": ("SELECT Id FROM Account", False) for n in range(26)})


def _describe(*fields: tuple[str, str]) -> dict[str, object]:
    return {"name": "Opportunity", "fields": [{"name": n, "type": t} for n, t in fields]}


def test_describes_ride_along_and_a_failed_one_is_described_later(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.post(
        f"{DATA}/composite",
        json={
            "compositeResponse": [
                {"referenceId": "q0", "httpStatusCode": 200, "body": page([])},
                {
                    "referenceId": "d0",
                    "httpStatusCode": 200,
                    "body": _describe(("Amount", "currency"), ("IsWon", "boolean")),
                },
                {
                    "referenceId": "d1",
                    "httpStatusCode": 500,
                    "body": [{"errorCode": "UNKNOWN_EXCEPTION", "message": "try later"}],
                },
            ]
        },
    )
    org.get(f"{DATA}/sobjects/Account/describe", json=_describe(("Name", "string")))
    client.query_batch(
        {"Opportunity": ("SELECT Id FROM Opportunity", False)},
        describe=["Opportunity", "Account"],
    )
    sent = json.loads(calls_to(org, "/composite")[0].request.body)["compositeRequest"]
    assert [(s["referenceId"], s["url"]) for s in sent[1:]] == [
        ("d0", "/services/data/v62.0/sobjects/Opportunity/describe"),
        ("d1", "/services/data/v62.0/sobjects/Account/describe"),
    ]
    assert client.field_types("Opportunity") == {"amount": "currency", "iswon": "boolean"}
    assert client.calls == {"composite": 1}  # described in the composite: no call of its own
    assert client.field_types("Account") == {"name": "string"}  # the failed one: a call
    assert client.calls == {"composite": 1, "describe": 1}
    client.query_batch(
        {"Opportunity": ("SELECT Id FROM Opportunity", False)}, describe=["Opportunity", "Account"]
    )
    again = json.loads(calls_to(org, "/composite")[1].request.body)["compositeRequest"]
    assert len(again) == 1  # both described now: nothing rides along
