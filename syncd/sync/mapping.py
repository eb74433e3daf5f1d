"""Salesforce records <-> the domain, driven by ``mappings/*.yaml``.

Every org names its custom fields differently, so no other module knows a field name:
the cycle asks this module which fields to query, turns records into domain values, and
turns decisions back into field values to write. Unusable values never raise here; they
become ``defects`` on the domain record, which the engine turns into a Review.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    ValidationError,
    field_validator,
    model_validator,
)

from syncd.engine.domain import (
    Account,
    AccountDecision,
    Opportunity,
    OpportunityDecision,
    Registration,
    Role,
    User,
)
from syncd.engine.enforcement import OrgTask, TaskSpec
from syncd.engine.picklist import Choices, Lookup
from syncd.engine.rules.text import with_words
from syncd.errors import ConfigError
from syncd.validation import format_validation_error, read_yaml

WATERMARK = "SystemModstamp"  # what incremental reads and the echo checks key on
_FIELD_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _check_field_name(value: str | None, what: str = "field") -> str | None:
    if value is None:
        return None
    if not value or not set(value) <= _FIELD_NAME_CHARS or value[0].isdigit():
        raise ValueError(f"{value!r} is not a Salesforce {what} API name (letters, digits, _)")
    return value


def _check_object_name(value: str) -> str:
    _check_field_name(value, "object")
    return value


# Checked here, at start-up: a bad name would otherwise first fail while building a query.
ObjectName = Annotated[str, AfterValidator(_check_object_name)]
FieldName = Annotated[str, AfterValidator(_check_field_name)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _FieldNames(_Model):
    """A section whose every value is a Salesforce field API name (or null: not mapped)."""

    @field_validator("*")
    @classmethod
    def _api_name(cls, value: str | None) -> str | None:
        return _check_field_name(value)


class AccountRead(_FieldNames):
    id: str = "Id"
    name: str = "Name"
    owner_id: str = "OwnerId"
    parent_id: str | None = "ParentId"
    is_partner: str = "IsPartner"
    billing_country: str | None = "BillingCountry"
    named: str | None = None
    global_account: str | None = None
    incumbent_partner_id: str | None = None
    resync_requested: str | None = None


class AccountWrite(_FieldNames):
    lead: str
    lead_partner_id: str
    reason: str


class AccountMapping(_Model):
    sobject: ObjectName = "Account"
    read: AccountRead
    write: AccountWrite
    extra: dict[str, FieldName] = {}


class OpportunityRead(_FieldNames):
    id: str = "Id"
    name: str = "Name"
    account_id: str = "AccountId"
    owner_id: str = "OwnerId"
    type: str | None = "Type"
    lead_source: str | None = "LeadSource"
    stage_name: str | None = "StageName"
    is_closed: str = "IsClosed"
    is_won: str = "IsWon"
    amount: str | None = "Amount"
    close_date: str | None = "CloseDate"
    created_at: str = "CreatedDate"
    partner_id: str | None = None
    registration_partner_id: str | None = None
    registration_status: str | None = None
    registration_approved_on: str | None = None
    registration_expires_on: str | None = None
    override_lead: str | None = None
    override_reason: str | None = None
    exception_requested: str | None = None
    exception_reason: str | None = None
    exception_decision: str | None = None
    exception_decision_reason: str | None = None
    # Who last changed the record and when (who decided an exception, set an override).
    last_modified_by: str | None = "LastModifiedById"
    last_modified_at: str | None = "SystemModstamp"  # when, as Salesforce reported it
    # Multi-currency orgs: CurrencyIsoCode (the remedy names the deal's currency).
    currency: str | None = None


class OpportunityWrite(_FieldNames):
    expected_lead: str
    protected_partner_id: str
    status: str
    reason: str
    comp_eligible: str
    remedy: str


# The Opportunity read keys a related child object may fill (``RelatedSource.fills``).
FILLABLE = (
    "partner_id",
    "registration_partner_id",
    "registration_status",
    "registration_approved_on",
    "registration_expires_on",
)
Scalar = bool | int | str


class RelatedSource(_Model):
    """A child object of Opportunity whose row (one per deal) fills some of its read keys.

    ``OpportunityPartner`` (the primary row's ``AccountToId`` is the deal's partner) is one;
    a deal-registration object of the org's own is another. Rows are read the way the
    parent is — all of them in a full read, changed ones (deletes included) in the change
    read's composite, then the rows of the deals touched — and kept in the store's mirror
    under ``key``. ``where``: equality filters (``IsPrimary: true``); of several rows of a
    deal that pass them, the one with the highest Id counts.
    """

    name: str = "related"
    sobject: ObjectName
    parent_field: FieldName  # the lookup to the Opportunity (OpportunityId)
    fills: tuple[tuple[str, FieldName], ...]  # (Opportunity read key, the child's field)
    where: tuple[tuple[FieldName, Scalar], ...] = ()

    @field_validator("fills", "where", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        return tuple(value.items()) if isinstance(value, dict) else value  # YAML: a mapping

    @field_validator("fills")
    @classmethod
    def _fillable(cls, value: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        wrong = [key for key, _ in value if key not in FILLABLE]
        if wrong or not value:
            raise ValueError(f"fills {wrong or 'nothing'}: a related object can fill {FILLABLE}")
        return value

    @property
    def key(self) -> str:
        """Its rows' key in the store's mirror ("OpportunityPartner.primary")."""
        return f"{self.sobject}.{self.name}"

    @property
    def fields(self) -> list[str]:
        """What to query: the parent lookup, then the fields it fills from."""
        return list(dict.fromkeys([self.parent_field, *(f for _, f in self.fills)]))


# ``partner_source: opportunity_partner``: the primary OpportunityPartner row's account.
OPPORTUNITY_PARTNER = RelatedSource(
    name="primary",
    sobject="OpportunityPartner",
    parent_field="OpportunityId",
    fills=(("partner_id", "AccountToId"),),
    where=(("IsPrimary", True),),
)


class OpportunityMapping(_Model):
    sobject: ObjectName = "Opportunity"
    read: OpportunityRead
    write: OpportunityWrite
    extra: dict[str, FieldName] = {}
    partner_source: Literal["field", "opportunity_partner"] = "field"
    related: tuple[RelatedSource, ...] = ()  # child objects that fill read keys
    renewal_types: tuple[str, ...] = ("Renewal",)
    registration_approved_values: tuple[str, ...] = ("Approved",)

    @model_validator(mode="after")
    def _one_source_each(self) -> OpportunityMapping:
        seen: dict[str, str] = {}
        for source in self.sources:
            if source.sobject == self.sobject or source.sobject in seen.values():
                raise ValueError(f"related: {source.sobject} is declared twice (or is the deal)")
            for key, _ in source.fills:
                if key in seen:
                    raise ValueError(
                        f"related: {key} is filled by both {seen[key]} and {source.sobject}"
                        + (" (partner_source: opportunity_partner fills partner_id)"
                           if key == "partner_id" else "")
                    )  # fmt: skip
                seen[key] = source.sobject
        return self

    @property
    def sources(self) -> tuple[RelatedSource, ...]:
        """The related child objects read with the deals (``partner_source`` included)."""
        if self.partner_source == "opportunity_partner":
            return (OPPORTUNITY_PARTNER, *self.related)
        return self.related


class UserRead(_FieldNames):
    id: str = "Id"
    name: str = "Name"
    manager_id: str | None = "ManagerId"
    is_active: str = "IsActive"
    user_type: str | None = "UserType"
    partner_account_id: str | None = "AccountId"
    segment: str | None = None


class UserMapping(_Model):
    sobject: ObjectName = "User"
    read: UserRead
    extra: dict[str, FieldName] = {}
    segments: dict[str, Role] = {}
    partner_user_types: tuple[str, ...] = ("PowerPartner",)


class TaskMapping(_Model):
    sobject: ObjectName = "Task"
    key_field: FieldName = "RoE_Key__c"
    open_status: str = "Not Started"
    closed_status: str = "Completed"


class FieldMapping(_Model):
    """The validated contents of a mapping file."""

    version: int = 1
    account: AccountMapping
    opportunity: OpportunityMapping
    user: UserMapping
    task: TaskMapping = TaskMapping()

    # -- what to query --------------------------------------------------------------

    def account_fields(self) -> list[str]:
        return _field_list(self.account.read, self.account.write, self.account.extra)

    def opportunity_fields(self) -> list[str]:
        return _field_list(self.opportunity.read, self.opportunity.write, self.opportunity.extra)

    def user_fields(self) -> list[str]:
        return _field_list(self.user.read, None, self.user.extra)

    # -- by kind of domain record ("Account", "Opportunity", "User") -----------------------

    def section(self, kind: str) -> AccountMapping | OpportunityMapping | UserMapping:
        sections: dict[str, AccountMapping | OpportunityMapping | UserMapping] = {
            "Account": self.account, "Opportunity": self.opportunity, "User": self.user,
        }  # fmt: skip
        return sections[kind]

    def fields(self, kind: str) -> list[str]:
        """The fields to query for records of ``kind``."""
        return {
            "Account": self.account_fields,
            "Opportunity": self.opportunity_fields,
            "User": self.user_fields,
        }[kind]()

    def source_fields(self, kind: str, attr: str) -> list[str]:
        """The Salesforce fields a domain attribute comes from (``Account.named`` ->
        ``[RoE_Named_Account__c]``), for explain; ``[]`` when none is mapped."""
        read = self.section(kind).read.model_dump()
        return [read[key] for key in source_keys(kind, attr, read) if read.get(key)]


# Domain attributes computed here from other fields (``to_opportunity``, ``to_user``), and
# the read keys they come from. Every other attribute comes from the read key of its own
# name, a nested one (``registration.approved_on``) from its flattened name.
_COMPUTED: dict[tuple[str, str], tuple[str, ...]] = {
    ("Opportunity", "is_renewal"): ("type",),
    ("Opportunity", "registration.approved"): ("registration_status",),
    ("User", "role"): ("segment", "user_type"),
}


def source_keys(kind: str, attr: str, read: Mapping[str, object]) -> tuple[str, ...]:
    """The read keys of ``read`` a domain attribute of ``kind`` comes from."""
    computed = _COMPUTED.get((kind, attr))
    if computed is not None:
        return computed
    flat = attr.replace(".", "_")
    if flat in read:
        return (flat,)
    return tuple(k for k in read if k.startswith(f"{flat}_"))  # registration: all of it


def _field_list(read: _Model, write: _Model | None, extra: Mapping[str, str]) -> list[str]:
    names: list[str] = []
    for source in (read, write):
        if source is None:
            continue
        names.extend(v for v in source.model_dump().values() if v)
    names.extend(extra.values())
    unique = [n for n in dict.fromkeys(names) if n != WATERMARK]  # unique, order kept
    return [*unique, WATERMARK]  # the watermark last, whichever read key also names it


def load_mapping(path: Path) -> FieldMapping:
    """Read and validate a mapping file; every problem is listed with its key path."""
    data = read_yaml(path, "mapping")
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping of sections at the top level", source=str(path)
        )
    try:
        return FieldMapping.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            f"{path}: invalid mapping file", source=str(path), problems=format_validation_error(exc)
        ) from None


# -- value parsing: never raises; problems are collected -----------------------------


@functools.lru_cache(maxsize=8192)
def _day(text: str) -> date:
    # A million deals have a few thousand distinct dates: share the date objects.
    return date.fromisoformat(text)


@functools.lru_cache(maxsize=1 << 18)
def _record_id(value: str) -> str:
    """The 18-character, interned form of an Id (raises InvalidSalesforceId).

    Interned: a deal's account, owner and partner Ids are then the very strings the
    snapshot keys on, not a million copies of them. Cached: the same few hundred
    thousand account, owner and partner Ids recur on every deal of a large org, and
    their checksum was a fifth of the time of rebuilding it from the mirror.
    """
    from syncd.sfid import to_18

    return sys.intern(to_18(value))


class _Reader:
    """Reads typed values from one raw record and remembers what it could not read."""

    def __init__(self, record: Mapping[str, Any]):
        self.record = record
        self.defects: list[str] = []

    def raw(self, field: str | None) -> Any:
        return None if field is None else self.record.get(field)

    def text(self, field: str | None) -> str | None:
        value = self.raw(field)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            return value
        self.defects.append(f"{field}: expected text, got {value!r}")
        return None

    def shared(self, field: str | None) -> str | None:
        """Text of a field with few distinct values (picklists): one copy in memory."""
        value = self.text(field)
        return None if value is None else sys.intern(value)

    def ident(self, field: str | None) -> str | None:
        value = self.text(field)
        if value is None:
            return None
        from syncd.sfid import InvalidSalesforceId

        try:
            return _record_id(value)
        except InvalidSalesforceId:
            self.defects.append(f"{field}: {value!r} is not a Salesforce Id")
            return None

    def flag(self, field: str | None) -> bool:
        value = self.raw(field)
        if value is None or isinstance(value, bool):
            return bool(value)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        self.defects.append(f"{field}: expected true/false, got {value!r}")
        return False

    def number(self, field: str | None) -> Decimal | None:
        value = self.raw(field)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            self.defects.append(f"{field}: expected a number, got {value!r}")
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():  # NaN or infinity: no fee can be owed
            self.defects.append(f"{field}: expected a number, got {value!r}")
            return None
        return number

    def day(self, field: str | None) -> date | None:
        value = self.text(field)
        if value is None:
            return None
        try:
            return _day(value[:10])
        except ValueError:
            self.defects.append(f"{field}: expected a date (YYYY-MM-DD), got {value!r}")
            return None

    def moment(self, field: str | None) -> datetime | None:
        value = self.text(field)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            self.defects.append(f"{field}: expected a datetime, got {value!r}")
            return None
        if parsed.tzinfo is None:
            self.defects.append(f"{field}: datetime {value!r} has no time zone")
            return None
        return parsed

    def extras(self, extra: Mapping[str, str]) -> dict[str, Any]:
        return {name: self.raw(field) for name, field in extra.items()}


def to_account(record: Mapping[str, Any], mapping: FieldMapping) -> Account:
    f = mapping.account.read
    r = _Reader(record)
    account_id = r.ident(f.id)
    return Account(
        id=account_id or str(record.get(f.id)),
        name=r.text(f.name) or "",
        owner_id=r.ident(f.owner_id),
        parent_id=r.ident(f.parent_id),
        is_partner=r.flag(f.is_partner),
        billing_country=r.text(f.billing_country),
        named=r.flag(f.named),
        global_account=r.flag(f.global_account),
        incumbent_partner_id=r.ident(f.incumbent_partner_id),
        resync_requested=r.flag(f.resync_requested),
        extra=r.extras(mapping.account.extra),
        defects=tuple(r.defects),
    )


def to_opportunity(
    record: Mapping[str, Any], mapping: FieldMapping, *, read: OpportunityRead | None = None
) -> Opportunity:
    """``read``: the field names to read, when related sources fill some of them
    (``syncd.sync.children`` passes the deal with its rows' values laid over it); without
    it, what the sources fill is left unset (the deal's own fields are not the source)."""
    m = mapping.opportunity
    f = read or (_unfilled(m.read, m.sources) if m.sources else m.read)
    r = _Reader(record)
    opp_type = r.shared(f.type)
    return Opportunity(
        id=r.ident(f.id) or str(record.get(f.id)),
        name=r.text(f.name) or "",
        account_id=r.ident(f.account_id),
        owner_id=r.ident(f.owner_id),
        type=opp_type,
        lead_source=r.shared(f.lead_source),
        stage_name=r.shared(f.stage_name),
        is_closed=r.flag(f.is_closed),
        is_won=r.flag(f.is_won),
        amount=r.number(f.amount),
        close_date=r.day(f.close_date),
        created_at=r.moment(f.created_at),
        partner_id=r.ident(f.partner_id),
        is_renewal=opp_type in _choices(m.renewal_types),
        registration=_registration(r, f, m.registration_approved_values),
        override_lead=r.shared(f.override_lead),
        override_reason=r.text(f.override_reason),
        exception_requested=r.flag(f.exception_requested),
        exception_reason=r.text(f.exception_reason),
        exception_decision=r.shared(f.exception_decision),
        exception_decision_reason=r.text(f.exception_decision_reason),
        currency=r.shared(f.currency),
        last_modified_by=r.ident(f.last_modified_by),
        last_modified_at=r.moment(f.last_modified_at),
        extra=r.extras(m.extra),
        defects=tuple(r.defects),
    )


@functools.lru_cache(maxsize=16)
def _unfilled(read: OpportunityRead, sources: tuple[RelatedSource, ...]) -> OpportunityRead:
    return read.model_copy(update={key: None for s in sources for key, _ in s.fills})


# Picklist-like values compare trimmed and case-insensitively (syncd.engine.picklist); the
# mapping's value lists are compiled once, not once per record.
@functools.lru_cache(maxsize=64)
def _choices(values: tuple[str, ...]) -> Choices:
    return Choices(values)


@functools.lru_cache(maxsize=8)
def _segments(pairs: tuple[tuple[str, Role], ...]) -> Lookup[Role]:
    return Lookup(pairs)


def _registration(
    r: _Reader, f: OpportunityRead, approved_values: tuple[str, ...]
) -> Registration | None:
    partner = r.ident(f.registration_partner_id)
    status = r.shared(f.registration_status)
    if partner is None and status is None:
        return None
    return Registration(
        partner_id=partner,
        status=status,
        approved=status in _choices(approved_values),
        approved_on=r.day(f.registration_approved_on),
        expires_on=r.day(f.registration_expires_on),
    )


def to_user(record: Mapping[str, Any], mapping: FieldMapping) -> User:
    m = mapping.user
    f = m.read
    r = _Reader(record)
    user_type = r.text(f.user_type)
    segment = r.text(f.segment)
    if user_type in _choices(m.partner_user_types):
        role = Role.PARTNER_USER
    else:
        role = _segments(tuple(m.segments.items())).get(segment, Role.OTHER)
    return User(
        id=r.ident(f.id) or str(record.get(f.id)),
        name=r.text(f.name) or "",
        role=role,
        manager_id=r.ident(f.manager_id),
        is_active=r.flag(f.is_active),
        partner_account_id=r.ident(f.partner_account_id) if role is Role.PARTNER_USER else None,
        extra=r.extras(m.extra),
        defects=tuple(r.defects),
    )


# -- decisions -> field values -----------------------------------------------------


def account_values(decision: AccountDecision, mapping: FieldMapping) -> dict[str, Any]:
    w = mapping.account.write
    return {
        w.lead: decision.lead.value,
        w.lead_partner_id: decision.lead_partner_id,
        w.reason: decision.reason_text or None,
    }


def opportunity_values(
    decision: OpportunityDecision,
    mapping: FieldMapping,
    *,
    comp_eligible: bool | None = None,
    remedy: str | None = None,
    held: str | None = None,
) -> dict[str, Any]:
    """``comp_eligible`` / ``remedy``: the ledger's holds over the engine's present view;
    ``held``: why a sticky hold keeps compensation withheld, said first in the reason."""
    w = mapping.opportunity.write
    eligible = decision.comp_eligible if comp_eligible is None else comp_eligible
    reason = decision.reason_text
    if held:
        reason = with_words(decision.reasons, reason, held)
    return {
        w.expected_lead: decision.expected_lead.value if decision.expected_lead else None,
        w.protected_partner_id: decision.protected_partner_id,
        w.status: decision.status.value,
        w.reason: reason or None,
        w.comp_eligible: eligible,
        w.remedy: decision.remedy or remedy,
    }


def task_values(spec: TaskSpec, mapping: FieldMapping) -> dict[str, Any]:
    """A new violation Task, keyed for an idempotent upsert."""
    values: dict[str, Any] = {
        mapping.task.key_field: spec.key,
        "Subject": spec.subject,
        "WhatId": spec.what_id,
        "Status": mapping.task.open_status,
        "Priority": spec.priority,
        "ActivityDate": spec.due.isoformat(),
        "Description": spec.description,
    }
    if spec.owner_id:  # else Salesforce assigns the integration user
        values["OwnerId"] = spec.owner_id
    return values


def task_fields(mapping: FieldMapping) -> list[str]:
    """What syncd reads of its violation Tasks (to adopt them and respect people's edits)."""
    return [
        "Id",
        mapping.task.key_field,
        "Status",
        "IsClosed",
        "OwnerId",
        "Subject",
        "Description",
        "Priority",
        "ActivityDate",
        "CreatedDate",
        "SystemModstamp",
    ]


def to_org_task(record: Mapping[str, Any], mapping: FieldMapping) -> OrgTask | None:
    """A violation Task as read; None for a row without a usable Id or key."""
    r = _Reader(record)
    task_id, key = r.ident("Id"), r.text(mapping.task.key_field)
    if task_id is None or key is None:
        return None
    return OrgTask(
        id=task_id,
        key=key,
        closed=r.flag("IsClosed"),
        owner_id=r.ident("OwnerId"),
        created=r.moment("CreatedDate"),
        description=r.text("Description") or "",
        priority=r.text("Priority"),
        due=r.day("ActivityDate"),
        subject=r.text("Subject") or "",
    )


def task_closing_values(task_id: str, note: str, description: str, mapping: FieldMapping) -> dict:
    return {
        "Id": task_id,
        "Status": mapping.task.closed_status,
        "Description": f"{note}\n\n{description}".strip(),
    }


def written_values(record: Mapping[str, Any], fields: Iterable[str]) -> FieldValues:
    """The values a record holds now in the fields syncd writes (for the diff)."""
    fields = tuple(fields)
    names = _names(fields)
    values = tuple(record.get(name) for name in names[0])
    if all(v is None or v is False for v in values):  # never written (a first cycle): shared
        return _blank(fields, values)
    return FieldValues(names, values)


@functools.lru_cache(maxsize=64)
def _blank(fields: tuple[str, ...], values: tuple[bool | None, ...]) -> FieldValues:
    """One instance for every record whose syncd fields are all empty (FieldValues is
    read-only): a first full cycle of a million records holds one, not a million."""
    return FieldValues(_names(fields), values)


class FieldValues(Mapping[str, Any]):
    """A record's values in syncd's own fields, kept for every record between cycles.

    A million of them live in the daemon's memory, so not a dict each (~350 bytes) but
    one tuple of values beside field names shared by all records (~150 bytes).
    """

    __slots__ = ("_names", "_values")

    def __init__(self, names: tuple[tuple[str, ...], dict[str, int]], values: tuple[Any, ...]):
        self._names = names
        self._values = values

    def __getitem__(self, key: str) -> Any:
        return self._values[self._names[1][key]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names[0])

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"FieldValues({dict(self)!r})"

    def updated(self, values: Mapping[str, Any]) -> Mapping[str, Any]:
        """These values with some replaced (what syncd just wrote); unknown names widen it."""
        if not all(name in self._names[1] for name in values):
            return {**self, **values}
        index = self._names[1]
        new = list(self._values)
        for name, value in values.items():
            new[index[name]] = value
        return FieldValues(self._names, tuple(new))


@functools.lru_cache(maxsize=32)
def _names(fields: tuple[str, ...]) -> tuple[tuple[str, ...], dict[str, int]]:
    unique = tuple(dict.fromkeys(fields))
    return unique, {name: i for i, name in enumerate(unique)}
