"""What notifications are made of, as values: a cycle's notices and the outbox's messages.

A ``Notice`` is one thing people should hear about (a new violation, a remedy owed, an
exception request), with every fact a message names. An ``OutboxMessage`` is one notice
rendered for one target, keyed ``<ledger key>|<kind>|<target>`` like a Task is keyed by
its occurrence: the outbox holds each key once, so nothing is sent twice for the same
occurrence, kind and target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

_NOTHING: Mapping[str, str] = MappingProxyType({})

EVENT_TARGET = "event:RoE_Violation__e"  # the platform event, published by the cycle
KEY_HEADER = "X-Syncd-Key"  # sent with generic webhooks: receivers drop repeats by it


class Kind(StrEnum):
    VIOLATION = "violation"  # a new violation occurrence
    REMEDY = "remedy"  # a remedy is owed to the displaced partner
    EXCEPTION = "exception"  # a rep asked for an exception
    DIGEST = "digest"  # a day's held messages for one target
    EVENT = "event"  # RoE_Violation__e for Flow


class State(StrEnum):
    PENDING = "pending"  # to send once not_before has passed
    HELD = "held"  # waits for its target's digest at not_before
    SENT = "sent"
    DIGESTED = "digested"  # went out inside a digest
    FAILED = "failed"  # gave up after max_attempts
    DROPPED = "dropped"  # its target is no longer configured


@dataclass(frozen=True, slots=True)
class Notice:
    """One event of a cycle, with what every message about it names."""

    kind: Kind
    key: str  # the ledger entry's key (= Task.RoE_Key__c)
    opportunity_id: str
    deal: str
    account: str  # the customer
    code: str
    rule: str  # the rule broken, in words
    reason: str  # why the deal got its flag (RoE_Reason__c)
    link: str  # <instance>/lightning/r/Opportunity/<id>/view
    currency: str
    amount: Decimal | None = None
    rep_id: str | None = None
    rep: str = ""
    manager_id: str | None = None  # the rep's active manager
    manager_email: str | None = None  # when the mapping reads it (user.extra.email)
    partner_id: str | None = None
    partner: str | None = None
    level: int = 0
    action: str | None = None  # warning / compensation_review / termination_review
    remedy: str | None = None
    exception_reason: str | None = None
    closed_won: bool = False


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    key: str  # <ledger key>|<kind>|<target>
    kind: Kind
    target: str  # "target:<name>", "email:<address>" or EVENT_TARGET
    title: str
    body: str  # markdown (Apprise renders it per service); JSON for a platform event
    summary: str  # one line, for the digest
    created_at: datetime
    not_before: datetime  # held: the digest's time; pending: the next attempt
    state: State = State.PENDING
    opportunity_id: str | None = None
    attempts: int = 0
    delivered_at: datetime | None = None
    last_error: str | None = None


def message_key(ledger_key: str, kind: Kind, target: str) -> str:
    return f"{ledger_key}|{kind.value}|{target}"


@dataclass(frozen=True, slots=True)
class OutboxChange:
    """What a cycle commits to the outbox, in the cycle's own transaction.

    ``add``: inserted unless the key is there already (a rerun adds nothing twice);
    ``sent``: keys of waiting messages this cycle delivered (platform events);
    ``failed``: keys of messages whose attempt failed -> the error (retried later).
    """

    add: Sequence[OutboxMessage] = ()
    sent: Sequence[str] = ()
    failed: Mapping[str, str] = field(default_factory=lambda: _NOTHING)

    def __bool__(self) -> bool:
        return bool(self.add or self.sent or self.failed)
