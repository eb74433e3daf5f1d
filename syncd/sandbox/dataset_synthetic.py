"""Synthetic orgs of any size for scale tests and benchmarks: a realistic mix, seeded.

The shape follows what channel teams report: about one customer account per five deals, a
fifth of them named, a few global, a third with an incumbent partner, a quarter of the deals
registered by a partner, a little telesales. Every random choice comes from one
``random.Random(seed)``, drawn in a fixed order, so the same arguments give the same org.
Built for speed (100,000 deals in a few seconds): plain dicts, no per-record helpers that
allocate more than the record itself.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from syncd.sandbox.dataset_base import Dataset, Record, freeze
from syncd.sfid import make_id

_COUNTRIES = (
    ("US", 30), ("United States", 10), ("CA", 5), ("Canada", 2), ("MX", 2), ("DE", 8),
    ("Germany", 4), ("FR", 6), ("GB", 6), ("United Kingdom", 2), ("NL", 3), ("JP", 4),
    ("Japan", 1), ("AU", 3), ("SG", 2), ("BR", 3), ("IN", 2),
)  # fmt: skip
_PARTNER_NAMES = (
    "Northwind Solutions", "Contoso Partners", "Fabrikam Integration", "Tailspin Consulting",
    "Adventure Works IT", "Proseware Systems", "Litware Group", "Wingtip Networks",
    "Lucerne Technologies", "Fourth Coffee Digital", "Alpine Ski Cloud", "Bellows College IT",
)  # fmt: skip
_WORDS = (
    "Apex", "Blue", "Cedar", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Iris", "Juniper",
    "Kestrel", "Lumen", "Maple", "Nimbus", "Orbit", "Pioneer", "Quartz", "River", "Summit",
    "Titan", "Umber", "Vertex", "Willow", "Zenith",
)  # fmt: skip
_SUFFIXES = ("Labs", "Industries", "Holdings", "Systems", "Foods", "Logistics", "Health", "Bank")
_OPEN_STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote")


@dataclass(frozen=True)
class Mix:
    """The knobs of a synthetic org (shares are of accounts or of deals, as named)."""

    deals_per_account: int = 5
    partners: int = 10
    field_reps: int = 22  # the users who own most deals (benchmarks scale it with the org)
    named_share: float = 0.20  # of customer accounts
    global_share: float = 0.03  # of customer accounts
    incumbent_share: float = 0.30  # of customer accounts
    child_share: float = 0.05  # of customer accounts: children of an earlier named account
    registered_share: float = 0.25  # of deals
    telesales_share: float = 0.04  # of deals on partner-led accounts
    direct_rep_share: float = 0.15  # of deals on partner-led accounts: a field rep, no partner


@dataclass
class _Org:
    users: list[Record]
    accounts: list[Record]
    field_reps: list[str]
    partner_managers: list[str]
    telesales: list[str]
    partner_users: dict[str, str]  # partner account Id -> its portal user
    partner_ids: list[str]
    registrar: dict[str, str]  # customer account Id -> the partner that registers its deals


def _user(number: int, name: str, role: str | None, manager: str | None, **extra: Any) -> Record:
    return {
        "Id": make_id("005", number),
        "Name": name,
        "IsActive": extra.get("active", True),
        "UserType": extra.get("user_type", "Standard"),
        "ManagerId": manager,
        "AccountId": extra.get("account"),
        "RoE_Sales_Role__c": role,
    }


def _users(org: _Org, partner_ids: list[str], field_reps: int) -> None:
    """Ops, chief, a VP, managers (one inactive), reps, portal users: ~50 by default."""
    add = org.users.append
    add(_user(1, "Channel Operations", None, None))
    add(_user(2, "Channel Chief", None, None))
    vp = _user(3, "VP Sales", "Field Sales", None)
    add(vp)
    managers = [_user(4 + i, f"Sales Manager {i + 1}", "Field Sales", vp["Id"]) for i in range(4)]
    managers[-1]["IsActive"] = False  # a manager who left; reps keep pointing at them
    org.users.extend(managers)
    number = 8
    for i in range(field_reps):  # the last has no manager
        manager = managers[i % 4]["Id"] if i < field_reps - 1 else None
        add(_user(number, f"Field Rep {i + 1}", "Field Sales", manager))
        org.field_reps.append(org.users[-1]["Id"])
        number += 1
    for title, role, bucket in (
        ("Services Rep", "Services", org.field_reps),
        ("Telesales Rep", "Telesales", org.telesales),
        ("Partner Manager", "Partner Manager", org.partner_managers),
    ):
        for i in range(4):
            add(_user(number, f"{title} {i + 1}", role, vp["Id"]))
            bucket.append(org.users[-1]["Id"])
            number += 1
    for i, partner in enumerate(partner_ids):
        add(_user(number, f"Portal User {i + 1}", None, None, user_type="PowerPartner",
                  account=partner))  # fmt: skip
        org.partner_users[partner] = org.users[-1]["Id"]
        number += 1


def _account(number: int, name: str, country: str, owner: str) -> Record:
    return {
        "Id": make_id("001", number),
        "Name": name,
        "OwnerId": owner,
        "BillingCountry": country,
        "ParentId": None,
        "IsPartner": False,
        "RoE_Named_Account__c": False,
        "RoE_Global_Account__c": False,
        "RoE_Incumbent_Partner__c": None,
        "RoE_Resync_Requested__c": False,
    }


def _accounts(org: _Org, rng: random.Random, customers: int, mix: Mix) -> None:
    countries = [c for c, _ in _COUNTRIES]
    weights = [w for _, w in _COUNTRIES]
    named: list[str] = []
    for number, partner in enumerate(org.partner_ids, start=1):
        record = _account(number, _PARTNER_NAMES[(number - 1) % len(_PARTNER_NAMES)], "US",
                          org.partner_managers[number % len(org.partner_managers)])  # fmt: skip
        record["Id"], record["IsPartner"] = partner, True
        org.accounts.append(record)
    base = len(org.partner_ids) + 1
    for i in range(customers):
        name = f"{rng.choice(_WORDS)} {rng.choice(_SUFFIXES)} {i + 1}"
        record = _account(base + i, name, rng.choices(countries, weights)[0], "")
        roll = rng.random()
        if roll < mix.named_share:
            record["RoE_Named_Account__c"] = True
            named.append(record["Id"])
        elif roll < mix.named_share + mix.global_share:
            record["RoE_Global_Account__c"] = True
        elif named and roll < mix.named_share + mix.global_share + mix.child_share:
            record["ParentId"] = rng.choice(named)
        vendor_led = roll < mix.named_share + mix.global_share + mix.child_share
        owners = org.field_reps if vendor_led else org.partner_managers
        record["OwnerId"] = rng.choice(owners)
        registrar = rng.choice(org.partner_ids)
        if rng.random() < mix.incumbent_share:
            record["RoE_Incumbent_Partner__c"] = registrar
        org.registrar[record["Id"]] = registrar
        org.accounts.append(record)


def synthetic_dataset(
    n_opportunities: int, *, seed: int, today: date, mix: Mix | None = None
) -> Dataset:
    """An org of ``n_opportunities`` deals on about n/5 customer accounts, 10 partners and
    ~50 users; every output field empty, so a first cycle writes every evaluated record."""
    if n_opportunities < 0:
        raise ValueError(f"n_opportunities must be >= 0, got {n_opportunities}")
    mix = mix or Mix()
    rng = random.Random(seed)
    partners = [make_id("001", i) for i in range(1, mix.partners + 1)]
    org = _Org([], [], [], [], [], {}, partners, {})
    _users(org, partners, max(1, mix.field_reps))
    customers = max(1, n_opportunities // max(1, mix.deals_per_account))
    _accounts(org, rng, customers, mix)
    deals = _Deals(org, rng, today, mix)
    opportunities = [deals.make(i) for i in range(n_opportunities)]
    return Dataset(
        records=freeze({"User": org.users, "Account": org.accounts, "Opportunity": opportunities}),
        today=today,
    )


class _Deals:
    """Draws deals; the hot loop of a 100k-deal org, so it binds what it uses once."""

    def __init__(self, org: _Org, rng: random.Random, today: date, mix: Mix) -> None:
        self.org, self.rng, self.mix = org, rng, mix
        self.customers = org.accounts[len(org.partner_ids) :]
        self.days = [(today - timedelta(days=d)).isoformat() for d in range(0, 400)]
        self.future = [(today + timedelta(days=d)).isoformat() for d in range(0, 180)]

    def make(self, i: int) -> Record:
        rng, mix, org = self.rng, self.mix, self.org
        account = self.customers[rng.randrange(len(self.customers))]
        account_id = account["Id"]
        vendor_led = bool(
            account["RoE_Named_Account__c"] or account["RoE_Global_Account__c"]
            or account["ParentId"]
        )  # fmt: skip
        owner, partner, source = self._people(account, vendor_led)
        created = rng.randrange(1, 400)
        record: Record = {
            "Id": make_id("006", i + 1),
            "Name": f"{account['Name']} — deal {i + 1}",
            "AccountId": account_id,
            "OwnerId": owner,
            "Type": _type(rng.random()),
            "LeadSource": source,
            "Amount": float(rng.randrange(5, 900) * 1000),
            "CreatedDate": f"{self.days[created]}T{rng.randrange(7, 19):02d}:00:00.000+0000",
            "RoE_Partner__c": partner,
            "RoE_Registered_Partner__c": None,
            "RoE_Registration_Status__c": None,
            "RoE_Registration_Approved_Date__c": None,
            "RoE_Override__c": None,
            "RoE_Override_Reason__c": None,
            "RoE_Exception_Requested__c": rng.random() < 0.01,
        }
        record.update(self._stage(created))
        if rng.random() < mix.registered_share:
            self._register(record, org.registrar[account_id], created)
        return record

    def _people(self, account: Record, vendor_led: bool) -> tuple[str, str | None, str]:
        """Owner, partner on the deal, lead source."""
        rng, org, mix = self.rng, self.org, self.mix
        incumbent = account["RoE_Incumbent_Partner__c"]
        if vendor_led:
            return rng.choice(org.field_reps), incumbent if rng.random() < 0.5 else None, "Web"
        roll = rng.random()
        partner = incumbent or self.org.registrar[account["Id"]]
        if roll < mix.telesales_share:
            source = "Outbound Telesales" if rng.random() < 0.5 else "Inbound Call"
            return rng.choice(org.telesales), None, source
        if roll < mix.telesales_share + mix.direct_rep_share:
            return rng.choice(org.field_reps), None, "Web"
        if roll < mix.telesales_share + mix.direct_rep_share + 0.10:
            return org.partner_users[partner], None, "Partner Referral"
        return rng.choice(org.partner_managers), partner, "Partner Referral"

    def _stage(self, created: int) -> Record:
        roll = self.rng.random()
        if roll < 0.7:
            close = self.future[self.rng.randrange(1, 180)]
            return {"StageName": self.rng.choice(_OPEN_STAGES), "IsClosed": False,
                    "IsWon": False, "CloseDate": close}  # fmt: skip
        close = self.days[self.rng.randrange(0, created)]  # closed after it was created
        won = roll < 0.9
        return {"StageName": "Closed Won" if won else "Closed Lost", "IsClosed": True,
                "IsWon": won, "CloseDate": close}  # fmt: skip

    def _register(self, record: Record, registrar: str, created: int) -> None:
        rng = self.rng
        # now and then a second partner registers on the same account (a conflict)
        partner = registrar if rng.random() < 0.97 else rng.choice(self.org.partner_ids)
        roll = rng.random()
        record["RoE_Registered_Partner__c"] = partner
        record["RoE_Registration_Status__c"] = (
            "Approved" if roll < 0.85 else "Submitted" if roll < 0.95 else "Rejected"
        )
        if roll < 0.85:
            record["RoE_Registration_Approved_Date__c"] = self.days[rng.randrange(0, created)]


def _type(roll: float) -> str:
    if roll < 0.20:
        return "Renewal"
    if roll < 0.35:
        return "Existing Business - Upgrade"
    return "New Business"
