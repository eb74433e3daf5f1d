"""SandboxOrg: Ids, audit fields, monotonic SystemModstamp, copies, write checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncd.sandbox import ADMIN_USER_ID, INTEGRATION_USER_ID, SandboxOrg
from syncd.sandbox.schema import SCHEMA
from syncd.sandbox.soql_eval import compile_query
from syncd.sfid import is_valid, make_id

FROZEN = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
ACCT = make_id("001", 1)
PARTNER = make_id("001", 2)


@pytest.fixture
def org() -> SandboxOrg:
    org = SandboxOrg(clock=lambda: FROZEN)  # a stopped clock: stamps must still increase
    org.load(
        {
            "Account": [
                {"Id": ACCT[:15], "Name": "Acme", "CreatedDate": "2026-03-02T09:00:00.000+0000"},
                {"Id": PARTNER, "Name": "Partner Co", "IsPartner": True},
            ],
            "Opportunity": [
                {"Name": "Deal", "AccountId": ACCT, "StageName": "Prospecting",
                 "CloseDate": "2026-12-01", "Amount": 5000},
            ],
        }
    )  # fmt: skip
    return org


def test_load_keeps_or_generates_18_char_ids(org: SandboxOrg) -> None:
    accounts = org.records("Account")
    assert [a["Id"] for a in accounts] == [ACCT, PARTNER]  # 15 chars widened to 18
    (deal,) = org.records("Opportunity")
    assert deal["Id"].startswith("006") and len(deal["Id"]) == 18 and is_valid(deal["Id"])
    assert deal["Amount"] == 5000.0 and isinstance(deal["Amount"], float)


def test_load_sets_audit_fields_and_keeps_a_given_created_date(org: SandboxOrg) -> None:
    acme = org.get("Account", ACCT)
    assert acme is not None
    assert acme["CreatedDate"] == "2026-03-02T09:00:00.000+0000"
    partner = org.get("Account", PARTNER)
    assert partner is not None
    assert partner["CreatedDate"] == partner["LastModifiedDate"] == partner["SystemModstamp"]
    assert partner["SystemModstamp"].startswith("2026-11-23T07:00:00.")
    assert partner["RoE_Named_Account__c"] is False  # every schema field is present


def test_system_modstamp_shares_a_stopped_clock_like_salesforce(org: SandboxOrg) -> None:
    before = org.get("Account", ACCT)["SystemModstamp"]  # type: ignore[index]
    org.update("Account", ACCT, {"RoE_Reason__c": "x"})
    org.update("Account", PARTNER, {"RoE_Reason__c": "y"})
    first, second = org.get("Account", ACCT), org.get("Account", PARTNER)
    assert first and second
    assert before <= first["SystemModstamp"] == second["SystemModstamp"]
    assert first["LastModifiedById"] == ADMIN_USER_ID
    # a watermark query at the stamp (>=, as syncd asks) sees both writes
    soql = f"SELECT Id FROM Account WHERE SystemModstamp >= {first['SystemModstamp']}"
    assert {r["Id"] for r in org.query(compile_query(soql))} >= {ACCT, PARTNER}


def test_get_and_records_return_copies(org: SandboxOrg) -> None:
    copy = org.get("Account", ACCT)
    assert copy is not None
    copy["Name"] = "changed"
    org.records("Account")[0]["Name"] = "changed too"
    assert org.get("account", ACCT[:15])["Name"] == "Acme"  # type: ignore[index]
    assert org.get("Account", make_id("001", 77)) is None


def test_admin_create_update_delete(org: SandboxOrg) -> None:
    new = org.create("Task", {"Subject": "Call", "Status": "Completed", "WhatId": ACCT})
    task = org.get("Task", new)
    assert task is not None and new.startswith("00T") and task["IsClosed"] is True
    assert task["Priority"] == "Normal"
    org.update("Task", new, {"Status": "Not Started"})
    assert org.get("Task", new)["IsClosed"] is False  # type: ignore[index]
    org.delete("Task", new)
    assert org.get("Task", new) is None and org.was_deleted(new)
    with pytest.raises(KeyError, match="no Task"):
        org.update("Task", new, {"Subject": "again"})


def test_load_refuses_unknown_fields_and_objects_by_name() -> None:
    org = SandboxOrg()
    with pytest.raises(ValueError, match=r"Account record #0.*Nope__c"):
        org.load({"Account": [{"Name": "x", "Nope__c": 1}]})
    with pytest.raises(ValueError, match="no object 'Contract'"):
        org.load({"Contract": [{"Name": "x"}]})
    with pytest.raises(ValueError, match="not a valid Account Id"):
        org.load({"Account": [{"Id": make_id("006", 1), "Name": "x"}]})


def test_api_writes_stamp_the_integration_user(org: SandboxOrg) -> None:
    (result,) = org.write("update", "Account", [{"Id": ACCT, "RoE_Engagement_Lead__c": "Direct"}])
    assert result == {"id": ACCT, "success": True, "errors": []}
    acme = org.get("Account", ACCT)
    assert acme and acme["LastModifiedById"] == INTEGRATION_USER_ID
    assert acme["LastModifiedDate"] == acme["SystemModstamp"]
    (created,) = org.write("create", "Account", [{"Name": "New"}])
    new = org.get("Account", created["id"])
    assert (
        new and new["OwnerId"] == INTEGRATION_USER_ID and new["CreatedById"] == INTEGRATION_USER_ID
    )


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"Nope__c": 1}, "INVALID_FIELD"),
        ({"SystemModstamp": "2026-01-01T00:00:00Z"}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"IsWon": True}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"RoE_Comp_Eligible__c": "yes"}, "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ({"RoE_Comp_Eligible__c": {"a": 1}}, "JSON_PARSER_ERROR"),
        ({"RoE_Protected_Partner__c": "not-an-id"}, "MALFORMED_ID"),
        ({"RoE_Protected_Partner__c": make_id("005", 1)}, "FIELD_INTEGRITY_EXCEPTION"),
        ({"RoE_Reason__c": "x" * 256}, "STRING_TOO_LONG"),
        ({"CloseDate": "soon"}, "INVALID_TYPE_ON_FIELD_IN_RECORD"),
    ],
)
def test_write_errors_per_record(org: SandboxOrg, fields: dict[str, object], code: str) -> None:
    deal = org.records("Opportunity")[0]
    before = org.get("Opportunity", deal["Id"])
    (result,) = org.write("update", "Opportunity", [{"Id": deal["Id"], **fields}])
    assert result["success"] is False and result["errors"][0]["statusCode"] == code
    assert org.get("Opportunity", deal["Id"]) == before


def test_update_of_missing_records(org: SandboxOrg) -> None:
    ghost = make_id("006", 424242)
    (result,) = org.write("update", "Opportunity", [{"Id": ghost, "Name": "x"}])
    assert result["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    deal = org.records("Opportunity")[0]["Id"]
    org.delete("Opportunity", deal)
    (result,) = org.write("update", "Opportunity", [{"Id": deal, "Name": "x"}])
    assert result["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"


def test_all_or_none_rolls_back_every_write(org: SandboxOrg) -> None:
    before = org.records("Account")
    results = org.write(
        "update",
        "Account",
        [{"Id": ACCT, "Name": "Renamed"}, {"Id": PARTNER, "Bogus__c": 1}],
        all_or_none=True,
    )
    assert [r["success"] for r in results] == [False, False]
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert org.records("Account") == before


def test_all_or_none_rollback_of_creates_and_deletes(org: SandboxOrg) -> None:
    created = org.write("create", "Account", [{"Name": "a"}, {"Name": None}], all_or_none=True)
    assert [r["success"] for r in created] == [False, False]
    assert created[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert len(org.records("Account")) == 2
    deleted = org.delete_ids([ACCT, "bogus"], all_or_none=True)
    assert [r["success"] for r in deleted] == [False, False]
    assert org.get("Account", ACCT) is not None and not org.was_deleted(ACCT)


def test_upsert_by_external_id_and_uniqueness(org: SandboxOrg) -> None:
    task = {"RoE_Key__c": "k1", "Subject": "Violation", "WhatId": ACCT}
    (first,) = org.write("upsert", "Task", [task], external_id="RoE_Key__c")
    assert first["success"] and first["created"] is True
    (second,) = org.write(
        "upsert", "Task", [{**task, "Status": "Completed"}], external_id="RoE_Key__c"
    )
    assert second == {"id": first["id"], "success": True, "errors": [], "created": False}
    assert [t["IsClosed"] for t in org.records("Task")] == [True]
    (dupe,) = org.write("create", "Task", [{"RoE_Key__c": "k1", "Subject": "again"}])
    assert dupe["errors"][0]["statusCode"] == "DUPLICATE_VALUE"


def test_forced_record_faults(org: SandboxOrg) -> None:
    results = org.write(
        "update",
        "Account",
        [{"Id": ACCT, "Name": "a"}, {"Id": PARTNER, "Name": "b"}],
        forced=lambda rid: "UNABLE_TO_LOCK_ROW" if rid == PARTNER else None,
    )
    assert [r["success"] for r in results] == [True, False]
    assert results[1]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"


def test_clock_going_backwards_never_moves_stamps_back() -> None:
    moments = iter([FROZEN, FROZEN - timedelta(hours=1), FROZEN + timedelta(hours=2)])
    org = SandboxOrg(clock=lambda: next(moments))
    org.load({"Account": [{"Name": "a"}, {"Name": "b"}, {"Name": "c"}]})
    stamps = [a["SystemModstamp"] for a in org.records("Account")]
    assert stamps == sorted(stamps) and len(set(stamps)) == 2


def test_schema_matches_the_deployable_metadata() -> None:
    """Every custom field in mappings/salesforce is in the sandbox schema, with its type."""
    import xml.etree.ElementTree as ET

    root = Path(__file__).parents[2] / "mappings/salesforce/force-app/main/default/objects"
    ns = {"m": "http://soap.sforce.com/2006/04/metadata"}
    types = {"Checkbox": "boolean", "Lookup": "reference", "Text": "string",
             "Picklist": "picklist", "Date": "date", "Number": "double",
             "Percent": "percent", "Currency": "currency"}  # fmt: skip
    files = sorted(root.glob("*/fields/*.field-meta.xml"))
    assert len(files) >= 20
    for path in files:
        xml = ET.parse(path).getroot()
        name = xml.findtext("m:fullName", namespaces=ns)
        holders = ["Task"] if path.parts[-3] == "Activity" else [path.parts[-3]]
        for sobject in holders:
            field = SCHEMA[sobject].fields.get(str(name))
            assert field is not None, f"{sobject}.{name} ({path}) is missing from schema.py"
            assert field.type == types[str(xml.findtext("m:type", namespaces=ns))], name
            values = [v.text for v in xml.findall(".//m:value/m:fullName", ns)]
            assert list(field.picklist) == values, name
            if xml.findtext("m:externalId", namespaces=ns) == "true":
                assert field.external_id and field.unique, name
