"""Scorecards from the store: the mirror of the last cycle, the ledger, the current rules.

Zero API calls. The org is the one the last cycle read (``OrgState.from_store``, or the
daemon's own copy in memory); the policy decides it at the period's as-of instant; the
ledger is taken as it stood at that instant (occurrences first seen later left out, ones
resolved later still open), so a closed month's holds and open counts are that month's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from syncd.engine.attribution import DIMENSIONS
from syncd.engine.domain import Snapshot
from syncd.engine.enforcement import EnforcementRules, LedgerEntry, reconcile
from syncd.engine.evaluate import evaluate
from syncd.engine.period import Period
from syncd.engine.policy import Policy
from syncd.engine.scorecard import Inputs, Scorecard, scorecards
from syncd.engine.timeline import TimelinePoint, timeline
from syncd.errors import ConfigError
from syncd.store.store import Store
from syncd.sync.mapping import FieldMapping
from syncd.sync.orgstate import OrgState


@dataclass(frozen=True)
class ScorecardReport:
    period: Period
    by: dict[str, Scorecard]  # every dimension
    timeline: tuple[TimelinePoint, ...]
    policy_version: str
    generated_at: datetime


def mirrored_state(store: Store, mapping: FieldMapping) -> OrgState:
    """The org as the last cycle left it; an error when no cycle has filled the mirror."""
    state = OrgState.from_store(store, mapping)
    if state.empty:
        raise ConfigError(
            f"the mirror in {store.location} is empty: run a cycle first (`syncd sync`)"
        )
    return state


def ledger_at(ledger: Sequence[LedgerEntry], instant: datetime) -> list[LedgerEntry]:
    """The ledger as it stood at ``instant``."""
    return [
        e if e.resolved_at is None or e.resolved_at <= instant else replace(e, resolved_at=None)
        for e in ledger
        if e.first_seen <= instant
    ]


def scorecard_inputs(
    snapshot: Snapshot, ledger: Sequence[LedgerEntry], policy: Policy, as_of: datetime
) -> Inputs:
    """Decisions and compensation holds at ``as_of``, with everything else scorecards need."""
    decisions = evaluate(snapshot, policy, as_of)
    standing = ledger_at(ledger, as_of)
    rules = EnforcementRules.from_policy(policy)
    holds = reconcile(standing, decisions, snapshot, rules, as_of).holds
    return Inputs(
        snapshot=snapshot,
        decisions=decisions,
        holds=holds,
        ledger=ledger,
        regions=policy.regions.countries,
        fee_percent=policy.remedy.referral_fee_percent,
    )


def build_report(
    snapshot: Snapshot,
    ledger: Sequence[LedgerEntry],
    policy: Policy,
    period: Period,
    generated_at: datetime,
    inputs: Inputs | None = None,
) -> ScorecardReport:
    """Every dimension's scorecard for ``period`` (``inputs`` when already computed)."""
    inputs = inputs or scorecard_inputs(snapshot, ledger, policy, period.as_of)
    by = scorecards(inputs, period)
    assert tuple(by) == DIMENSIONS
    return ScorecardReport(period, by, timeline(ledger, period), policy.version, generated_at)
