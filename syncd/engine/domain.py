"""The domain: what syncd knows about an org, and what it decides. Pure values, no I/O.

Records arrive here through ``syncd.sync.mapping`` (Salesforce field names → these attributes);
decisions leave through it again. Nothing in this module knows a Salesforce field name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

_EMPTY: Mapping[str, object] = MappingProxyType({})


class Lead(StrEnum):
    """Who leads a customer or a deal. The values are the Salesforce picklist values."""

    DIRECT = "Direct"
    PARTNER = "Partner"
    JOINT = "Joint"


class Status(StrEnum):
    """The flag reps see on an opportunity (RoE_Status__c)."""

    COMPLIANT = "Compliant"
    VIOLATION = "Violation"
    REVIEW = "Review"
    EXEMPT = "Exempt"
    ADVISORY = "Advisory"


class Role(StrEnum):
    """What kind of user owns a record; decided by the mapping from User fields."""

    FIELD = "field"  # direct field rep (vendor)
    TELESALES = "telesales"  # call center / inside sales (vendor)
    PARTNER_MANAGER = "partner_manager"  # vendor's partner account manager
    PARTNER_USER = "partner_user"  # a partner's own portal user (UserType PowerPartner)
    OTHER = "other"  # anyone else (admins, integration users, unknown segment)


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str = ""
    role: Role = Role.OTHER
    manager_id: str | None = None
    is_active: bool = True
    # For partner (portal) users: the partner Account they belong to (User.AccountId).
    partner_account_id: str | None = None
    extra: Mapping[str, object] = field(default_factory=lambda: _EMPTY)
    # Problems the mapping found in the raw record ("IsActive: expected a boolean, got 'x'").
    defects: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str = ""
    owner_id: str | None = None
    parent_id: str | None = None
    is_partner: bool = False
    billing_country: str | None = None
    named: bool = False  # the named-account field (the CSV list is applied by the policy)
    global_account: bool = False
    incumbent_partner_id: str | None = None
    resync_requested: bool = False
    extra: Mapping[str, object] = field(default_factory=lambda: _EMPTY)
    defects: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Registration:
    """A partner's deal registration, as recorded on the opportunity."""

    partner_id: str | None
    status: str | None  # the raw picklist value
    approved: bool  # status is one of the mapping's approved values
    approved_on: date | None = None
    expires_on: date | None = None  # only when the org keeps an expiry field


@dataclass(frozen=True, slots=True)
class Opportunity:
    id: str
    name: str = ""
    account_id: str | None = None
    owner_id: str | None = None
    type: str | None = None
    lead_source: str | None = None
    stage_name: str | None = None
    is_closed: bool = False
    is_won: bool = False
    amount: Decimal | None = None
    close_date: date | None = None
    created_at: datetime | None = None
    # The partner working the deal (custom lookup or primary OpportunityPartner row).
    partner_id: str | None = None
    # Opportunity Type is one of the mapping's renewal / installed-base values.
    is_renewal: bool = False
    registration: Registration | None = None
    override_lead: str | None = None  # raw picklist value; the engine validates it
    override_reason: str | None = None
    # The rep's exception request, and channel operations' answer to it.
    exception_requested: bool = False
    exception_reason: str | None = None
    exception_decision: str | None = None  # raw picklist value (Approved / Rejected)
    exception_decision_reason: str | None = None
    currency: str | None = None  # CurrencyIsoCode in multi-currency orgs
    # Audit only (who set an override or decided an exception), never a rule input: syncd's
    # own writes change it, and comparing records with == must not see those as changes.
    last_modified_by: str | None = field(default=None, compare=False)
    last_modified_at: datetime | None = field(default=None, compare=False)  # SystemModstamp
    extra: Mapping[str, object] = field(default_factory=lambda: _EMPTY)
    defects: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the engine may look at. Ids are 18-character Salesforce Ids."""

    accounts: Mapping[str, Account]
    opportunities: Mapping[str, Opportunity]
    users: Mapping[str, User]


@dataclass(frozen=True, slots=True)
class Violation:
    """A broken rule on one opportunity. ``code`` is e.g. PARTNER_DISPLACED or CUSTOM:<id>."""

    code: str
    severity: Severity
    message: str
    rep_id: str | None = None  # the rep accountable (the deal owner)
    partner_id: str | None = None  # the displaced / protected partner, where there is one


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """One line of an explanation: a rule, whether it decided, and why (for ``explain``)."""

    rule: str
    applied: bool
    detail: str


@dataclass(frozen=True, slots=True)
class AccountDecision:
    account_id: str
    lead: Lead
    lead_partner_id: str | None
    reasons: tuple[str, ...]  # reason codes, e.g. ("NAMED_VIA_PARENT",)
    reason_text: str  # fits RoE_Reason__c (255 characters)
    policy_version: str
    trace: tuple[RuleOutcome, ...] = ()


@dataclass(frozen=True, slots=True)
class OpportunityDecision:
    opportunity_id: str
    account_id: str | None
    expected_lead: Lead | None  # None only when the account cannot be seen (ACCOUNT_MISSING)
    protected_partner_id: str | None
    status: Status
    reasons: tuple[str, ...]
    reason_text: str  # fits RoE_Reason__c (255 characters)
    # Every violation the rules found, whatever the status shown (Review included).
    violations: tuple[Violation, ...]
    # An enforced violation stands on this deal: violations present and not Advisory,
    # whether the status shown is Violation or Review (Review never releases anything).
    enforced: bool
    # ``not enforced``. Stickiness after resolution is the ledger's business (it remembers
    # history); the engine only sees the present.
    comp_eligible: bool
    remedy: str | None  # e.g. "referral fee 25000.00 to Acme Partners"
    policy_version: str
    trace: tuple[RuleOutcome, ...] = ()


@dataclass(frozen=True, slots=True)
class Decisions:
    accounts: Mapping[str, AccountDecision]
    opportunities: Mapping[str, OpportunityDecision]
    policy_version: str
    # Records the engine failed on (a bug, not bad data: the mapping turns that into
    # defects): record Id -> the error. Each still gets a Review decision so a cycle goes
    # on; the cycle logs these with the Id so the bug is seen, not hidden in a Review.
    errors: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
