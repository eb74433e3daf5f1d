import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import UnionType
from typing import Any, get_args, get_origin, get_type_hints

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.engine.domain import Opportunity, Registration, Role, Snapshot
from syncd.engine.evaluate import evaluate
from syncd.engine.inputs import field_names
from syncd.engine.policy import load_policy
from syncd.errors import ConfigError
from syncd.sfid import to_18
from syncd.sync.mapping import (
    load_mapping,
    source_keys,
    to_account,
    to_opportunity,
    to_user,
    written_values,
)

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "config" / "rules.yaml"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
ACC = "001000000000001AAA"
PARTNER = "0015g0000000001AAA"


@pytest.fixture(scope="module")
def mapping():
    return load_mapping(ROOT / "mappings" / "default.yaml")


def test_default_mapping_queries_read_and_written_fields(mapping) -> None:
    fields = mapping.opportunity_fields()
    assert "RoE_Registered_Partner__c" in fields and "RoE_Status__c" in fields
    assert fields[-1] == "SystemModstamp"
    assert len(fields) == len(set(fields))
    assert not any("." in f for f in fields), "no relationship paths"


def test_account_record_maps_to_domain(mapping) -> None:
    account = to_account(
        {
            "Id": "001A0000006Vm9r",  # 15-char ids are normalised
            "Name": "Globex",
            "IsPartner": False,
            "BillingCountry": "US",
            "RoE_Named_Account__c": True,
            "RoE_Incumbent_Partner__c": None,
        },
        mapping,
    )
    assert account.id == "001A0000006Vm9rIAC"
    assert account.named and not account.global_account
    assert account.defects == ()


def test_opportunity_maps_registration_renewal_and_amount(mapping) -> None:
    opp = to_opportunity(
        {
            "Id": "006000000000001AAA",
            "AccountId": ACC,
            "Type": "Renewal",
            "Amount": 250000.0,
            "CreatedDate": "2026-10-01T09:00:00.000+0000",
            "RoE_Registered_Partner__c": PARTNER,
            "RoE_Registration_Status__c": "Approved",
            "RoE_Registration_Approved_Date__c": "2026-11-01",
            "IsClosed": False,
        },
        mapping,
    )
    assert opp.is_renewal
    assert opp.amount == Decimal("250000.0")
    assert opp.registration is not None and opp.registration.approved
    assert opp.registration.approved_on.isoformat() == "2026-11-01"
    assert opp.created_at.isoformat() == "2026-10-01T09:00:00+00:00"


def test_malformed_values_become_defects_not_exceptions(mapping) -> None:
    opp = to_opportunity(
        {
            "Id": "006000000000001AAA",
            "Amount": "lots",
            "IsClosed": "maybe",
            "CreatedDate": "yesterday",
            "RoE_Partner__c": "not-an-id",
        },
        mapping,
    )
    assert len(opp.defects) == 4
    assert any("Amount" in d and "lots" in d for d in opp.defects)
    assert opp.partner_id is None


def test_user_roles_from_segment_and_user_type(mapping) -> None:
    tele = to_user({"Id": "005000000000001AAA", "RoE_Sales_Role__c": "Telesales"}, mapping)
    portal = to_user(
        {"Id": "005000000000002AAA", "UserType": "PowerPartner", "AccountId": PARTNER}, mapping
    )
    nobody = to_user({"Id": "005000000000003AAA", "RoE_Sales_Role__c": "Astronaut"}, mapping)
    assert tele.role is Role.TELESALES
    assert portal.role is Role.PARTNER_USER and portal.partner_account_id == PARTNER
    assert nobody.role is Role.OTHER


def test_bad_mapping_file_names_file_and_every_key(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "account:\n  read: {named: 'Bad Field'}\n  write: {lead: X__c}\n"
        "opportunity:\n  read: {}\n  write: {}\n  colour: blue\nuser:\n  read: {}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    text = str(info.value)
    assert str(path) in text
    assert "account.read.named" in text
    assert "account.write.lead_partner_id: Field required" in text
    assert "opportunity.colour: unknown key" in text
    assert "opportunity.write.status: Field required" in text


def test_mapping_file_that_is_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("account: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_mapping(path)


def test_written_values_are_a_compact_mapping_that_updates_by_copy() -> None:
    from syncd.sync.mapping import FieldValues

    fields = ["RoE_Status__c", "RoE_Reason__c"]
    values = written_values({"RoE_Status__c": "Violation", "Other": 1}, fields)
    assert isinstance(values, FieldValues)
    assert dict(values) == {"RoE_Status__c": "Violation", "RoE_Reason__c": None}
    assert values == {"RoE_Status__c": "Violation", "RoE_Reason__c": None}
    updated = values.updated({"RoE_Status__c": "Compliant"})
    assert updated == {"RoE_Status__c": "Compliant", "RoE_Reason__c": None}
    assert values["RoE_Status__c"] == "Violation"  # the original is untouched
    assert values.updated({"New__c": 1}) == {**values, "New__c": 1}


def test_exception_decision_currency_and_who_changed_it(tmp_path: Path) -> None:
    text = (ROOT / "mappings" / "default.yaml").read_text()
    (tmp_path / "m.yaml").write_text(text.replace("currency: null", "currency: CurrencyIsoCode"))
    opp = to_opportunity(
        {
            "Id": "006000000000001AAA",
            "RoE_Exception_Requested__c": True,
            "RoE_Exception_Reason__c": "partner declined",
            "RoE_Exception_Decision__c": "Approved",
            "RoE_Exception_Decision_Reason__c": "confirmed by P1",
            "LastModifiedById": "005000000000007",
            "CurrencyIsoCode": "EUR",
        },
        load_mapping(tmp_path / "m.yaml"),
    )
    assert (opp.exception_requested, opp.exception_reason) == (True, "partner declined")
    assert (opp.exception_decision, opp.exception_decision_reason) == (
        "Approved",
        "confirmed by P1",
    )
    assert opp.last_modified_by == "005000000000007AAA" and opp.currency == "EUR"
    assert opp.defects == ()
    # Who last changed a record is audit only: syncd's own writes change it.
    assert dataclasses.replace(opp, last_modified_by="005000000000009AAA") == opp


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-inf", float("nan")])
def test_amounts_that_are_not_finite_are_defects(mapping, amount) -> None:
    opp = to_opportunity({"Id": "006000000000001AAA", "Amount": amount}, mapping)
    assert opp.amount is None
    assert opp.defects and opp.defects[0].startswith("Amount: expected a number")


def test_picklist_values_map_trimmed_and_ignoring_case(mapping) -> None:
    opp = to_opportunity(
        {"Id": "006000000000001AAA", "Type": "installed base ", "RoE_Registered_Partner__c":
         PARTNER, "RoE_Registration_Status__c": " approved"}, mapping,
    )  # fmt: skip
    assert opp.is_renewal and opp.registration is not None and opp.registration.approved
    portal = to_user({"Id": "005000000000002AAA", "UserType": "powerpartner"}, mapping)
    tele = to_user({"Id": "005000000000001AAA", "RoE_Sales_Role__c": " CALL CENTER"}, mapping)
    assert portal.role is Role.PARTNER_USER and tele.role is Role.TELESALES


# -- garbage in, typed values and defects out (what lets the engine trust its types) ------

_MAPPING = load_mapping(ROOT / "mappings" / "default.yaml")
GARBAGE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "true", "NaN", "Infinity", "2026-13-01", "2026-11-01", "Approved",
                     "001000000000001AAA", "0015g0000000001", "not-an-id",
                     "2026-10-01T09:00:00.000+0000", "2026-10-01T09:00:00"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip


def raw_records(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=dict.fromkeys(fields, GARBAGE))


def _holds(value: object, hint: object) -> bool:
    """``value`` is what the domain annotation ``hint`` promises."""
    if get_origin(hint) is UnionType:
        return any(_holds(value, option) for option in get_args(hint))
    if hint is type(None):
        return value is None
    if hint is Decimal:
        return isinstance(value, Decimal) and value.is_finite()
    if hint is datetime:
        return isinstance(value, datetime) and value.tzinfo is not None
    origin = get_origin(hint) or hint
    return isinstance(origin, type) and isinstance(value, origin)


def assert_typed(record: object) -> None:
    hints = get_type_hints(type(record))
    for name, hint in hints.items():
        value = getattr(record, name)
        assert _holds(value, hint), (name, value)
        if name != "id" and (name.endswith("_id") or name == "last_modified_by"):
            assert value is None or to_18(value) == value, (name, value)
    if isinstance(record, Opportunity) and record.registration is not None:
        assert_typed(record.registration)


@settings(max_examples=300, deadline=None)
@given(raw_records(_MAPPING.opportunity_fields()))
def test_any_raw_opportunity_maps_to_typed_values_or_defects(record: dict[str, Any]) -> None:
    opp = to_opportunity(record, _MAPPING)
    assert_typed(opp)
    amount = record.get("Amount")
    if amount not in (None, "") and opp.amount is None:  # unusable: a defect names the field
        assert any(d.startswith("Amount:") for d in opp.defects), (amount, opp.defects)


@settings(max_examples=200, deadline=None)
@given(raw_records(_MAPPING.account_fields()), raw_records(_MAPPING.user_fields()))
def test_any_raw_account_or_user_maps_to_typed_values_or_defects(
    account: dict[str, Any], user: dict[str, Any]
) -> None:
    assert_typed(to_account(account, _MAPPING))
    assert_typed(to_user(user, _MAPPING))


@settings(max_examples=100, deadline=None)
@given(st.lists(raw_records(_MAPPING.opportunity_fields()), min_size=1, max_size=8))
def test_mapped_garbage_never_trips_the_engine(records: list[dict[str, Any]]) -> None:
    opps = {}
    for n, raw in enumerate(records):
        opp = to_opportunity({**raw, "Id": f"006000000000{n:03d}AAA"}, _MAPPING)
        opps[opp.id] = opp
    account = to_account({"Id": "001000000000001AAA", "Name": 7, "IsPartner": "x"}, _MAPPING)
    decisions = evaluate(Snapshot({account.id: account}, opps, {}), load_policy(RULES), NOW)
    assert decisions.errors == {}


@pytest.mark.parametrize("kind", ["Account", "Opportunity", "User"])
def test_every_field_the_rules_may_read_names_its_salesforce_fields(kind: str) -> None:
    """explain shows where each fact came from: no domain attribute without a source."""
    read = _MAPPING.section(kind).read.model_dump()
    names = [n for n in field_names(kind) if n not in ("defects", "extra")]
    if kind == "Opportunity":
        names += [f"registration.{f.name}" for f in dataclasses.fields(Registration)]
    for name in names:
        assert source_keys(kind, name, read), f"{kind}.{name} comes from no mapped field"


def test_explain_names_every_field_a_computed_fact_comes_from(tmp_path: Path) -> None:
    from syncd.cli.explain_view import salesforce_fields

    text = (ROOT / "mappings" / "default.yaml").read_text()
    expiry = text.replace("registration_expires_on: null", "registration_expires_on: Expiry__c")
    (tmp_path / "m.yaml").write_text(expiry)
    mapping = load_mapping(tmp_path / "m.yaml")
    assert salesforce_fields("Opportunity.registration", mapping) == (
        "Opportunity.RoE_Registered_Partner__c, RoE_Registration_Status__c, "
        "RoE_Registration_Approved_Date__c, Expiry__c"
    )
    assert salesforce_fields("User.role", mapping) == "User.RoE_Sales_Role__c, UserType"
    assert salesforce_fields("Opportunity.is_renewal", mapping) == "Opportunity.Type"
    assert salesforce_fields("Opportunity.last_modified_by", mapping) == (
        "Opportunity.LastModifiedById"
    )
    assert salesforce_fields("rules: regions.countries", mapping) == "rules: regions.countries"


def test_records_never_written_share_one_values_object() -> None:
    fields = ["RoE_Owner_Type__c", "RoE_Violation__c"]
    a = written_values({"Id": "006A", "RoE_Violation__c": False}, fields)
    b = written_values({"Id": "006B", "RoE_Owner_Type__c": None, "RoE_Violation__c": False}, fields)
    assert a is b and dict(a) == {"RoE_Owner_Type__c": None, "RoE_Violation__c": False}
    c = written_values({"RoE_Owner_Type__c": "Partner", "RoE_Violation__c": False}, fields)
    assert c is not a and c["RoE_Owner_Type__c"] == "Partner"
    assert dict(a.updated({"RoE_Violation__c": True})) == {
        "RoE_Owner_Type__c": None,
        "RoE_Violation__c": True,
    }
    assert a["RoE_Violation__c"] is False  # the shared one is never changed
