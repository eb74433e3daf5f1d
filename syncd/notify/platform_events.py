"""RoE_Violation__e: one platform event per new violation, for orgs that notify with Flow.

Published by the cycle itself, after its Tasks, through sObject Collections (200 events a
call, counted like every call of the cycle), and never while the cycle holds its writes
for the API budget (a budget-hold cycle does not reach its push). Each event waits in the
outbox until it is published, so one that fails is published by a later cycle; a cycle
that dies after publishing publishes again on its rerun, so subscribers drop repeats by
``Occurrence_Key__c``. A failure here never fails the cycle.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from syncd.errors import SyncdError
from syncd.notify.message import Notice, OutboxMessage
from syncd.salesforce import OrgClient

log = structlog.get_logger("syncd.notify")

SOBJECT = "RoE_Violation__e"
# Text lengths of the event's fields (mappings/salesforce/.../RoE_Violation__e).
_LIMITS = {
    "Occurrence_Key__c": 80,
    "Opportunity_Id__c": 18,
    "Opportunity_Name__c": 120,
    "Code__c": 80,
    "Rep_Id__c": 18,
    "Rep_Name__c": 121,
    "Partner_Id__c": 18,
    "Partner_Name__c": 255,
    "Reason__c": 255,
    "Remedy__c": 255,
    "Currency__c": 3,
    "Link__c": 255,
}


def event_fields(notice: Notice) -> dict[str, Any]:
    values: dict[str, Any] = {
        "Occurrence_Key__c": notice.key,
        "Opportunity_Id__c": notice.opportunity_id,
        "Opportunity_Name__c": notice.deal,
        "Code__c": notice.code,
        "Level__c": notice.level,
        "Rep_Id__c": notice.rep_id,
        "Rep_Name__c": notice.rep,
        "Partner_Id__c": notice.partner_id,
        "Partner_Name__c": notice.partner,
        "Reason__c": notice.reason or notice.rule,
        "Remedy__c": notice.remedy,
        "Amount__c": float(notice.amount) if notice.amount is not None else None,
        "Currency__c": notice.currency,
        "Link__c": notice.link,
    }
    for name, limit in _LIMITS.items():
        if isinstance(values[name], str):
            values[name] = values[name][:limit]
    return values


@dataclass
class Published:
    sent: list[str] = field(default_factory=list)  # outbox keys
    failed: dict[str, str] = field(default_factory=dict)  # outbox key -> why


def publish(client: OrgClient, messages: Sequence[OutboxMessage]) -> Published:
    """Create the events (the client sends 200 a call); per-event results by outbox key."""
    out = Published()
    if not messages:
        return out
    try:
        results = client.create(SOBJECT, [json.loads(m.body) for m in messages])
    except SyncdError as exc:  # classified by the client: the cycle goes on without them
        log.warning("notify.events_failed", events=len(messages), error=str(exc)[:300])
        out.failed = {m.key: f"{type(exc).__name__}: {exc}"[:500] for m in messages}
        return out
    for result in results:
        key = messages[result.index].key
        if result.success:
            out.sent.append(key)
        else:
            codes = ", ".join(f"{e.code}: {e.message}" for e in result.errors) or "refused"
            out.failed[key] = codes[:500]
    if out.failed:
        log.warning("notify.events_refused", refused=len(out.failed), sent=len(out.sent))
    log.info("notify.events_published", events=len(out.sent))
    return out
