"""Read the org into a domain snapshot: Users, Accounts, Opportunities, page by page.

Keeps, beside the snapshot, the values each record holds now in the fields syncd writes
(for the diff) and the newest SystemModstamp per object (the watermark candidates).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import structlog

from syncd.domain import Snapshot
from syncd.mapping import FieldMapping, to_account, to_opportunity, to_user, written_values
from syncd.salesforce import OrgClient, pull
from syncd.salesforce.soql import select, soql_format
from syncd.store import Store

log = structlog.get_logger("syncd.reader")

# Mirror key for Opportunity Id -> primary OpportunityPartner AccountToId.
PARTNER_ROWS = "OpportunityPartner.primary"


class ProgressSink(Protocol):
    """Told how long work advances (the CLI draws a bar on a terminal)."""

    def update(self, phase: str, done: int, total: int | None = None) -> None: ...


class NoProgress:
    def update(self, phase: str, done: int, total: int | None = None) -> None:
        return None


@dataclass
class OrgRead:
    snapshot: Snapshot
    current: dict[str, dict[str, Any]]  # record Id -> values of the fields syncd writes
    read: dict[str, int]  # records read per object
    watermarks: dict[str, datetime] = field(default_factory=dict)
    # The records as read (mapped fields only), for the store's mirror.
    raw: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def read_org(client: OrgClient, mapping: FieldMapping, progress: ProgressSink) -> OrgRead:
    read: dict[str, int] = {}
    marks: dict[str, datetime] = {}
    current: dict[str, dict[str, Any]] = {}
    raw: dict[str, list[dict[str, Any]]] = {}

    def records(sobject: str, fields: list[str]) -> Iterable[dict[str, Any]]:
        count = 0
        kept = raw.setdefault(sobject, [])
        for page in pull(client, sobject, fields):
            for record in page:
                _note_watermark(marks, sobject, record.get("SystemModstamp"))
                kept.append(record)
                yield record
            count += len(page)
            progress.update(f"pull {sobject}", count)
        read[sobject] = count
        log.info("pull.done", sobject=sobject, records=count)

    users = {}
    for record in records(mapping.user.sobject, mapping.user_fields()):
        user = to_user(record, mapping)
        users[user.id] = user

    account_writes = list(mapping.account.write.model_dump().values())
    if mapping.account.read.resync_requested:  # syncd clears the box once it has resynced
        account_writes.append(mapping.account.read.resync_requested)
    accounts = {}
    for record in records(mapping.account.sobject, mapping.account_fields()):
        account = to_account(record, mapping)
        accounts[account.id] = account
        current[account.id] = written_values(record, account_writes)

    partners = {}
    if mapping.opportunity.partner_source == "opportunity_partner":
        partners = _primary_partners(client, read)
        raw[PARTNER_ROWS] = [{"Id": k, "AccountToId": v} for k, v in partners.items()]
    opp_writes = list(mapping.opportunity.write.model_dump().values())
    opportunities = {}
    for record in records(mapping.opportunity.sobject, mapping.opportunity_fields()):
        opp = to_opportunity(record, mapping, partner_id=partners.get(str(record.get("Id"))))
        opportunities[opp.id] = opp
        current[opp.id] = written_values(record, opp_writes)

    snapshot = Snapshot(accounts=accounts, opportunities=opportunities, users=users)
    return OrgRead(snapshot, current, read, marks, raw)


def snapshot_from_mirror(store: Store, mapping: FieldMapping) -> Snapshot:
    """The snapshot as of the last cycle, rebuilt from the store's mirror (no API calls)."""
    users = {
        u.id: u for u in (to_user(r, mapping) for r in store.mirror_records(mapping.user.sobject))
    }
    accounts = {
        a.id: a
        for a in (to_account(r, mapping) for r in store.mirror_records(mapping.account.sobject))
    }
    partners = {r["Id"]: r["AccountToId"] for r in store.mirror_records(PARTNER_ROWS)}
    opportunities = {
        o.id: o
        for o in (
            to_opportunity(r, mapping, partner_id=partners.get(str(r.get("Id"))))
            for r in store.mirror_records(mapping.opportunity.sobject)
        )
    }
    return Snapshot(accounts=accounts, opportunities=opportunities, users=users)


def _primary_partners(client: OrgClient, read: dict[str, int]) -> dict[str, str]:
    """Opportunity Id -> AccountToId of its primary OpportunityPartner row."""
    soql = select(
        "OpportunityPartner",
        ["OpportunityId", "AccountToId"],
        where=soql_format("IsPrimary = {}", True),
    )
    partners: dict[str, str] = {}
    count = 0
    for record in client.query(soql):
        count += 1
        if record.get("OpportunityId") and record.get("AccountToId"):
            partners[record["OpportunityId"]] = record["AccountToId"]
    read["OpportunityPartner"] = count
    return partners


def _note_watermark(marks: dict[str, datetime], sobject: str, value: Any) -> None:
    if not isinstance(value, str):
        return
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return
    if stamp.tzinfo is not None and (sobject not in marks or stamp > marks[sobject]):
        marks[sobject] = stamp
