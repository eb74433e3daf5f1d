import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

from syncd.engine.domain import Role
from syncd.errors import ConfigError
from syncd.sync.mapping import load_mapping, to_account, to_opportunity, to_user

ROOT = Path(__file__).resolve().parents[2]
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
    from syncd.sync.mapping import FieldValues, written_values

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
