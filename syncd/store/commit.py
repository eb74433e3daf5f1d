"""What one cycle commits, as values: the store writes a ``CycleCommit`` in ONE transaction.

Everything a cycle leaves behind — the run record, the next typed state (watermarks,
fingerprints, retry list), the ledger entries it opened, saw or closed, the mirror's
move and the resync requests it answered — is committed together, so a process killed
at any instant leaves either the previous cycle's state or this one's, never a mix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from syncd.engine.enforcement import LedgerEntry
from syncd.engine.history import HistoryEvent
from syncd.notify.message import OutboxChange
from syncd.store.state import CycleState

Record = Mapping[str, Any]
_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class RunFinish:
    """How a run ended, with its counts (the run row was inserted when it started)."""

    run_id: str
    outcome: str
    finished_at: datetime
    records_read: int = 0
    records_written: int = 0
    write_failures: int = 0
    api_calls: int = 0
    error: str | None = None
    api_used: int | None = None
    api_max: int | None = None
    budget_hold: bool = False


@dataclass(frozen=True, slots=True)
class MirrorChange:
    """How the mirror moves: a full read's staging replaces it, a change read merges in.

    ``written``: for records syncd wrote this cycle, the values its fields hold now
    (all of syncd's fields, not only the changed ones), until their echo is read back.
    Read once, as the commit saves them: a first full cycle may hand generators, so a
    million records' values are made batch by batch instead of held at once.
    """

    promote: tuple[str, ...] = ()  # full read: the staged rows of these objects replace them
    merge_stage: bool = False  # change read: staged rows replace their mirrored versions
    upserts: Mapping[str, Sequence[Record]] = field(default_factory=lambda: _EMPTY)
    deletes: Mapping[str, Sequence[str]] = field(default_factory=lambda: _EMPTY)
    written: Mapping[str, Iterable[tuple[str, Record]]] = field(default_factory=lambda: _EMPTY)
    links: LinkChange | None = None  # None: the links table is no longer complete


@dataclass(frozen=True, slots=True)
class LinkChange:
    """How the links table moves (``syncd.engine.links``): the links of ``sources`` are
    replaced by ``rows`` (link, source, target); ``complete``: every row, replacing all."""

    complete: bool = False
    sources: Sequence[str] = ()
    rows: Iterable[tuple[str, str, str]] = ()


@dataclass(frozen=True, slots=True)
class CycleCommit:
    run: RunFinish
    state: CycleState | None = None  # None: the cycle moved nothing (dry run, budget hold)
    ledger: Sequence[LedgerEntry] = ()
    mirror: MirrorChange | None = None
    resyncs_done: Sequence[int] = ()
    outbox: OutboxChange | None = None  # notifications to send (syncd.notify)
    # The decision history's new events. Consumed once, in batches, first in the commit
    # (before the mirror moves): a first full cycle records a change on nearly every
    # record, so the cycle hands a generator rather than a million events at once.
    history: Iterable[HistoryEvent] = ()
