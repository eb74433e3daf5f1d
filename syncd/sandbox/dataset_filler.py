"""The demo org's ordinary pipeline: seeded deals around the story deals.

Filler deals are chosen so that they cannot change any story deal's outcome: no filler
deal is registered on an account where a story deal is registered (so no new
registration conflicts), and Bob (the rep with exactly three violations) owns none.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from syncd.sandbox.dataset_base import days_ago, sf_date, sf_datetime
from syncd.sandbox.dataset_builder import Builder

FILLER_DEALS = 65

_OPEN_STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote")
_PRODUCTS = (
    "Platform Licenses",
    "Cloud Migration",
    "Analytics Add-on",
    "Security Suite",
    "Managed Services",
    "Data Platform Expansion",
    "Edge Devices",
    "Training Bundle",
)
_NAMED = ("c.globex", "c.globex_services", "c.ingen", "c.zorg", "c.vandelay")
_DIRECT_REPS = ("user.alice", "user.dan", "user.sven")
# partner-led account -> its incumbent partner (None: any partner may work it)
_PARTNER_LED = {
    "c.acme": "p.northwind",
    "c.aperture": "p.fabrikam",
    "c.monarch": "p.tailspin",
    "c.hooli": None,
    "c.lacroix": None,
    "c.mann": None,
    "c.kwik": None,
}
_PARTNERS = ("p.northwind", "p.contoso", "p.fabrikam", "p.tailspin")
_PARTNER_MANAGERS = ("user.paula", "user.pedro")

Deal = tuple[str, str, dict[str, Any]]  # account key, owner key, fields


def _named_direct(b: Builder, rng: random.Random) -> Deal:
    fields = {"Type": rng.choice(("New Business", "Existing Business - Upgrade", "Renewal"))}
    fields["LeadSource"] = rng.choice(("Web", "Trade Show", "Customer Referral"))
    return rng.choice(_NAMED), rng.choice(_DIRECT_REPS), fields


def _partner_deal(b: Builder, rng: random.Random) -> Deal:
    account = rng.choice(sorted(_PARTNER_LED))
    partner = _PARTNER_LED[account] or rng.choice(_PARTNERS)
    fields = {"RoE_Partner__c": b.keys[partner], "LeadSource": "Partner Referral"}
    return account, rng.choice(_PARTNER_MANAGERS), fields


def _incumbent_renewal(b: Builder, rng: random.Random) -> Deal:
    account = rng.choice(("c.acme", "c.aperture", "c.monarch"))
    partner = _PARTNER_LED[account]
    assert partner is not None
    fields = {"Type": "Renewal", "RoE_Partner__c": b.keys[partner], "LeadSource": "Existing"}
    return account, rng.choice(_PARTNER_MANAGERS), fields


def _registered(b: Builder, rng: random.Random) -> Deal:
    # Only the incumbent registers on these accounts, so registrations never conflict.
    account = rng.choice(("c.aperture", "c.monarch"))
    partner = b.keys[_PARTNER_LED[account] or ""]
    fields = {
        "RoE_Partner__c": partner,
        "RoE_Registered_Partner__c": partner,
        "RoE_Registration_Status__c": rng.choice(("Approved", "Approved", "Submitted")),
        "RoE_Registration_Approved_Date__c": sf_date(days_ago(b.today, rng.randrange(3, 150))),
        "LeadSource": "Partner Referral",
    }
    return account, rng.choice(_PARTNER_MANAGERS), fields


def _portal_user(b: Builder, rng: random.Random) -> Deal:
    return rng.choice(("c.acme", "c.hooli", "c.pied", "c.lacroix")), "user.nora", {}


def _direct_violation(b: Builder, rng: random.Random) -> Deal:
    # Carla (inactive manager) and Dan (no manager) break the rules now and then.
    account = rng.choice(("c.kwik", "c.mann", "c.lacroix"))
    return account, rng.choice(("user.carla", "user.dan")), {"LeadSource": "Web"}


def _inbound_with_partner(b: Builder, rng: random.Random) -> Deal:
    fields = {"LeadSource": "Inbound Call", "RoE_Partner__c": b.keys[rng.choice(_PARTNERS)]}
    return rng.choice(("c.wonka", "c.hooli")), "user.tom", fields


def _global_joint(b: Builder, rng: random.Random) -> Deal:
    return "c.stark", "user.alice", {"RoE_Partner__c": b.keys["p.tailspin"]}


# pattern, weight: most pipeline is compliant partner and direct business
_PATTERNS: tuple[tuple[Callable[[Builder, random.Random], Deal], int], ...] = (
    (_named_direct, 14),
    (_partner_deal, 18),
    (_incumbent_renewal, 8),
    (_registered, 8),
    (_portal_user, 5),
    (_direct_violation, 5),
    (_inbound_with_partner, 3),
    (_global_joint, 3),
)


def _stage(b: Builder, rng: random.Random, created: date) -> dict[str, Any]:
    roll = rng.random()
    if roll >= 0.25:
        return {"StageName": rng.choice(_OPEN_STAGES)}
    # a closed deal closed after it was created, and not in the future
    closed = min(created + timedelta(days=rng.randrange(10, 120)), days_ago(b.today, 1))
    if roll < 0.15:
        return {"StageName": "Closed Won", "IsClosed": True, "IsWon": True,
                "CloseDate": sf_date(closed)}  # fmt: skip
    return {"StageName": "Closed Lost", "IsClosed": True, "CloseDate": sf_date(closed)}


def add_filler(b: Builder, rng: random.Random, count: int = FILLER_DEALS) -> None:
    patterns = [p for p, _ in _PATTERNS]
    weights = [w for _, w in _PATTERNS]
    for _ in range(count):
        pattern = rng.choices(patterns, weights)[0]
        account, owner, fields = pattern(b, rng)
        product = rng.choice(_PRODUCTS)
        company = b.record("Account", account)["Name"]
        created = days_ago(b.today, rng.randrange(5, 200))
        fields.update(_stage(b, rng, created))
        fields.setdefault("Name", f"{company} — {product}")
        fields["Amount"] = float(rng.randrange(8, 450) * 1000)
        fields["CreatedDate"] = sf_datetime(created, rng.randrange(7, 19), rng.randrange(60))
        b.opportunity(None, account, owner, **fields)
