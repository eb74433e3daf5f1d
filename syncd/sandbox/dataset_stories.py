"""The demo org's deals: one per scenario family (the story), then seeded ordinary pipeline.

Story deals are keyed ("opp.story_displaced", ...) so landmarks can find them. Each one
changes the scenarios' base world only where its comment says, so its outcome under the
default rules follows from the scenario table alone.
"""

from __future__ import annotations

from typing import Any

from syncd.sandbox.dataset_base import (
    DANGLING_ACCOUNT_ID,
    GRANDFATHERED_CREATED,
    days_ago,
    sf_date,
    sf_datetime,
)
from syncd.sandbox.dataset_builder import Builder

# The story deal: a direct services rep closes a large deal a partner had registered.
STORY_AMOUNT = 480000.0


def _registration(b: Builder, partner: str, approved_days_ago: int) -> dict[str, Any]:
    return {
        "RoE_Registered_Partner__c": b.keys[partner],
        "RoE_Registration_Status__c": "Approved",
        "RoE_Registration_Approved_Date__c": sf_date(days_ago(b.today, approved_days_ago)),
    }


def _won(b: Builder, closed_days_ago: int) -> dict[str, Any]:
    return {
        "StageName": "Closed Won",
        "IsClosed": True,
        "IsWon": True,
        "CloseDate": sf_date(days_ago(b.today, closed_days_ago)),
    }


def _named_and_global(b: Builder) -> None:
    o = b.opportunity
    # S01 named account; carries stale wrong flags from some earlier tool, syncd corrects them.
    o("opp.named", "c.globex", "user.alice", Name="Globex — Platform Licenses",
      Amount=120000.0, RoE_Status__c="Violation", RoE_Expected_Lead__c="Partner",
      RoE_Comp_Eligible__c=False)  # fmt: skip
    # S22 child of a named parent, and a grandchild (named through two levels).
    o("opp.named_child", "c.globex_services", "user.bob", Name="Globex Services — Upgrade",
      Type="Existing Business - Upgrade")  # fmt: skip
    o("opp.named_grandchild", "c.globex_de", "user.alice", Name="Globex DE — Data Platform")
    # Named account whose incumbent partner is on the deal: vendor leads, partner protected.
    o("opp.named_incumbent", "c.initech", "user.alice", Name="Initech — Security Suite",
      RoE_Partner__c=b.keys["p.contoso"])  # fmt: skip
    # S07 named + approved registration + partner on the deal -> Joint, Compliant.
    o("opp.named_registered", "c.massive", "user.alice", Name="Massive Dynamic — Analytics",
      RoE_Partner__c=b.keys["p.northwind"], **_registration(b, "p.northwind", 20))  # fmt: skip
    # S08 the same registration protection, but the partner was dropped -> Violation.
    o("opp.named_registered_dropped", "c.massive", "user.bob", Name="Massive Dynamic — Edge",
      **_registration(b, "p.northwind", 18))  # fmt: skip
    # S06 named account, registration approved 120 days ago (expired) -> Direct, Compliant.
    o("opp.named_expired_reg", "c.vandelay", "user.alice", Name="Vandelay — Import Analytics",
      **_registration(b, "p.tailspin", 120))  # fmt: skip
    # S14 renewal on a named account -> Direct.
    o("opp.named_renewal", "c.vandelay", "user.alice", Name="Vandelay — Support Renewal",
      Type="Renewal")  # fmt: skip
    # S17 outbound telesales on a named account is fine.
    o("opp.named_telesales", "c.vandelay", "user.tina", Name="Vandelay — Training Bundle",
      LeadSource="Outbound Telesales", Amount=18000.0)  # fmt: skip
    # S10 global account, registered partner on the deal -> Joint, Compliant.
    o("opp.global_joint", "c.umbrella", "user.alice", Name="Umbrella — Lab Cloud",
      RoE_Partner__c=b.keys["p.fabrikam"], **_registration(b, "p.fabrikam", 15))  # fmt: skip
    # S11 global account, registered partner removed -> Violation (rep without a manager).
    o("opp.global_dropped", "c.umbrella", "user.dan", Name="Umbrella — Compliance Module",
      **_registration(b, "p.fabrikam", 12))  # fmt: skip
    # S12 global account without partners -> Direct.
    o("opp.global_direct", "c.oscorp", "user.alice", Name="Oscorp — Managed Services")


def _partner_led(b: Builder) -> None:
    o = b.opportunity
    partner = b.keys
    # Renewal follows the incumbent partner (Compliant); S13 without the partner (Violation).
    o("opp.incumbent_renewal", "c.acme", "user.paula", Name="Acme — Support Renewal",
      Type="Renewal", RoE_Partner__c=partner["p.northwind"])  # fmt: skip
    o("opp.incumbent_renewal_dropped", "c.acme", "user.bob", Name="Acme — Renewal (direct)",
      Type="Renewal")  # fmt: skip
    # S02 partner manager with a partner; carries a stale expected lead.
    o("opp.partner_default", "c.hooli", "user.paula", Name="Hooli — Cloud Migration",
      RoE_Partner__c=partner["p.fabrikam"], RoE_Expected_Lead__c="Direct")  # fmt: skip
    # S03 a direct field rep on a partner-led account, no partner.
    o("opp.direct_on_partner", "c.soylent", "user.bob", Name="Soylent — Analytics Add-on")
    # S04 registered by Northwind, no partner on the deal.
    o("opp.registered_dropped", "c.dunder", "user.alice", Name="Dunder Mifflin — Paper Cloud",
      **_registration(b, "p.northwind", 20))  # fmt: skip
    # S05 registered by Contoso, worked with Tailspin instead (rep's manager has left).
    o("opp.registered_replaced", "c.sterling", "user.carla", Name="Sterling Cooper — Media",
      RoE_Partner__c=partner["p.tailspin"], **_registration(b, "p.contoso", 20))  # fmt: skip
    # S09 two partners registered deals on one account: the first approved wins.
    o("opp.reg_conflict_loser", "c.nakatomi", "user.alice", Name="Nakatomi — Tower Network",
      RoE_Partner__c=partner["p.northwind"], **_registration(b, "p.northwind", 10))  # fmt: skip
    o("opp.reg_conflict_winner", "c.nakatomi", "user.pedro", Name="Nakatomi — Security",
      RoE_Partner__c=partner["p.contoso"], **_registration(b, "p.contoso", 15))  # fmt: skip
    # S27 a partner manager owns it but named no partner -> Review.
    o("opp.pam_no_partner", "c.pied", "user.pedro", Name="Pied Piper — Compression")
    # S28 a partner's own portal user owns it; already carries the right flags.
    o("opp.partner_user", "c.pied", "user.nora", Name="Pied Piper — Storage",
      RoE_Expected_Lead__c="Partner", RoE_Status__c="Compliant",
      RoE_Protected_Partner__c=partner["p.northwind"], RoE_Comp_Eligible__c=True)  # fmt: skip
    # S30 accounts that are each other's parent; a direct rep with no partner.
    o("opp.parent_cycle", "c.ouro_labs", "user.carla", Name="Ouroboros — Loop Detector")


def _telesales_and_admin(b: Builder) -> None:
    o = b.opportunity
    # S15 outbound telesales on a partner-led account -> Violation.
    o("opp.telesales_outbound", "c.cyberdyne", "user.tina", Name="Cyberdyne — Outbound Upsell",
      LeadSource="Outbound Telesales", Amount=35000.0)  # fmt: skip
    # S16 an inbound call with no partner yet -> Review.
    o("opp.telesales_inbound", "c.wonka", "user.tom", Name="Wonka — Inbound Enquiry",
      LeadSource="Inbound Call", Amount=12000.0)  # fmt: skip
    # S18 / S19 admin overrides, with and without a reason.
    o("opp.override", "c.duff", "user.alice", Name="Duff — Brewery IoT",
      RoE_Override__c="Direct", RoE_Override_Reason__c="CEO escalation #42")  # fmt: skip
    o("opp.override_no_reason", "c.duff", "user.alice", Name="Duff — Distribution",
      RoE_Override__c="Direct")  # fmt: skip
    # S26 the rep asks for an exception.
    o("opp.exception", "c.prestige", "user.dan", Name="Prestige Worldwide — Boats",
      RoE_Exception_Requested__c=True)  # fmt: skip


def _dates_and_edges(b: Builder) -> None:
    o = b.opportunity
    # S21 created before North America enforced the rules -> Advisory.
    o("opp.grandfathered", "c.bluth", "user.alice", Name="Bluth — Model Homes",
      CreatedDate=sf_datetime(GRANDFATHERED_CREATED))  # fmt: skip
    # S20 Japan (APAC) does not enforce before 2027-04-01 -> Advisory until then.
    o("opp.apac", "c.tyrell", "user.alice", Name="Tyrell — Replicant Analytics")
    # Germany (rest of world, enforcing from 2026-11-01), created ten days ago.
    o("opp.emea", "c.gringotts", "user.dan", Name="Gringotts — Vault Security",
      CreatedDate=sf_datetime(days_ago(b.today, 10)))  # fmt: skip
    # S23 a deal on a partner account is not evaluated; S24 neither is a lost deal.
    o("opp.on_partner_account", "p.northwind", "user.paula", Name="Northwind — Demo Licenses")
    o("opp.closed_lost", "c.soylent", "user.bob", Name="Soylent — Lost Pilot",
      StageName="Closed Lost", IsClosed=True, CloseDate=sf_date(days_ago(b.today, 7)))  # fmt: skip
    # S29 the account Id is well formed but not in the org.
    o("opp.dangling_account", DANGLING_ACCOUNT_ID, "user.alice", Name="Unknown — Orphan Deal")
    # The story: Sven (services) closed a big deal Northwind registered, without Northwind.
    o("opp.story_displaced", "c.wayne", "user.sven", Name="Wayne Enterprises — Batcave DC",
      Amount=STORY_AMOUNT, CreatedDate=sf_datetime(days_ago(b.today, 40)),
      **_won(b, 3), **_registration(b, "p.northwind", 25))  # fmt: skip


def add_stories(b: Builder) -> None:
    _named_and_global(b)
    _partner_led(b)
    _telesales_and_admin(b)
    _dates_and_edges(b)
