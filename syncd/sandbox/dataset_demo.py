"""The demo org: a vendor's sales team, four partners and ~30 customers that tell the story.

Every scenario family of /work/shared/rules-scenarios.md has at least one deal here (see the
``S..`` comments); the landmarks in ``dataset_landmarks`` name the ones whose outcome is
known in advance. The rest of the ~100 deals is ordinary pipeline, drawn from a seeded
``random.Random`` so the org looks lived-in yet is identical on every build for a given day.
"""

from __future__ import annotations

import random
from datetime import date

from syncd.sandbox.dataset_base import Dataset, Record, freeze
from syncd.sandbox.dataset_builder import Builder
from syncd.sandbox.dataset_filler import add_filler
from syncd.sandbox.dataset_stories import add_stories
from syncd.sfid import make_id

DEMO_SEED = 20261101
# Channel operations and the channel chief are the first two users the demo creates.
DEMO_CHANNEL_OPS_ID = make_id("005", 1)
DEMO_CHANNEL_CHIEF_ID = make_id("005", 2)

# key, name, RoE_Sales_Role__c, manager key, IsActive, UserType, partner account key
_USERS: tuple[tuple[str, str, str | None, str | None, bool, str, str | None], ...] = (
    ("user.ops", "Priya Raman (Channel Operations)", None, None, True, "Standard", None),
    ("user.chief", "Marcus Bell (Chief Channel Officer)", None, None, True, "Standard", None),
    ("user.admin", "Sam Okafor (Salesforce Admin)", None, None, True, "Standard", None),
    ("user.vp", "Victoria Hale (VP Sales)", "Field Sales", None, True, "Standard", None),
    ("user.old_mgr", "Gordon Pike (left)", "Field Sales", "user.vp", False, "Standard", None),
    ("user.alice", "Alice Moreno", "Field Sales", "user.vp", True, "Standard", None),
    ("user.bob", "Bob Chen", "Field Sales", "user.vp", True, "Standard", None),
    ("user.carla", "Carla Diaz", "Field Sales", "user.old_mgr", True, "Standard", None),
    ("user.dan", "Dan Okoye", "Field Sales", None, True, "Standard", None),
    ("user.sven", "Sven Larsen", "Services", "user.vp", True, "Standard", None),
    ("user.tina", "Tina Brooks", "Telesales", "user.vp", True, "Standard", None),
    ("user.tom", "Tom Reyes", "Call Center", "user.vp", True, "Standard", None),
    ("user.paula", "Paula Novak", "Partner Manager", "user.chief", True, "Standard", None),
    ("user.pedro", "Pedro Alves", "Partner Manager", "user.chief", True, "Standard", None),
    ("user.nora", "Nora Quinn (Northwind)", None, None, True, "PowerPartner", "p.northwind"),
)

_PARTNERS: tuple[tuple[str, str, str], ...] = (
    ("p.northwind", "Northwind Solutions", "user.paula"),
    ("p.contoso", "Contoso Partners", "user.pedro"),
    ("p.fabrikam", "Fabrikam Integration", "user.paula"),
    ("p.tailspin", "Tailspin Consulting", "user.pedro"),
)

# key, name, BillingCountry, owner, parent key, named, global, incumbent partner key
_CUSTOMERS: tuple[tuple[str, str, str, str, str | None, bool, bool, str | None], ...] = (
    ("c.globex", "Globex Corporation", "US", "user.alice", None, True, False, None),
    (
        "c.globex_services",
        "Globex Services LLC",
        "United States",
        "user.alice",
        "c.globex",
        False,
        False,
        None,
    ),
    (
        "c.globex_de",
        "Globex Deutschland GmbH",
        "DE",
        "user.alice",
        "c.globex_services",
        False,
        False,
        None,
    ),
    ("c.initech", "Initech", "US", "user.alice", None, True, False, "p.contoso"),
    ("c.massive", "Massive Dynamic", "United States", "user.alice", None, True, False, None),
    ("c.vandelay", "Vandelay Industries", "US", "user.alice", None, True, False, None),
    ("c.ingen", "InGen Biotech", "United States", "user.alice", None, True, False, None),
    ("c.zorg", "Zorg Industries", "Germany", "user.dan", None, True, False, None),
    ("c.umbrella", "Umbrella Pharma", "United States", "user.alice", None, False, True, None),
    ("c.oscorp", "Oscorp", "CA", "user.alice", None, False, True, None),
    ("c.stark", "Stark Industries", "US", "user.alice", None, False, True, "p.tailspin"),
    ("c.acme", "Acme Widgets", "US", "user.paula", None, False, False, "p.northwind"),
    ("c.aperture", "Aperture Science", "US", "user.paula", None, False, False, "p.fabrikam"),
    ("c.monarch", "Monarch Solutions", "Canada", "user.pedro", None, False, False, "p.tailspin"),
    ("c.hooli", "Hooli", "US", "user.paula", None, False, False, None),
    ("c.soylent", "Soylent Foods", "US", "user.bob", None, False, False, None),
    ("c.wayne", "Wayne Enterprises", "US", "user.sven", None, False, False, None),
    ("c.tyrell", "Tyrell Corporation", "Japan", "user.alice", None, False, False, None),
    ("c.cyberdyne", "Cyberdyne Systems", "US", "user.tina", None, False, False, None),
    ("c.wonka", "Wonka Confections", "United States", "user.tom", None, False, False, None),
    ("c.duff", "Duff Beverages", "US", "user.alice", None, False, False, None),
    ("c.bluth", "Bluth Company", "US", "user.alice", None, False, False, None),
    ("c.gringotts", "Gringotts Holdings", "Germany", "user.dan", None, False, False, None),
    ("c.pied", "Pied Piper", "US", "user.pedro", None, False, False, None),
    ("c.dunder", "Dunder Mifflin", "US", "user.alice", None, False, False, None),
    ("c.sterling", "Sterling Cooper", "US", "user.carla", None, False, False, None),
    ("c.nakatomi", "Nakatomi Trading", "US", "user.alice", None, False, False, None),
    ("c.prestige", "Prestige Worldwide", "US", "user.dan", None, False, False, None),
    ("c.ouro_labs", "Ouroboros Labs", "US", "user.carla", "c.ouro_hq", False, False, None),
    ("c.ouro_hq", "Ouroboros HQ", "US", "user.carla", "c.ouro_labs", False, False, None),
    ("c.kwik", "Kwik-E-Mart Group", "US", "user.carla", None, False, False, None),
    ("c.lacroix", "Lacroix Analytique", "FR", "user.pedro", None, False, False, None),
    ("c.mann", "Mann Logistics", "GB", "user.paula", None, False, False, None),
)

# Flags some accounts already carry before syncd's first cycle: Acme's are right already
# (another tool set them), Hooli's are stale, so the first cycle must correct them.
_ACCOUNT_PRESETS: dict[str, dict[str, str]] = {
    "c.acme": {"RoE_Engagement_Lead__c": "Partner", "RoE_Lead_Partner__c": "p.northwind"},
    "c.hooli": {"RoE_Engagement_Lead__c": "Direct", "RoE_Lead_Partner__c": "p.contoso"},
}


def _users(b: Builder) -> None:
    for key, name, role, _manager, active, user_type, _partner in _USERS:
        record: Record = {
            "Name": name,
            "IsActive": active,
            "UserType": user_type,
            "ManagerId": None,
            "AccountId": None,
            "RoE_Sales_Role__c": role,
        }
        b.add("User", key, record)
    for key, _name, _role, manager, *_ in _USERS:  # managers may be declared after reports
        if manager is not None:
            b.record("User", key)["ManagerId"] = b.keys[manager]


def _link_partner_users(b: Builder) -> None:
    """A partner's portal user belongs to the partner account (User.AccountId)."""
    for key, *_rest, partner in _USERS:
        if partner is not None:
            b.record("User", key)["AccountId"] = b.keys[partner]


def _account(name: str, country: str, owner: str | None, *, partner: bool = False) -> Record:
    return {
        "Name": name,
        "OwnerId": owner,
        "BillingCountry": country,
        "ParentId": None,
        "IsPartner": partner,
        "RoE_Named_Account__c": False,
        "RoE_Global_Account__c": False,
        "RoE_Incumbent_Partner__c": None,
        "RoE_Resync_Requested__c": False,
    }


def _accounts(b: Builder) -> None:
    for key, name, owner in _PARTNERS:
        b.add("Account", key, _account(name, "US", b.keys[owner], partner=True))
    for key, name, country, owner, _parent, named, global_, incumbent in _CUSTOMERS:
        record = _account(name, country, b.keys[owner])
        record["RoE_Named_Account__c"] = named
        record["RoE_Global_Account__c"] = global_
        record["RoE_Incumbent_Partner__c"] = b.ref(incumbent)
        for field_name, value in _ACCOUNT_PRESETS.get(key, {}).items():
            record[field_name] = b.keys.get(value, value)  # partner keys become Ids
        b.add("Account", key, record)
    for key, _name, _country, _owner, parent, *_ in _CUSTOMERS:  # parents may come later (S30)
        if parent is not None:
            b.record("Account", key)["ParentId"] = b.keys[parent]


def demo_dataset(today: date) -> Dataset:
    """The seeded demo org for ``today`` (relative dates hang off it); same day, same org."""
    b = Builder(today)
    _users(b)
    _accounts(b)
    _link_partner_users(b)
    add_stories(b)
    add_filler(b, random.Random(DEMO_SEED))
    return Dataset(records=freeze(b.records), today=today, keys=dict(b.keys))
