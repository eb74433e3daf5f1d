"""Queries page by page, limits and API accounting."""

from __future__ import annotations

import pytest
import responses
from responses import matchers

from syncd.salesforce import ApiUsage, OrgClient
from syncd.salesforce.session import parse_limit_info, request_kind
from tests.contract.fakeorg import DATA, INSTANCE, calls_to, page

NEXT2 = "/services/data/v62.0/query/01gD0000002HU6KIAW-2000"
NEXT3 = "/services/data/v62.0/query/01gD0000002HU6KIAW-4000"


def _three_pages(org: responses.RequestsMock, endpoint: str = "query") -> None:
    org.get(
        f"{DATA}/{endpoint}/",
        json=page([{"Id": "1"}, {"Id": "2"}], next_url=NEXT2),
        headers={"Sforce-Limit-Info": "api-usage=100/15000"},
    )
    org.get(f"{INSTANCE}{NEXT2}", json=page([{"Id": "3"}], next_url=NEXT3))
    org.get(
        f"{INSTANCE}{NEXT3}",
        json=page([{"Id": "4"}]),
        headers={"Sforce-Limit-Info": "api-usage=102/15000; api-bursts=3/500"},
    )


def test_pages_follow_next_records_url_and_lose_attributes(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    _three_pages(org)
    pages = list(client.query_pages("SELECT Id FROM Account"))
    assert pages == [[{"Id": "1"}, {"Id": "2"}], [{"Id": "3"}], [{"Id": "4"}]]
    assert client.calls == {"query": 1, "query_more": 2}
    assert client.api_calls == 3
    assert client.usage == ApiUsage(used=102, max=15000)


def test_pages_are_fetched_lazily(client: OrgClient, org: responses.RequestsMock) -> None:
    _three_pages(org)
    pages = client.query_pages("SELECT Id FROM Account")
    next(pages)
    assert client.calls == {"query": 1}


def test_include_deleted_uses_query_all_and_page_size_header(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.get(
        f"{DATA}/queryAll/",
        json=page([{"Id": "1", "IsDeleted": True}]),
        match=[
            matchers.query_param_matcher({"q": "SELECT Id, IsDeleted FROM Account"}),
            matchers.header_matcher({"Sforce-Query-Options": "batchSize=500"}),
        ],
    )
    records = list(
        client.query("SELECT Id, IsDeleted FROM Account", include_deleted=True, page_size=500)
    )
    assert records == [{"Id": "1", "IsDeleted": True}]


def test_page_size_out_of_range_is_refused(client: OrgClient) -> None:
    with pytest.raises(ValueError, match="between 200 and 2000"):
        next(client.query_pages("SELECT Id FROM Account", page_size=100))


def test_limits_reads_daily_api_requests(client: OrgClient, org: responses.RequestsMock) -> None:
    org.get(f"{DATA}/limits/", json={"DailyApiRequests": {"Max": 15000, "Remaining": 14870}})
    limits = client.limits()
    assert (limits.daily_max, limits.daily_remaining) == (15000, 14870)
    assert client.calls == {"limits": 1}


def test_describe_is_counted_as_describe(client: OrgClient, org: responses.RequestsMock) -> None:
    org.get(f"{DATA}/sobjects/Account/describe", json={"name": "Account", "fields": []})
    assert client.describe("Account")["name"] == "Account"
    assert client.calls == {"describe": 1}
    assert len(calls_to(org, "/oauth2/token")) == 1  # auth counted apart
    assert client.auth_calls == 1


@pytest.mark.parametrize(
    ("header", "usage"),
    [
        ("api-usage=18/5000", ApiUsage(18, 5000)),
        ("api-usage=25/5000; api-bursts=2/300", ApiUsage(25, 5000)),
        ("api-bursts=2/300; api-usage=26/5000", ApiUsage(26, 5000)),
        ("api-usage=25/5000; per-app-api-usage=17/250(appName=syncd)", ApiUsage(25, 5000)),
        ("per-app-api-usage=17/250(appName=syncd)", None),
        ("garbage", None),
    ],
)
def test_sforce_limit_info_parsing(header: str, usage: ApiUsage | None) -> None:
    assert parse_limit_info(header) == usage


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/services/oauth2/token", "auth"),
        ("/services/data/v62.0/query/?q=SELECT", "query"),
        ("/services/data/v62.0/queryAll/", "query"),
        ("/services/data/v62.0/query/01gD0000002HU6KIAW-2000", "query_more"),
        ("/services/data/v62.0/composite/sobjects/Task/RoE_Key__c", "collections"),
        ("/services/data/v62.0/composite", "composite"),
        ("/services/data/v62.0/limits/", "limits"),
        ("/services/data/v62.0/sobjects/Account/describe", "describe"),
        ("/services/data/v62.0/sobjects/Account/001000000000001", "sobject"),
    ],
)
def test_request_kind(path: str, kind: str) -> None:
    assert request_kind(f"https://x.my.salesforce.com{path}") == kind
