"""What a cycle's results give people to hear about: notices, from the ledger reconciliation. Pure.

A notice is due once per occurrence, the first time syncd knows of it:

- a **new violation** or **exception request**: an open entry whose key the committed
  ledger does not hold — a new occurrence, or a Task adopted from the org because the
  cycle that created it died before committing (it was never announced). A store that
  knows nothing yet (its first run, or a lost store) adopts pre-existing Tasks silently:
  people heard of those when they happened;
- a **remedy owed**: an open violation with a remedy that the committed ledger did not
  have (the deal closed won, or a new occurrence already owes one).

A Task refused and retried is no news: its key is in the ledger. What was already
announced is decided by the outbox's keys as well, so a rerun never repeats itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from syncd.engine.domain import Decisions, Opportunity, OpportunityDecision, Snapshot, User
from syncd.engine.enforcement import REVIEW, VIOLATION, Enforcement, LedgerEntry
from syncd.notify.message import Kind, Notice


@dataclass(frozen=True)
class CycleFacts:
    snapshot: Snapshot
    decisions: Decisions
    enforcement: Enforcement
    stored: Mapping[str, LedgerEntry]  # the ledger as committed before this cycle, by key
    adopted: Sequence[LedgerEntry]  # entries learned from the org's Tasks this cycle
    fresh_store: bool  # no committed cycle nor an earlier run: adopted Tasks are old news
    instance_url: str  # the org's, from the client's login
    currency: str  # of Amount when the deal carries none
    actions: Mapping[int, str]  # escalation level -> action (warning, ...)


def notices(facts: CycleFacts) -> list[Notice]:
    out: list[Notice] = []
    adopted = {e.key for e in facts.adopted}
    for entry in _standing(facts.enforcement):
        opp = facts.snapshot.opportunities.get(entry.opportunity_id)
        if opp is None or not entry.is_open:
            continue
        if facts.fresh_store and entry.key in adopted:
            continue  # an old Task found by a store that remembers nothing
        known = facts.stored.get(entry.key)
        if known is None:
            kind = Kind.EXCEPTION if entry.kind == REVIEW else Kind.VIOLATION
            out.append(_notice(kind, entry, opp, facts))
        if entry.kind == VIOLATION and entry.remedy and not (known and known.remedy):
            out.append(_notice(Kind.REMEDY, entry, opp, facts))
    return out


def _standing(enforcement: Enforcement) -> Iterable[LedgerEntry]:
    """Open entries after this cycle, each once (a retried Task is opened and seen)."""
    seen: dict[str, LedgerEntry] = {}
    for entry in (*enforcement.opened, *enforcement.seen):
        seen.setdefault(entry.key, entry)
    return seen.values()


def _notice(kind: Kind, entry: LedgerEntry, opp: Opportunity, facts: CycleFacts) -> Notice:
    snapshot = facts.snapshot
    decision = facts.decisions.opportunities.get(opp.id)
    rep_id = entry.rep_id or opp.owner_id
    rep = snapshot.users.get(rep_id or "")
    manager = _manager(rep, snapshot)
    partner_id = entry.partner_id or (decision.protected_partner_id if decision else None)
    partner = snapshot.accounts.get(partner_id or "")
    account = snapshot.accounts.get(opp.account_id or "")
    return Notice(
        kind=kind,
        key=entry.key,
        opportunity_id=opp.id,
        deal=opp.name or opp.id,
        account=account.name if account and account.name else opp.account_id or "",
        code=entry.code,
        rule=_rule(entry, decision),
        reason=decision.reason_text if decision else "",
        link=record_link(facts.instance_url, opp.id),
        currency=opp.currency or facts.currency,
        amount=opp.amount,
        rep_id=rep_id,
        rep=rep.name if rep and rep.name else rep_id or "unknown",
        manager_id=manager.id if manager else None,
        manager_email=_email(manager),
        partner_id=partner_id,
        partner=partner.name if partner and partner.name else partner_id,
        level=entry.level,
        action=facts.actions.get(entry.level) if entry.kind == VIOLATION else None,
        remedy=entry.remedy,
        exception_reason=opp.exception_reason if entry.kind == REVIEW else None,
        closed_won=opp.is_won,
    )


def record_link(instance_url: str, record_id: str, sobject: str = "Opportunity") -> str:
    return f"{instance_url.rstrip('/')}/lightning/r/{sobject}/{record_id}/view"


def _rule(entry: LedgerEntry, decision: OpportunityDecision | None) -> str:
    if entry.kind == REVIEW:
        standing = [v.code for v in decision.violations] if decision else []
        return "the rep asked for an exception" + (f" to {', '.join(standing)}" if standing else "")
    found = [v.message for v in decision.violations if v.code == entry.code] if decision else []
    return found[0] if found else entry.code


def _manager(rep: User | None, snapshot: Snapshot) -> User | None:
    if rep is None or not rep.manager_id:
        return None
    manager = snapshot.users.get(rep.manager_id)
    return manager if manager is not None and manager.is_active else None


def _email(user: User | None) -> str | None:
    value = user.extra.get("email") if user is not None else None
    return value.strip().lower() if isinstance(value, str) and value.strip() else None
