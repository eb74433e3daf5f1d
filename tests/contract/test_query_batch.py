"""Several queries in one composite call: the change check of an incremental cycle."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from syncd.errors import FatalSyncError
from syncd.salesforce import OrgClient
from tests.contract.fakeorg import DATA, INSTANCE, calls_to, page

MORE = "/services/data/v62.0/queryAll/01gD0000002HU6KIAW-2000"


def _sub(ref: str, status: int, body: object) -> dict[str, object]:
    """One subrequest's answer inside a composite response."""
    return {"referenceId": ref, "httpStatusCode": status, "body": body}


def _answered(org: responses.RequestsMock, *subs: dict[str, object], **kwargs: Any) -> None:
    """The org answers the next composite call with these subrequest answers."""
    org.post(f"{DATA}/composite", json={"compositeResponse": list(subs)}, **kwargs)


def test_one_composite_call_carries_every_query_and_more_pages_follow(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    _answered(
        org,
        _sub("q0", 200, page([])),
        _sub("q1", 200, page([{"Id": "006A", "IsDeleted": False}], next_url=MORE)),
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
    _answered(
        org, _sub("q0", 400, [{"errorCode": "INVALID_FIELD", "message": "No such column 'X__c'"}])
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
    _answered(
        org,
        _sub("q0", 200, page([])),
        _sub("d0", 200, _describe(("Amount", "currency"), ("IsWon", "boolean"))),
        _sub("d1", 500, [{"errorCode": "UNKNOWN_EXCEPTION", "message": "try later"}]),
    )
    org.get(f"{DATA}/sobjects/Account/describe", json=_describe(("Name", "string")))

    def ask() -> None:
        client.query_batch(
            {"Opportunity": ("SELECT Id FROM Opportunity", False)},
            describe=["Opportunity", "Account"],
        )

    ask()
    sent = json.loads(calls_to(org, "/composite")[0].request.body)["compositeRequest"]
    assert [(s["referenceId"], s["url"]) for s in sent[1:]] == [
        ("d0", "/services/data/v62.0/sobjects/Opportunity/describe"),
        ("d1", "/services/data/v62.0/sobjects/Account/describe"),
    ]
    assert client.field_types("Opportunity") == {"amount": "currency", "iswon": "boolean"}
    assert client.calls == {"composite": 1}  # described in the composite: no call of its own
    assert client.field_types("Account") == {"name": "string"}  # the failed one: a call
    assert client.calls == {"composite": 1, "describe": 1}
    ask()
    again = json.loads(calls_to(org, "/composite")[1].request.body)["compositeRequest"]
    assert len(again) == 1  # both described now: nothing rides along
