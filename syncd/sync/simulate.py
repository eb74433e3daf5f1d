"""`syncd simulate`: a candidate rules file against the mirror of the last cycle. No API call.

Both the rules syncd runs with and the candidate decide the org as the last cycle read it
(``OrgState.from_store``), at the same instant, and each set of decisions is reconciled
with the same ledger; ``syncd.engine.whatif`` says what differs. The writes a cycle under
the candidate would make are planned against the values the mirror holds, exactly as a
cycle plans them, and so are the writes today's rules would make anyway (*drift*: zero
when the last cycle's writes all landed): candidate writes = drift + what the candidate
changes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from syncd.engine.cascade import Scope
from syncd.engine.domain import Decisions
from syncd.engine.enforcement import EnforcementRules, LedgerEntry, reconcile
from syncd.engine.evaluate import evaluate
from syncd.engine.policy import Policy, load_policy, owner_problems, policy_from_dict
from syncd.engine.whatif import Side, WhatIf, what_if
from syncd.errors import ConfigError
from syncd.sync.mapping import FieldMapping
from syncd.sync.orgstate import OrgState
from syncd.sync.plan import Plan, exception_clears, plan_writes, resync_clears
from syncd.validation import read_yaml


@dataclass(frozen=True)
class Simulation:
    whatif: WhatIf
    state: OrgState
    as_of: datetime
    current_version: str
    candidate_version: str
    writes: int  # records a cycle under the candidate would write
    drift: int  # records a cycle under today's rules would write anyway


def load_candidate(path: Path, named_accounts: Path | None = None) -> Policy:
    """The candidate rules file, its named accounts read from ``named_accounts`` if given."""
    if named_accounts is None:
        return load_policy(path)
    data = read_yaml(path, "rules")
    section = data.get("named_accounts") if isinstance(data, dict) else None
    source = section.get("source", "field") if isinstance(section, dict) else "field"
    if source == "field":
        raise ConfigError(
            f"{path}: --named-accounts needs named_accounts.source 'csv' or 'both' in the "
            "candidate rules file (it is 'field', so the CSV would not count)"
        )
    assert isinstance(section, dict)
    data["named_accounts"] = {**section, "csv_file": str(named_accounts.resolve())}
    candidate = policy_from_dict(data, source=str(path), base_dir=path.parent)
    problems = owner_problems(candidate)
    if problems:
        raise ConfigError(f"{path}: invalid rules file", source=str(path), problems=problems)
    return candidate


def simulate(
    state: OrgState,
    ledger: Sequence[LedgerEntry],
    mapping: FieldMapping,
    current: Policy,
    candidate: Policy,
    as_of: datetime,
) -> Simulation:
    today = _side(state, ledger, current, as_of)
    drift = _plan(state, mapping, today)
    proposed = _side(state, ledger, candidate, as_of)
    found = what_if(state.snapshot, today, proposed, candidate.regions.countries)
    # Where the candidate decides as today's rules do, it writes what they write (drift):
    # only the records it changes, and the drift, need planning under it.
    touched = {c.record_id for c in (*found.accounts, *found.deals)}
    touched |= {w.record_id for w in (*drift.accounts, *drift.opportunities)}
    writes = _plan(state, mapping, proposed, only=touched)
    return Simulation(
        found, state, as_of, current.version, candidate.version, writes.total, drift.total
    )


def _side(state: OrgState, ledger: Sequence[LedgerEntry], policy: Policy, now: datetime) -> Side:
    snapshot = state.snapshot
    decisions = evaluate(snapshot, policy, now)
    enforcement = reconcile(ledger, decisions, snapshot, EnforcementRules.from_policy(policy), now)
    return Side(decisions, enforcement, policy.remedy.referral_fee_percent)


def _plan(
    state: OrgState, mapping: FieldMapping, side: Side, only: Collection[str] | None = None
) -> Plan:
    """The writes a cycle deciding this way makes (of the records ``only``), as it plans them."""
    decisions = side.decisions
    scope = None
    if only is not None:
        decisions = Decisions(
            {k: decisions.accounts[k] for k in only if k in decisions.accounts},
            {k: decisions.opportunities[k] for k in only if k in decisions.opportunities},
            decisions.policy_version,
        )
        scope = Scope(frozenset(decisions.accounts), frozenset(decisions.opportunities))
    return plan_writes(
        decisions,
        state.current,
        mapping,
        holds=side.enforcement.holds,
        account_extras=resync_clears(state.snapshot, mapping, scope),
        opportunity_extras=exception_clears(decisions, state.snapshot, mapping),
    )
