"""RoE_Scorecard__c rows from the known scorecard dataset (tests/unit/test_scorecard.py)."""

from __future__ import annotations

from pathlib import Path

from syncd.engine.period import parse_period
from syncd.engine.policy import load_policy
from syncd.sandbox.schema import SCORECARD
from syncd.service.publish import KEY_FIELD, scorecard_records
from syncd.sync.insight import build_report
from tests.unit.test_scorecard import ALICE, BOB, LEDGER, NOW, P1, RULES, world

METADATA = Path(__file__).resolve().parents[2] / (
    "mappings/salesforce/force-app/main/default/objects/RoE_Scorecard__c/fields"
)


def rows() -> dict[str, dict]:
    report = build_report(world(), LEDGER, load_policy(RULES), parse_period("2026-11", NOW), NOW)
    return {r[KEY_FIELD]: r for r in scorecard_records([report])}


def test_one_row_per_subject_keyed_by_period_dimension_and_subject() -> None:
    found = rows()
    assert sorted(k.rsplit("|", 1)[0] for k in found).count("2026-11|rep") == 3
    assert "2026-11|manager|(no manager)" in found and "2026-11|region|NA" in found
    bob = found[f"2026-11|rep|{BOB}"]
    assert bob == {
        KEY_FIELD: f"2026-11|rep|{BOB}", "Period__c": "2026-11", "Dimension__c": "rep",
        "Subject_Name__c": "Bob Chen", "User__c": BOB, "Account__c": None, "Region__c": None,
        "As_Of__c": "2026-11-30", "Compliance_Rate__c": 0.0, "Rank__c": 3, "Deals__c": 1,
        "Violations_Opened__c": 1, "Violations_Resolved__c": 1, "Violations_Open__c": 1,
        "Median_Days_To_Resolve__c": 41.0, "Comp_Withheld_Deals__c": 1,
        "Comp_Withheld_Amount__c": 250000.0, "Remedies_Owed__c": 1,
        "Remedies_Owed_Amount__c": 25000.0, "Protected_Deals__c": 1, "Pipeline_Direct__c": 0.0,
        "Pipeline_Partner__c": 0.0, "Pipeline_Joint__c": 0.0,
    }  # fmt: skip
    assert found[f"2026-11|rep|{ALICE}"]["Compliance_Rate__c"] == 50.0
    northwind = found[f"2026-11|partner|{P1}"]
    assert (northwind["Account__c"], northwind["User__c"]) == (P1, None)
    region = found["2026-11|region|(unknown)"]
    assert region["Region__c"] == "(unknown)" and region["Compliance_Rate__c"] is None


def test_every_field_written_is_in_the_package_and_the_sandbox() -> None:
    written = set(next(iter(rows().values())))
    shipped = {p.name.removesuffix(".field-meta.xml") for p in METADATA.glob("*.field-meta.xml")}
    assert written <= shipped, written - shipped
    assert written <= {f.name for f in SCORECARD}
