"""The sandbox's SOQL: parsing, each operator, escapes, dates vs datetimes, ordering, errors."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from syncd.salesforce.soql import select, soql_format
from syncd.sandbox.soql import SoqlError, parse
from syncd.sandbox.soql_eval import compile_query
from syncd.sfid import make_id

TODAY = date(2026, 11, 23)


def acct(n: int, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "Id": make_id("001", n),
        "Name": f"Account {n}",
        "BillingCountry": None,
        "IsPartner": False,
        "ParentId": None,
        "CreatedDate": "2026-11-01T00:00:00.000+0000",
        "SystemModstamp": "2026-11-01T00:00:00.000+0000",
    }
    return {**base, **fields}


ROWS = [
    acct(1, Name="Acme", BillingCountry="US", IsPartner=True),
    acct(2, Name="globex", BillingCountry="DE", SystemModstamp="2026-11-22T23:59:59.999+0000"),
    acct(
        3, Name="O'Brien & Co", BillingCountry=None, SystemModstamp="2026-11-23T08:00:00.000+0000"
    ),
    acct(4, Name="100% Partner_Co", BillingCountry="us", ParentId=make_id("001", 1)),
]


def names(soql: str, rows: list[dict[str, object]] = ROWS) -> list[object]:
    return [r.get("Name") for r in compile_query(soql, TODAY).run(rows)]


def ids(soql: str) -> list[str]:
    return [str(r["Id"]) for r in compile_query(soql, TODAY).run(ROWS)]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Name = 'acme'", ["Acme"]),  # text compares case-insensitively
        ("Name != 'Acme'", ["globex", "O'Brien & Co", "100% Partner_Co"]),
        ("Name <> 'Acme'", ["globex", "O'Brien & Co", "100% Partner_Co"]),
        ("BillingCountry != 'US'", ["globex", "O'Brien & Co"]),  # != matches null too
        ("BillingCountry = null", ["O'Brien & Co"]),
        ("BillingCountry != null", ["Acme", "globex", "100% Partner_Co"]),
        ("IsPartner = true", ["Acme"]),
        ("IsPartner = FALSE", ["globex", "O'Brien & Co", "100% Partner_Co"]),
        ("Name < 'B'", ["Acme", "100% Partner_Co"]),
        ("Name >= 'globex'", ["globex", "O'Brien & Co"]),
        ("BillingCountry IN ('DE', 'us')", ["Acme", "globex", "100% Partner_Co"]),
        ("BillingCountry NOT IN ('DE')", ["Acme", "O'Brien & Co", "100% Partner_Co"]),
        ("Name LIKE 'a%'", ["Acme"]),
        ("Name LIKE '%co'", ["O'Brien & Co", "100% Partner_Co"]),
        ("Name LIKE 'glob_x'", ["globex"]),
        ("Name LIKE '100\\% Partner\\_%'", ["100% Partner_Co"]),
        ("Name LIKE '1_0\\%%'", ["100% Partner_Co"]),
        ("Name = 'O\\'Brien & Co'", ["O'Brien & Co"]),
    ],
)
def test_each_operator(where: str, expected: list[str]) -> None:
    assert names(f"SELECT Name FROM Account WHERE {where}") == expected


def test_like_escape_is_literal_not_wildcard() -> None:
    assert names("SELECT Name FROM Account WHERE Name LIKE '100\\%%'") == ["100% Partner_Co"]
    assert names("SELECT Name FROM Account WHERE Name LIKE '100\\_%'") == []


def test_escapes_round_trip_from_soql_format() -> None:
    tricky = "a\\b'c\"d\ne\tf"
    rows = [acct(9, Name=tricky), acct(8, Name="other")]
    soql = select("Account", ["Name"], where=soql_format("Name = {}", tricky))
    assert names(soql, rows) == [tricky]


def test_ids_match_in_15_and_18_char_form() -> None:
    id18 = make_id("001", 2)
    assert ids(f"SELECT Id FROM Account WHERE Id = '{id18[:15]}'") == [id18]
    in_list = soql_format("Id IN {}", [id18, make_id("001", 4)[:15]])
    assert ids(f"SELECT Id FROM Account WHERE {in_list}") == [id18, make_id("001", 4)]
    assert ids(f"SELECT Id FROM Account WHERE ParentId = '{make_id('001', 1)}'") == [
        make_id("001", 4)
    ]


def test_and_or_not_and_parentheses() -> None:
    q = "SELECT Name FROM Account WHERE "
    assert names(q + "IsPartner = false AND BillingCountry = 'us'") == ["100% Partner_Co"]
    assert names(q + "Name = 'Acme' OR Name = 'globex' OR Name = 'nobody'") == ["Acme", "globex"]
    assert names(q + "NOT IsPartner = false") == ["Acme"]
    # NOT binds to the next condition only
    assert names(q + "NOT Name = 'Acme' AND BillingCountry = 'US'") == ["100% Partner_Co"]
    assert names(q + "NOT (Name = 'Acme' OR BillingCountry = 'DE')") == [
        "O'Brien & Co",
        "100% Partner_Co",
    ]
    assert names(q + "(Name = 'Acme' OR Name = 'globex') AND IsPartner = false") == ["globex"]
    assert names(q + "Name = 'Acme' OR (Name = 'globex' AND IsPartner = true)") == ["Acme"]


def test_mixing_and_or_without_parentheses_is_malformed() -> None:
    with pytest.raises(SoqlError) as err:
        compile_query("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'")
    assert err.value.code == "MALFORMED_QUERY"


def test_datetimes_compare_as_instants_in_any_offset() -> None:
    q = "SELECT Name FROM Account WHERE SystemModstamp > "
    assert names(q + "2026-11-22T23:59:59Z") == ["globex", "O'Brien & Co"]
    assert names(q + "2026-11-23T00:00:00+00:00") == ["O'Brien & Co"]
    # 08:00 UTC is 09:00 at +01:00: not strictly after
    assert names(q + "2026-11-23T09:00:00+01:00") == []
    assert names(q + "2026-11-23T07:59:59.999-00:00") == ["O'Brien & Co"]
    assert names(q + "2026-11-22T23:59:59.999+0000") == ["O'Brien & Co"]


def test_watermark_query_from_soql_format() -> None:
    since = datetime(2026, 11, 22, 23, 59, 59, 999000, tzinfo=UTC)  # microseconds are dropped
    soql = select("Account", ["Name"], where=soql_format("SystemModstamp >= {}", since))
    assert names(soql) == ["globex", "O'Brien & Co"]


def test_date_fields_take_date_literals_only() -> None:
    rows = [
        {"Id": make_id("006", 1), "Name": "a", "CloseDate": "2026-11-01"},
        {"Id": make_id("006", 2), "Name": "b", "CloseDate": "2026-12-15"},
        {"Id": make_id("006", 3), "Name": "c", "CloseDate": None},
    ]
    q = "SELECT Name FROM Opportunity WHERE CloseDate "
    assert names(q + ">= 2026-11-02", rows) == ["b"]
    assert names(q + "< 2026-12-15", rows) == ["a"]
    for bad in ("> 2026-11-01T00:00:00Z", "> '2026-11-01'"):
        with pytest.raises(SoqlError) as err:
            compile_query(q + bad)
        assert err.value.code == "INVALID_QUERY_FILTER_OPERATOR"
    with pytest.raises(SoqlError):
        compile_query("SELECT Id FROM Account WHERE CreatedDate > 2026-11-01")


def test_relative_date_literals() -> None:
    rows = [
        {"Id": make_id("006", 1), "Name": "today", "CloseDate": "2026-11-23"},
        {"Id": make_id("006", 2), "Name": "yesterday", "CloseDate": "2026-11-22"},
        {"Id": make_id("006", 3), "Name": "old", "CloseDate": "2026-10-01"},
    ]
    q = "SELECT Name FROM Opportunity WHERE CloseDate "
    assert names(q + "= TODAY", rows) == ["today"]
    assert names(q + "= YESTERDAY", rows) == ["yesterday"]
    assert names(q + "< TODAY", rows) == ["yesterday", "old"]
    assert names(q + "= LAST_N_DAYS:7", rows) == ["today", "yesterday"]
    dt = "SELECT Name FROM Account WHERE SystemModstamp = TODAY"
    assert names(dt) == ["O'Brien & Co"]


def test_order_by_defaults_and_multiple_keys() -> None:
    q = "SELECT Name FROM Account ORDER BY "
    assert names(q + "BillingCountry") == ["O'Brien & Co", "globex", "Acme", "100% Partner_Co"]
    assert names(q + "BillingCountry DESC") == ["Acme", "100% Partner_Co", "globex", "O'Brien & Co"]
    assert names(q + "BillingCountry ASC NULLS LAST, Name DESC") == [
        "globex",
        "Acme",
        "100% Partner_Co",
        "O'Brien & Co",
    ]
    assert names(q + "BillingCountry DESC NULLS FIRST, Name") == [
        "O'Brien & Co",
        "100% Partner_Co",
        "Acme",
        "globex",
    ]
    assert names(q + "SystemModstamp DESC, Name LIMIT 2") == ["O'Brien & Co", "globex"]


def test_limit_offset_and_count() -> None:
    assert names("SELECT Name FROM Account ORDER BY Name LIMIT 2 OFFSET 1") == ["Acme", "globex"]
    counted = compile_query("SELECT COUNT() FROM Account WHERE IsPartner = false").run(ROWS)
    assert len(counted) == 3


def test_field_names_are_case_insensitive_and_answered_in_schema_spelling() -> None:
    compiled = compile_query("select id, NAME, billingcountry from account where NAME = 'Acme'")
    assert compiled.sobject == "Account"
    assert compiled.run(ROWS) == [{"Id": make_id("001", 1), "Name": "Acme", "BillingCountry": "US"}]


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Nope FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE Nope__c = 'x'", "INVALID_FIELD"),
        ("SELECT Owner.Name FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Contract", "INVALID_TYPE"),
        ("SELECT Id Account", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Name = 'unterminated", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Name = 'bad \\q escape'", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account LIMIT x", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE IsPartner = 'true'", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Id FROM Account WHERE Id = 'not-an-id'", "INVALID_QUERY_FILTER_OPERATOR"),
        ("", "MALFORMED_QUERY"),
    ],
)
def test_errors_carry_salesforce_codes(soql: str, code: str) -> None:
    with pytest.raises(SoqlError) as err:
        compile_query(soql)
    assert err.value.code == code
    if code == "INVALID_FIELD":
        assert "No such column" in err.value.message


def test_parse_produces_the_expected_ast() -> None:
    query = parse("SELECT Id, Name FROM Account WHERE Name = 'x' ORDER BY Name DESC LIMIT 5")
    assert query.fields == ("Id", "Name")
    assert query.limit == 5 and query.order_by[0].descending and not query.order_by[0].nulls_first
