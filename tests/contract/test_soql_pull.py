"""SOQL building (escaping, identifiers, IN-list chunks) and pull / pull_by_ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from syncd.salesforce import OrgClient, id_chunks, pull, pull_by_ids, select, soql_format
from tests.contract.fakeorg import DATA, calls_to, page


def _soql(call: responses.Call) -> str:
    return parse_qs(urlparse(call.request.url).query)["q"][0]


def test_values_are_quoted_and_escaped() -> None:
    where = soql_format("Name = {} AND Id IN {}", "O'Brien \\ Sons", ["001A", "001B"])
    assert where == "Name = 'O\\'Brien \\\\ Sons' AND Id IN ('001A','001B')"
    assert select("Account", ["Id", "Name"], where=where, order_by="Name desc", limit=5) == (
        "SELECT Id, Name FROM Account WHERE Name = 'O\\'Brien \\\\ Sons' "
        "AND Id IN ('001A','001B') ORDER BY Name DESC LIMIT 5"
    )


def test_datetimes_render_in_utc() -> None:
    stamp = datetime(2024, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))
    assert (
        soql_format("SystemModstamp >= {}", stamp) == "SystemModstamp >= 2024-01-01T00:00:00+00:00"
    )


@pytest.mark.parametrize(
    ("fields", "sobject", "order_by", "message"),
    [
        (["Id", "Account.Name"], "Opportunity", None, "relationship path"),
        (["Id", "Name; DELETE"], "Account", None, "not a valid"),
        (["Id"], "Account WHERE", None, "not a valid"),
        (["Id"], "Account", "Owner.Name", "relationship path"),
        (["Id"], "Account", "Name, Id DROP", "ORDER BY term"),
        ([], "Account", None, "at least one field"),
    ],
)
def test_bad_names_are_refused(
    fields: list[str], sobject: str, order_by: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        select(sobject, fields, order_by=order_by)


def test_id_chunks_bound_the_rendered_in_list() -> None:
    ids = [f"001A{i:014d}" for i in range(500)]
    chunks = list(id_chunks(ids, max_chars=1000))
    assert [i for chunk in chunks for i in chunk] == ids
    for chunk in chunks:
        assert len(soql_format("{}", chunk)) <= 1000
    assert len(chunks) == 11  # 21 characters per quoted id and comma: 47 ids per chunk


def test_pull_rejects_naive_datetimes(client: OrgClient) -> None:
    with pytest.raises(ValueError, match="naive"):
        next(pull(client, "Account", ["Id"], since=datetime(2024, 1, 1)))


def test_incremental_pull_overlaps_and_orders(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.get(f"{DATA}/query/", json=page([{"Id": "1"}, {"Id": "2"}]))
    seen: list[int] = []
    since = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    pages = list(pull(client, "Account", ["Name"], since=since, on_page=seen.append))
    assert pages == [[{"Id": "1"}, {"Id": "2"}]]
    assert seen == [2]
    assert _soql(calls_to(org, "/query/")[0]) == (
        "SELECT Name, Id, SystemModstamp FROM Account "
        "WHERE SystemModstamp >= 2024-05-01T11:55:00+00:00 ORDER BY SystemModstamp"
    )


def test_full_pull_has_no_filter(client: OrgClient, org: responses.RequestsMock) -> None:
    org.get(f"{DATA}/queryAll/", json=page([]))
    assert list(pull(client, "Account", ["Id", "Name"], include_deleted=True)) == []
    assert _soql(org.calls[-1]) == "SELECT Id, Name, SystemModstamp FROM Account"


def test_pull_by_ids_chunks_the_in_list(client: OrgClient, org: responses.RequestsMock) -> None:
    org.get(f"{DATA}/query/", json=page([{"Id": "x"}]))
    ids = [f"001A{i:014d}" for i in range(400)]
    pages = list(pull_by_ids(client, "Account", ["Name"], ids))
    queries = [_soql(c) for c in calls_to(org, "/query/")]
    assert len(pages) == len(queries) == 3  # 4,000 characters hold 190 ids
    assert all(q.startswith("SELECT Name, Id FROM Account WHERE Id IN ('001A") for q in queries)
    assert all(len(c.request.url) < 16_384 - 2_000 for c in calls_to(org, "/query/"))
    assert sum(q.count("'001A") for q in queries) == 400
