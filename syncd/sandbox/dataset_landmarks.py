"""Landmarks: demo records whose flags after one cycle follow from the scenario table.

Written from the rules' meaning, not by running the engine, so they are an independent
check of it. Only fields whose value is certain are listed (leads, status, protected
partner, compensation, remedy) — never the free-text reason. Where a verdict depends on
the region's enforcement date (a violation is Advisory before it), the expectation is
computed from the dataset's own ``today``, the deal's CreatedDate and the account's
BillingCountry, so the landmarks hold on any day the demo is built for.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from syncd.sandbox.dataset_base import REFERRAL_FEE_PERCENT, Dataset, Landmark, is_enforced

LEAD = "RoE_Expected_Lead__c"
STATUS = "RoE_Status__c"
PROTECTED = "RoE_Protected_Partner__c"
COMP = "RoE_Comp_Eligible__c"
REMEDY = "RoE_Remedy__c"
ACCOUNT_LEAD = "RoE_Engagement_Lead__c"
ACCOUNT_PARTNER = "RoE_Lead_Partner__c"


class _Expect:
    """Builds expectations for one dataset (resolves keys, knows the day)."""

    def __init__(self, dataset: Dataset) -> None:
        if dataset.today is None:
            raise ValueError("landmarks need the day the dataset was built for (Dataset.today)")
        self.ds = dataset
        self.today: date = dataset.today
        self.accounts = dataset.by_id("Account")
        self.opportunities = dataset.by_id("Opportunity")

    def partner(self, key: str | None) -> str | None:
        return None if key is None else self.ds.id(key)

    def account(self, key: str, lead: str, partner: str | None = None) -> Landmark:
        expected = {ACCOUNT_LEAD: lead, ACCOUNT_PARTNER: self.partner(partner)}
        return Landmark("Account", self.ds.id(key), expected)

    def compliant(self, key: str, lead: str, protected: str | None = None) -> Landmark:
        expected = {STATUS: "Compliant", LEAD: lead, PROTECTED: self.partner(protected)}
        return Landmark("Opportunity", self.ds.id(key), {**expected, COMP: True, REMEDY: None})

    def violation(self, key: str, lead: str, protected: str | None = None) -> Landmark:
        """A broken rule: Violation (comp held) once enforced, Advisory (comp kept) before."""
        opp = self.opportunities[self.ds.id(key)]
        enforced = self._enforced(opp)
        expected: dict[str, Any] = {
            STATUS: "Violation" if enforced else "Advisory",
            LEAD: lead,
            PROTECTED: self.partner(protected),
            COMP: not enforced,
            REMEDY: self._remedy(opp, protected) if enforced else None,
        }
        return Landmark("Opportunity", self.ds.id(key), expected)

    def status(self, key: str, status: str | None, lead: str | None) -> Landmark:
        """Review / Exempt / not evaluated (None): only the flag and the lead are certain."""
        return Landmark("Opportunity", self.ds.id(key), {STATUS: status, LEAD: lead})

    def _enforced(self, opp: Mapping[str, Any]) -> bool:
        account = self.accounts.get(opp["AccountId"], {})
        created = datetime.fromisoformat(opp["CreatedDate"]).date()
        return is_enforced(account.get("BillingCountry"), created, self.today)

    def _remedy(self, opp: Mapping[str, Any], protected: str | None) -> str | None:
        if protected is None or not (opp["IsClosed"] and opp["IsWon"]):
            return None
        fee = Decimal(str(opp["Amount"])) * REFERRAL_FEE_PERCENT / 100
        name = self.accounts[self.ds.id(protected)]["Name"]
        return f"referral fee {fee:.2f} to {name}"


# name, account key, lead, lead partner key
_ACCOUNTS: tuple[tuple[str, str, str, str | None], ...] = (
    ("named account leads direct", "c.globex", "Direct", None),
    ("child of a named parent is direct", "c.globex_services", "Direct", None),
    ("grandchild of a named account is direct", "c.globex_de", "Direct", None),
    ("named account keeps its incumbent", "c.initech", "Direct", "p.contoso"),
    ("global account leads direct", "c.umbrella", "Direct", None),
    ("partner-led account with incumbent", "c.acme", "Partner", "p.northwind"),
    ("partner-led account without incumbent", "c.hooli", "Partner", None),
    ("S30 parent cycle does not crash", "c.ouro_labs", "Partner", None),
)

# name, kind, opportunity key, expected lead, protected partner key
_DEALS: tuple[tuple[str, str, str, str | None, str | None], ...] = (
    # vendor-led
    ("S01 named account", "compliant", "opp.named", "Direct", None),
    ("S22 child of a named account", "compliant", "opp.named_child", "Direct", None),
    ("S22 grandchild of a named account", "compliant", "opp.named_grandchild", "Direct", None),
    ("S14 renewal on a named account", "compliant", "opp.named_renewal", "Direct", None),
    ("S17 outbound telesales, named", "compliant", "opp.named_telesales", "Direct", None),
    ("S06 expired registration, named", "compliant", "opp.named_expired_reg", "Direct", None),
    ("S12 global account, no partner", "compliant", "opp.global_direct", "Direct", None),
    # joint
    ("named, incumbent on the deal", "compliant", "opp.named_incumbent", "Joint", "p.contoso"),
    ("S07 registered, named", "compliant", "opp.named_registered", "Joint", "p.northwind"),
    ("S08 registered dropped, named", "violation", "opp.named_registered_dropped", "Joint",
     "p.northwind"),
    ("S10 global, registered partner", "compliant", "opp.global_joint", "Joint", "p.fabrikam"),
    ("S11 global, partner dropped", "violation", "opp.global_dropped", "Joint", "p.fabrikam"),
    # partner-led
    ("S02 partner manager with partner", "compliant", "opp.partner_default", "Partner",
     "p.fabrikam"),
    ("renewal with the incumbent", "compliant", "opp.incumbent_renewal", "Partner",
     "p.northwind"),
    ("S13 renewal without the incumbent", "violation", "opp.incumbent_renewal_dropped",
     "Partner", "p.northwind"),
    ("S28 partner portal user", "compliant", "opp.partner_user", "Partner", "p.northwind"),
    ("S03 direct rep on a partner-led account", "violation", "opp.direct_on_partner",
     "Partner", None),
    ("S04 registered partner displaced", "violation", "opp.registered_dropped", "Partner",
     "p.northwind"),
    ("S05 registered partner replaced", "violation", "opp.registered_replaced", "Partner",
     "p.contoso"),
    ("S09 first approved wins", "compliant", "opp.reg_conflict_winner", "Partner", "p.contoso"),
    ("S09 later registration reviewed", "Review", "opp.reg_conflict_loser", "Partner", None),
    ("S27 partner manager, no partner", "Review", "opp.pam_no_partner", "Partner", None),
    ("S30 deal on a parent cycle", "violation", "opp.parent_cycle", "Partner", None),
    # telesales, admins, reps
    ("S15 outbound telesales, partner-led", "violation", "opp.telesales_outbound", "Partner",
     None),
    ("S16 inbound telesales, no partner", "Review", "opp.telesales_inbound", "Partner", None),
    ("S18 override with a reason", "Exempt", "opp.override", "Direct", None),
    ("S19 override without a reason", "Review", "opp.override_no_reason", "Partner", None),
    ("S26 exception requested", "Review", "opp.exception", "Partner", None),
    # dates and regions
    ("S21 grandfathered", "violation", "opp.grandfathered", "Partner", None),
    ("S20 APAC not yet enforcing", "violation", "opp.apac", "Partner", None),
    ("EMEA after enforcement", "violation", "opp.emea", "Partner", None),
    # edges: not evaluated (no flag written) and an account syncd cannot see
    ("S23 deal on a partner account", "not evaluated", "opp.on_partner_account", None, None),
    ("S24 closed-lost deal", "not evaluated", "opp.closed_lost", None, None),
    ("S29 account missing", "Review", "opp.dangling_account", None, None),
    # the story: a services rep closed a deal Northwind registered, without Northwind
    ("story: registered deal taken by services", "violation", "opp.story_displaced",
     "Partner", "p.northwind"),
)  # fmt: skip


def _deal(x: _Expect, kind: str, key: str, lead: str | None, protected: str | None) -> Landmark:
    if kind == "compliant":
        return x.compliant(key, lead or "", protected)
    if kind == "violation":
        return x.violation(key, lead or "", protected)
    return x.status(key, None if kind == "not evaluated" else kind, lead)


def demo_landmarks(dataset: Dataset) -> dict[str, Landmark]:
    """Named landmarks of the demo story -> the values syncd must have written after a cycle."""
    x = _Expect(dataset)
    marks = {name: x.account(key, lead, partner) for name, key, lead, partner in _ACCOUNTS}
    for name, kind, key, lead, protected in _DEALS:
        marks[name] = _deal(x, kind, key, lead, protected)
    return marks
