"""Read just what deciding one account or opportunity needs (for ``syncd explain``).

The record, every deal on its account (a registration conflict is decided among
them), the account's parent chain and the partner accounts the records name, and the
deals' owners with their managers: a handful of queries instead of a full pull.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from syncd.engine.domain import Account, Opportunity, Snapshot, User
from syncd.salesforce import OrgClient, pull_by_ids
from syncd.sfid import to_18
from syncd.sync.mapping import FieldMapping, to_account, to_opportunity, to_user
from syncd.sync.reader import primary_partners

OPPORTUNITY_PREFIX = "006"
MAX_CHAIN = 50  # parent chains deeper than this are data errors; the engine notes them


def read_related(client: OrgClient, mapping: FieldMapping, record_id: str) -> Snapshot:
    record_id = to_18(record_id)
    account_ids = _account_of(client, mapping, record_id)
    opps = _opportunities(client, mapping, record_id, account_ids)
    users = _users(client, mapping, [o.owner_id for o in opps])
    accounts = _accounts(client, mapping, account_ids, opps, users)
    return Snapshot(
        accounts={a.id: a for a in accounts},
        opportunities={o.id: o for o in opps},
        users={u.id: u for u in users},
    )


def _records(
    client: OrgClient,
    sobject: str,
    fields: list[str],
    ids: Iterable[str | None],
    key: str = "Id",
) -> Iterator[dict[str, Any]]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return
    for page in pull_by_ids(client, sobject, fields, wanted, id_field=key):
        yield from page


def _account_of(client: OrgClient, mapping: FieldMapping, record_id: str) -> set[str]:
    if not record_id.startswith(OPPORTUNITY_PREFIX):
        return {record_id}
    key = mapping.opportunity.read.account_id
    records = _records(client, mapping.opportunity.sobject, [key], [record_id])
    return {str(r[key]) for r in records if r.get(key)}


def _opportunities(
    client: OrgClient, mapping: FieldMapping, record_id: str, account_ids: set[str]
) -> list[Opportunity]:
    fields = mapping.opportunity_fields()
    sobject = mapping.opportunity.sobject
    key = mapping.opportunity.read.account_id
    records = list(_records(client, sobject, fields, account_ids, key))
    if record_id.startswith(OPPORTUNITY_PREFIX) and not any(
        r.get("Id") == record_id for r in records
    ):  # an opportunity without an account (or one syncd cannot see)
        records += list(_records(client, sobject, fields, [record_id]))
    partners: dict[str, str] = {}
    if mapping.opportunity.partner_source == "opportunity_partner":
        partners = primary_partners(client, [str(r["Id"]) for r in records])
    return [to_opportunity(r, mapping, partner_id=partners.get(str(r["Id"]))) for r in records]


def _accounts(
    client: OrgClient,
    mapping: FieldMapping,
    account_ids: set[str],
    opps: list[Opportunity],
    users: list[User],
) -> list[Account]:
    """The accounts, their parent chains, and every partner account referenced (whether it
    is a partner decides the deal), portal owners' companies included."""
    wanted = set(account_ids) | {u.partner_account_id for u in users if u.partner_account_id}
    for opp in opps:
        wanted.update(
            i
            for i in (opp.partner_id, opp.registration.partner_id if opp.registration else None)
            if i
        )
    found: dict[str, Account] = {}
    for _ in range(MAX_CHAIN):
        missing = wanted - set(found)
        if not missing:
            break
        fetched = [
            to_account(r, mapping)
            for r in _records(client, mapping.account.sobject, mapping.account_fields(), missing)
        ]
        if not fetched:
            break
        for account in fetched:
            found[account.id] = account
        wanted = {
            ref
            for a in found.values()
            for ref in (a.parent_id, a.incumbent_partner_id)
            if ref and ref not in found
        }
    return list(found.values())


def _users(client: OrgClient, mapping: FieldMapping, ids: Iterable[str | None]) -> list[User]:
    fields = mapping.user_fields()
    users = [to_user(r, mapping) for r in _records(client, mapping.user.sobject, fields, ids)]
    managers = {u.manager_id for u in users if u.manager_id} - {u.id for u in users}
    users += [to_user(r, mapping) for r in _records(client, mapping.user.sobject, fields, managers)]
    return users
