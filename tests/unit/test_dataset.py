"""The demo org and synthetic orgs: deterministic, well-formed, and telling the story."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from syncd.sandbox.dataset import (
    DEMO_CHANNEL_CHIEF_ID,
    DEMO_CHANNEL_OPS_ID,
    Dataset,
    demo_dataset,
    demo_landmarks,
    synthetic_dataset,
)
from syncd.sandbox.dataset_base import DANGLING_ACCOUNT_ID, enforcement_date
from syncd.sfid import is_valid
from syncd.sync.mapping import load_mapping, to_account, to_opportunity, to_user

TODAY = date(2026, 11, 23)
MAPPING = Path(__file__).resolve().parents[2] / "mappings" / "default.yaml"
ROLES = {"Field Sales", "Services", "Telesales", "Call Center", "Partner Manager", None}
# field -> the sobject its Id must point at
REFERENCES = {
    ("Opportunity", "AccountId"): "Account",
    ("Opportunity", "OwnerId"): "User",
    ("Opportunity", "RoE_Partner__c"): "Account",
    ("Opportunity", "RoE_Registered_Partner__c"): "Account",
    ("Opportunity", "RoE_Protected_Partner__c"): "Account",
    ("Account", "OwnerId"): "User",
    ("Account", "ParentId"): "Account",
    ("Account", "RoE_Incumbent_Partner__c"): "Account",
    ("Account", "RoE_Lead_Partner__c"): "Account",
    ("User", "ManagerId"): "User",
    ("User", "AccountId"): "Account",
}
PARTNER_REFERENCES = {
    "RoE_Partner__c",
    "RoE_Registered_Partner__c",
    "RoE_Protected_Partner__c",
    "RoE_Incumbent_Partner__c",
    "RoE_Lead_Partner__c",
}


@pytest.fixture(scope="module")
def demo() -> Dataset:
    return demo_dataset(TODAY)


def dangling(ds: Dataset) -> list[tuple[str, str, str]]:
    """(sobject, field, value) of every reference that points at no record of the right kind."""
    ids = {sobject: set(ds.by_id(sobject)) for sobject in ds.records}
    partners = {r["Id"] for r in ds.records["Account"] if r["IsPartner"]}
    found = []
    for (sobject, name), target in REFERENCES.items():
        for record in ds.records.get(sobject, ()):
            value = record.get(name)
            if value is None:
                continue
            if value not in ids.get(target, ()):
                found.append((sobject, name, value))
            elif name in PARTNER_REFERENCES and value not in partners:
                found.append((sobject, name, f"{value} is not a partner account"))
    return found


def all_ids(ds: Dataset) -> Iterator[str]:
    for records in ds.records.values():
        for record in records:
            yield record["Id"]


# -- demo: shape ---------------------------------------------------------------------------


def test_demo_is_deterministic_for_a_day() -> None:
    assert demo_dataset(TODAY) == demo_dataset(TODAY)


def test_demo_keeps_its_ids_but_moves_its_dates_with_the_day(demo: Dataset) -> None:
    later = demo_dataset(date(2027, 2, 1))
    assert list(all_ids(later)) == list(all_ids(demo))
    assert later.records["Opportunity"] != demo.records["Opportunity"]


def test_every_id_is_a_valid_unique_18_char_id(demo: Dataset) -> None:
    ids = list(all_ids(demo))
    assert all(len(i) == 18 and is_valid(i) for i in ids)
    assert len(ids) == len(set(ids))


def test_every_reference_resolves_except_the_deliberate_dangling_account(demo: Dataset) -> None:
    assert dangling(demo) == [("Opportunity", "AccountId", DANGLING_ACCOUNT_ID)]
    assert is_valid(DANGLING_ACCOUNT_ID)


def test_demo_counts(demo: Dataset) -> None:
    accounts = demo.records["Account"]
    assert sum(1 for a in accounts if a["IsPartner"]) == 4
    assert 28 <= sum(1 for a in accounts if not a["IsPartner"]) <= 35
    assert 95 <= demo.count("Opportunity") <= 105
    assert 10 <= demo.count("User") <= 30


def test_demo_cast_of_users(demo: Dataset) -> None:
    users = demo.by_id("User")
    assert users[DEMO_CHANNEL_OPS_ID]["Name"].startswith("Priya")
    assert users[DEMO_CHANNEL_CHIEF_ID]["Name"].startswith("Marcus")
    assert {u["RoE_Sales_Role__c"] for u in users.values()} <= ROLES
    roles = Counter(u["RoE_Sales_Role__c"] for u in users.values())
    assert roles["Services"] >= 1 and roles["Partner Manager"] >= 2
    assert roles["Telesales"] + roles["Call Center"] >= 2
    inactive = {i for i, u in users.items() if not u["IsActive"]}
    assert any(u["ManagerId"] in inactive for u in users.values()), "a rep whose manager left"
    assert any(
        u["RoE_Sales_Role__c"] == "Field Sales" and u["ManagerId"] is None and u["IsActive"]
        for u in users.values()
    ), "a field rep without a manager"
    (portal,) = [u for u in users.values() if u["UserType"] == "PowerPartner"]
    assert demo.by_id("Account")[portal["AccountId"]]["IsPartner"] is True


def test_demo_accounts_cover_the_account_shapes(demo: Dataset) -> None:
    accounts = demo.by_id("Account")
    customers = [a for a in accounts.values() if not a["IsPartner"]]
    countries = {a["BillingCountry"] for a in customers}
    assert {"US", "United States", "DE", "Germany", "Japan"} <= countries
    grandchild = accounts[demo.id("c.globex_de")]
    parent = accounts[grandchild["ParentId"]]
    assert accounts[parent["ParentId"]]["RoE_Named_Account__c"] is True
    assert any(a["RoE_Global_Account__c"] for a in customers)
    assert any(a["RoE_Incumbent_Partner__c"] for a in customers)
    labs, holdings = accounts[demo.id("c.ouro_labs")], accounts[demo.id("c.ouro_hq")]
    assert labs["ParentId"] == holdings["Id"] and holdings["ParentId"] == labs["Id"]
    assert not any(a["RoE_Resync_Requested__c"] for a in customers)


def test_values_have_salesforce_json_forms(demo: Dataset) -> None:
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0000$")
    for opp in demo.records["Opportunity"]:
        assert stamp.match(opp["CreatedDate"]), opp["CreatedDate"]
        assert date.fromisoformat(opp["CloseDate"])
        assert isinstance(opp["Amount"], float) and isinstance(opp["IsClosed"], bool)
        assert opp["IsWon"] is False or opp["IsClosed"] is True


def test_records_read_cleanly_through_the_default_mapping(demo: Dataset) -> None:
    """No defects: every field name exists in the mapping and every value has its type."""
    mapping = load_mapping(MAPPING)
    readers: dict[str, Any] = {
        "Account": (to_account, mapping.account_fields()),
        "Opportunity": (to_opportunity, mapping.opportunity_fields()),
        "User": (to_user, mapping.user_fields()),
    }
    for sobject, (read, fields) in readers.items():
        for record in demo.records[sobject]:
            assert set(record) <= set(fields), (sobject, set(record) - set(fields))
            assert read(record, mapping).defects == (), record["Id"]


def test_output_fields_start_empty_except_a_handful(demo: Dataset) -> None:
    preset = [o for o in demo.records["Opportunity"] if o.get("RoE_Status__c") is not None]
    assert 1 <= len(preset) <= 5
    accounts = [a for a in demo.records["Account"] if a.get("RoE_Engagement_Lead__c")]
    assert 1 <= len(accounts) <= 5


def test_registrations_are_dated_relative_to_today(demo: Dataset) -> None:
    opps = demo.by_id("Opportunity")
    fresh = opps[demo.id("opp.registered_dropped")]["RoE_Registration_Approved_Date__c"]
    stale = opps[demo.id("opp.named_expired_reg")]["RoE_Registration_Approved_Date__c"]
    assert (TODAY - date.fromisoformat(fresh)).days == 20
    assert (TODAY - date.fromisoformat(stale)).days == 120
    grandfathered = opps[demo.id("opp.grandfathered")]["CreatedDate"]
    assert datetime.fromisoformat(grandfathered).date() < date(2026, 7, 20)


def test_every_scenario_family_has_a_deal(demo: Dataset) -> None:
    opps = demo.records["Opportunity"]
    sources = Counter(o["LeadSource"] for o in opps)
    assert sources["Outbound Telesales"] >= 2 and sources["Inbound Call"] >= 1
    assert any(o["RoE_Override__c"] and o["RoE_Override_Reason__c"] for o in opps)
    assert any(o["RoE_Override__c"] and not o["RoE_Override_Reason__c"] for o in opps)
    assert any(o["RoE_Exception_Requested__c"] for o in opps)
    assert any(o["Type"] == "Renewal" for o in opps)
    assert any(o["StageName"] == "Closed Lost" for o in opps)
    assert {o["RoE_Registration_Status__c"] for o in opps} >= {"Approved", "Submitted"}


# -- demo: landmarks ----------------------------------------------------------------------


def test_landmarks_point_at_records_of_the_dataset(demo: Dataset) -> None:
    marks = demo_landmarks(demo)
    assert len(marks) >= 12
    for name, mark in marks.items():
        assert mark.id in demo.by_id(mark.sobject), name
        assert mark.expected, name


def test_story_deal_is_a_violation_with_a_referral_fee(demo: Dataset) -> None:
    story = demo_landmarks(demo)["story: registered deal taken by services"]
    opp = demo.by_id("Opportunity")[story.id]
    owner = demo.by_id("User")[opp["OwnerId"]]
    assert owner["RoE_Sales_Role__c"] == "Services"
    assert opp["Amount"] == 480000 and opp["IsWon"] is True and opp["RoE_Partner__c"] is None
    assert story.expected == {
        "RoE_Status__c": "Violation",
        "RoE_Expected_Lead__c": "Partner",
        "RoE_Protected_Partner__c": opp["RoE_Registered_Partner__c"],
        "RoE_Comp_Eligible__c": False,
        "RoE_Remedy__c": "referral fee 48000.00 to Northwind Solutions",
    }


def test_one_rep_has_exactly_three_violations(demo: Dataset) -> None:
    opps, users = demo.by_id("Opportunity"), demo.by_id("User")
    owners = Counter(
        users[opps[m.id]["OwnerId"]]["Name"]
        for m in demo_landmarks(demo).values()
        if m.expected.get("RoE_Status__c") == "Violation"
    )
    assert owners["Bob Chen"] == 3


@pytest.mark.parametrize(
    ("today", "status"),
    [(TODAY, "Advisory"), (date(2027, 3, 31), "Advisory"), (date(2027, 6, 1), "Violation")],
)
def test_apac_landmark_follows_the_enforcement_date(today: date, status: str) -> None:
    mark = demo_landmarks(demo_dataset(today))["S20 APAC not yet enforcing"]
    assert mark.expected["RoE_Status__c"] == status
    assert mark.expected["RoE_Comp_Eligible__c"] is (status == "Advisory")


def test_grandfathered_stays_advisory_on_any_later_day() -> None:
    for today in (TODAY, date(2028, 1, 1)):
        mark = demo_landmarks(demo_dataset(today))["S21 grandfathered"]
        assert mark.expected["RoE_Status__c"] == "Advisory"


def test_enforcement_dates_take_codes_and_names() -> None:
    assert enforcement_date("US") == enforcement_date("united states") == date(2026, 7, 20)
    assert enforcement_date("Japan") == enforcement_date("JP") == date(2027, 4, 1)
    assert enforcement_date("Germany") == enforcement_date(None) == date(2026, 11, 1)


def test_landmarks_need_the_day() -> None:
    with pytest.raises(ValueError, match="today"):
        demo_landmarks(Dataset(records=demo_dataset(TODAY).records))


# -- synthetic ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic() -> Dataset:
    return synthetic_dataset(5000, seed=11, today=TODAY)


def test_synthetic_counts(synthetic: Dataset) -> None:
    accounts = synthetic.records["Account"]
    assert synthetic.count("Opportunity") == 5000
    assert sum(1 for a in accounts if a["IsPartner"]) == 10
    assert sum(1 for a in accounts if not a["IsPartner"]) == 1000
    assert 40 <= synthetic.count("User") <= 60


def test_synthetic_is_deterministic_per_seed(synthetic: Dataset) -> None:
    assert synthetic_dataset(5000, seed=11, today=TODAY) == synthetic
    assert synthetic_dataset(5000, seed=12, today=TODAY) != synthetic


def test_synthetic_is_well_formed(synthetic: Dataset) -> None:
    ids = list(all_ids(synthetic))
    assert len(ids) == len(set(ids)) and all(is_valid(i) for i in ids)
    assert dangling(synthetic) == []
    mapping = load_mapping(MAPPING)
    for record in synthetic.records["Opportunity"][:500]:
        assert to_opportunity(record, mapping).defects == ()


def share(records: list[Mapping[str, Any]], test: Any) -> float:
    return sum(1 for r in records if test(r)) / len(records)


def test_synthetic_mix_is_realistic(synthetic: Dataset) -> None:
    customers = [a for a in synthetic.records["Account"] if not a["IsPartner"]]
    opps = list(synthetic.records["Opportunity"])
    assert 0.15 <= share(customers, lambda a: a["RoE_Named_Account__c"]) <= 0.25
    assert 0.01 <= share(customers, lambda a: a["RoE_Global_Account__c"]) <= 0.06
    assert 0.22 <= share(customers, lambda a: a["RoE_Incumbent_Partner__c"]) <= 0.38
    assert 0.20 <= share(opps, lambda o: o["RoE_Registered_Partner__c"]) <= 0.30
    assert 0.005 <= share(opps, lambda o: o["LeadSource"] == "Outbound Telesales") <= 0.05
    # the scale test needs most deals evaluated (closed-lost ones are not)
    assert share(opps, lambda o: o["IsClosed"] and not o["IsWon"]) <= 0.15


def test_synthetic_builds_100k_deals_quickly() -> None:
    started = time.perf_counter()
    big = synthetic_dataset(100_000, seed=1, today=TODAY)
    assert big.count("Opportunity") == 100_000
    assert time.perf_counter() - started < 10


def test_synthetic_rejects_a_negative_size() -> None:
    with pytest.raises(ValueError, match="n_opportunities"):
        synthetic_dataset(-1, seed=1, today=TODAY)


# -- the engine agrees (skipped until the engine and the default rules file exist) ---------


def test_engine_decides_what_the_landmarks_expect(demo: Dataset) -> None:
    """Landmarks were written from the scenario table; the engine must reach them too."""
    engine = pytest.importorskip("syncd.engine.evaluate")
    policy_module = pytest.importorskip("syncd.engine.policy")
    rules = MAPPING.parents[1] / "config" / "rules.yaml"
    if not rules.exists():
        pytest.skip("config/rules.yaml not written yet")
    from syncd.engine.domain import Snapshot
    from syncd.sync.mapping import account_values, opportunity_values

    mapping = load_mapping(MAPPING)
    snapshot = Snapshot(
        accounts={a.id: a for a in (to_account(r, mapping) for r in demo.records["Account"])},
        opportunities={
            o.id: o for o in (to_opportunity(r, mapping) for r in demo.records["Opportunity"])
        },
        users={u.id: u for u in (to_user(r, mapping) for r in demo.records["User"])},
    )
    now = datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC)
    decisions = engine.evaluate(snapshot, policy_module.load_policy(rules), now)
    wrong = {}
    for name, mark in demo_landmarks(demo).items():
        record = demo.by_id(mark.sobject)[mark.id]
        if mark.sobject == "Account" and mark.id in decisions.accounts:
            values = account_values(decisions.accounts[mark.id], mapping)
        elif mark.sobject == "Opportunity" and mark.id in decisions.opportunities:
            values = opportunity_values(decisions.opportunities[mark.id], mapping)
        else:
            values = {}  # not evaluated: nothing is written
        actual = {f: values.get(f, record.get(f)) for f in mark.expected}
        if actual != dict(mark.expected):
            wrong[name] = (actual, dict(mark.expected))
    assert not wrong, wrong
