"""Who hears what: notices -> outbox messages, one per notice and target. Pure.

- new violation -> ``new_violation.to`` (channel operations) and the rep's manager's
  target (``managers`` by User Id, then by email; else ``manager_default``);
- remedy owed -> ``remedy_owed.to`` and, when listed, the displaced partner's contact;
- exception request -> ``exception_request.to``.

A route with ``digest: true`` holds its messages for the target's daily digest; so does
any target that would get more than ``digest_threshold`` messages from one cycle.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, time, timedelta

from syncd.notify import render
from syncd.notify.message import (
    EVENT_TARGET,
    Kind,
    Notice,
    OutboxMessage,
    State,
    message_key,
)
from syncd.notify.platform_events import event_fields
from syncd.notify.settings import NotificationSettings, Route, is_email


def route(
    notices: Sequence[Notice], settings: NotificationSettings, now: datetime
) -> list[OutboxMessage]:
    messages = [m for n in notices for m in _messages(n, settings, now)]
    held = _digest_targets(messages, settings)
    digest_at = next_digest(now, settings.digest_hour)
    routed = [
        replace(m, state=State.HELD, not_before=digest_at) if _holds(m, held, settings) else m
        for m in messages
    ]
    if settings.platform_events:
        routed += [_event(n, now) for n in notices if n.kind is Kind.VIOLATION]
    return routed


def _holds(message: OutboxMessage, held: set[str], settings: NotificationSettings) -> bool:
    # A partner's contact gets its own message, never an internal digest.
    if message.target.startswith("partner:"):
        return False
    return message.target in held or _route(message.kind, settings).digest


def next_digest(now: datetime, hour: int) -> datetime:
    today = datetime.combine(now.date(), time(hour), tzinfo=now.tzinfo)
    return today if now < today else today + timedelta(days=1)


def targets(notice: Notice, settings: NotificationSettings) -> list[str]:
    """The targets of one notice, in order, each once: ``target:<name>``/``email:<addr>``."""
    names = list(_route(notice.kind, settings).to)
    if notice.kind is Kind.VIOLATION:
        manager = _manager_target(notice, settings)
        if manager:
            names.append(manager)
    found = [_target(n) for n in names]
    if notice.kind is Kind.REMEDY and notice.partner_id:
        contact = settings.remedy_owed.partner_contacts.get(notice.partner_id)
        if contact:
            found.append(partner_target(contact))
    return list(dict.fromkeys(found))


def partner_target(address: str) -> str:
    return f"partner:{address.lower()}"


def _messages(
    notice: Notice, settings: NotificationSettings, now: datetime
) -> Iterable[OutboxMessage]:
    for target in targets(notice, settings):
        partner = target.startswith("partner:")
        yield OutboxMessage(
            key=message_key(notice.key, notice.kind, target),
            kind=notice.kind,
            target=target,
            title=render.partner_title(notice) if partner else render.title(notice),
            body=render.partner_body(notice) if partner else render.body(notice),
            summary=render.summary(notice),
            created_at=now,
            not_before=now,
            opportunity_id=notice.opportunity_id,
        )


def _route(kind: Kind, settings: NotificationSettings) -> Route:
    if kind is Kind.VIOLATION:
        return settings.new_violation
    if kind is Kind.REMEDY:
        return settings.remedy_owed
    return settings.exception_request


def _manager_target(notice: Notice, settings: NotificationSettings) -> str | None:
    managers = settings.new_violation.managers
    for key in (notice.manager_id, notice.manager_email):
        if key and key in managers:
            return managers[key]
    return settings.new_violation.manager_default


def _target(name: str) -> str:
    return f"email:{name.lower()}" if is_email(name) else f"target:{name}"


def _digest_targets(messages: Sequence[OutboxMessage], settings: NotificationSettings) -> set[str]:
    if settings.digest_threshold <= 0:
        return set()
    counts = Counter(m.target for m in messages)
    return {t for t, n in counts.items() if n > settings.digest_threshold}


def _event(notice: Notice, now: datetime) -> OutboxMessage:
    return OutboxMessage(
        key=message_key(notice.key, Kind.EVENT, EVENT_TARGET),
        kind=Kind.EVENT,
        target=EVENT_TARGET,
        title=f"RoE_Violation__e {notice.key}",
        body=json.dumps(event_fields(notice), sort_keys=True),
        summary=render.summary(notice),
        created_at=now,
        not_before=now,
        opportunity_id=notice.opportunity_id,
    )
