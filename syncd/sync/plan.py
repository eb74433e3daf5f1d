"""Plan: compare decisions with what the records hold now; keep only fields that differ.

Pure. Diff-only writes are what make the daemon's echo converge: its own writes come back
in the next pull with the values it wrote, and then nothing differs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, overload

from syncd.engine.cascade import Scope
from syncd.engine.domain import Decisions, Snapshot
from syncd.engine.enforcement import Hold
from syncd.sync.mapping import FieldMapping, account_values, opportunity_values

TEXT_LIMIT = 255  # RoE_Reason__c and RoE_Remedy__c are text(255)


@dataclass(frozen=True, slots=True)
class RecordWrite:
    sobject: str
    record_id: str
    values: Mapping[str, Any]  # only the fields that change
    # The record's values in syncd's fields when planned (shared, not copied: a first
    # cycle over a large org plans a million writes).
    held: Mapping[str, Any] = field(default_factory=dict)

    @property
    def before(self) -> dict[str, Any]:
        """What the changing fields held (for dry runs and the audit)."""
        return {name: self.held.get(name) for name in self.values}

    def payload(self) -> dict[str, Any]:
        return {"Id": self.record_id, **self.values}


class Payloads(Sequence[Mapping[str, Any]]):
    """The writes' request payloads, each made when asked for: a first full cycle writes
    a million records, whose payloads are never all held at once."""

    def __init__(self, writes: Sequence[RecordWrite]) -> None:
        self._writes = writes

    def __len__(self) -> int:
        return len(self._writes)

    @overload
    def __getitem__(self, index: int) -> Mapping[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Mapping[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> Mapping[str, Any] | Sequence[Mapping[str, Any]]:
        if isinstance(index, slice):
            return [w.payload() for w in self._writes[index]]
        return self._writes[index].payload()

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        return (w.payload() for w in self._writes)


@dataclass(frozen=True, slots=True)
class Plan:
    accounts: tuple[RecordWrite, ...]
    opportunities: tuple[RecordWrite, ...]

    @property
    def total(self) -> int:
        return len(self.accounts) + len(self.opportunities)


def same_value(current: Any, wanted: Any) -> bool:
    """Salesforce returns null for empty text, floats for currency, booleans for checkboxes."""
    if current in ("", None) and wanted in ("", None):
        return True
    if isinstance(wanted, bool) or isinstance(current, bool):
        return _as_bool(current) == _as_bool(wanted)
    if isinstance(wanted, int | float | Decimal) and isinstance(current, int | float | Decimal):
        return Decimal(str(current)) == Decimal(str(wanted))
    return current == wanted


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.lower())
    return None if value is None else bool(value)


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > TEXT_LIMIT:
        return value[: TEXT_LIMIT - 1] + "…"
    return value


def diff(
    sobject: str, record_id: str, wanted: Mapping[str, Any], current: Mapping[str, Any]
) -> RecordWrite | None:
    changed = {
        field: _clip(value)
        for field, value in wanted.items()
        if not same_value(current.get(field), _clip(value))
    }
    if not changed:
        return None
    return RecordWrite(sobject, record_id, changed, current)


def plan_writes(
    decisions: Decisions,
    current: Mapping[str, Mapping[str, Any]],
    mapping: FieldMapping,
    *,
    holds: Mapping[str, Hold] | None = None,
    account_extras: Mapping[str, Mapping[str, Any]] | None = None,
    opportunity_extras: Mapping[str, Mapping[str, Any]] | None = None,
) -> Plan:
    """``current`` maps record Id -> the values its written fields hold now.

    ``holds`` are deals whose compensation the violation ledger keeps withheld (and
    whose remedy it keeps) regardless of the engine's present view: a standing or sticky
    violation. ``account_extras`` / ``opportunity_extras`` are further values to write
    (clearing the resync or exception-request box), also for records not decided.
    """
    holds = holds or {}
    extras = account_extras or {}
    accounts = []
    for account_id in sorted(set(decisions.accounts) | set(extras)):
        decision = decisions.accounts.get(account_id)
        wanted = account_values(decision, mapping) if decision else {}
        write = diff(
            mapping.account.sobject,
            account_id,
            {**wanted, **extras.get(account_id, {})},
            current.get(account_id, {}),
        )
        if write:
            accounts.append(write)
    opp_extras = opportunity_extras or {}
    opportunities = []
    for opp_id, opp_decision in sorted(decisions.opportunities.items()):
        hold = holds.get(opp_id)
        wanted = opportunity_values(
            opp_decision,
            mapping,
            comp_eligible=False if hold is not None else None,
            remedy=hold.remedy if hold is not None else None,
            held=hold.words if hold is not None else None,
        )
        write = diff(
            mapping.opportunity.sobject,
            opp_id,
            {**wanted, **opp_extras.get(opp_id, {})},
            current.get(opp_id, {}),
        )
        if write:
            opportunities.append(write)
    return Plan(tuple(accounts), tuple(opportunities))


def resync_clears(
    snapshot: Snapshot, mapping: FieldMapping, scope: Scope | None = None
) -> dict[str, dict[str, Any]]:
    """Untick RoE_Resync_Requested__c on the accounts this cycle re-evaluated."""
    field_name = mapping.account.read.resync_requested
    if not field_name:
        return {}
    accounts: Iterable[str] = snapshot.accounts if scope is None else scope.accounts
    return {
        key: {field_name: False}
        for key in accounts
        if key in snapshot.accounts and snapshot.accounts[key].resync_requested
    }


def exception_clears(
    decisions: Decisions, snapshot: Snapshot, mapping: FieldMapping
) -> dict[str, dict[str, Any]]:
    """Untick RoE_Exception_Requested__c where channel operations rejected the request."""
    field_name = mapping.opportunity.read.exception_requested
    if not field_name:
        return {}
    return {
        key: {field_name: False}
        for key, decision in decisions.opportunities.items()
        if "EXCEPTION_REJECTED" in decision.reasons
        and snapshot.opportunities[key].exception_requested
    }
