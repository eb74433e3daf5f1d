"""What a committed cycle leaves for the next one: a typed value, advanced by pure functions.

The cycle never edits the stored state piecemeal: it computes the next ``CycleState``
from the last one and what it did (``advanced``), and the store writes that value in the
same transaction as the ledger, the mirror and the run record (``Store.commit_cycle``).
A cycle that dies before the commit leaves the previous state whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from types import MappingProxyType

_NO_MARKS: Mapping[str, datetime] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class CycleState:
    """The store's knowledge of the org as of the last committed cycle."""

    # The Salesforce organization this store belongs to (None: not bound yet).
    org_id: str | None = None
    # Per watched object: the org's clock when its last read ran (reads resume from it).
    watermarks: Mapping[str, datetime] = field(default_factory=lambda: _NO_MARKS)
    rules_fingerprint: str | None = None  # the policy without the named-account list
    policy_fingerprint: str | None = None  # the whole policy (logged when it changes)
    mapping_fingerprint: str | None = None  # a new mapping reads other fields: full cycle
    named_accounts: frozenset[str] = frozenset()  # the CSV list decided against
    evaluated_on: date | None = None  # the day decisions were last made (time decides)
    # Records whose write or Task failed: the next incremental cycle decides them again.
    retry_ids: frozenset[str] = frozenset()
    state_run: str | None = None  # the run whose org state the mirror holds
    links_complete: bool = False  # the store's links table holds every mirrored record's

    @property
    def empty(self) -> bool:
        return self.state_run is None and not self.watermarks


@dataclass(frozen=True, slots=True)
class Fingerprints:
    rules: str
    policy: str
    mapping: str
    named_accounts: frozenset[str]


def advanced(
    state: CycleState,
    *,
    run_id: str,
    watermarks: Mapping[str, datetime],
    fingerprints: Fingerprints,
    now: datetime,
    retry_ids: Iterable[str],
    org_id: str | None = None,
) -> CycleState:
    """The state after a cycle whose writes are done: marks only move forward."""
    marks = dict(state.watermarks)
    for sobject, value in watermarks.items():
        before = marks.get(sobject)
        if before is None or value > before:
            marks[sobject] = value
    return replace(
        state,
        org_id=org_id or state.org_id,
        watermarks=MappingProxyType(marks),
        rules_fingerprint=fingerprints.rules,
        policy_fingerprint=fingerprints.policy,
        mapping_fingerprint=fingerprints.mapping,
        named_accounts=fingerprints.named_accounts,
        evaluated_on=now.date(),
        retry_ids=frozenset(i for i in retry_ids if i),
        state_run=run_id,
    )


def bound(state: CycleState, org_id: str) -> CycleState:
    """The state of a store now known to belong to ``org_id``."""
    return replace(state, org_id=org_id)
