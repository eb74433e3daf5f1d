"""Helpers of SandboxOrg: the allOrNone transaction, result shapes, Id and load checks,
cascade and merge rules, tombstones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from syncd.sandbox.records import SYSTEM_NAMES, RecordErrors, error
from syncd.sandbox.schema import PREFIX_TO_OBJECT, SCHEMA, ObjectSchema
from syncd.sandbox.values import ValueProblem, coerce
from syncd.sfid import InvalidSalesforceId, to_18

Result = dict[str, Any]
# (table, sobject, id, previous value): table is "live" or "dead" (tombstones).
UndoLog = list[tuple[str, str, str, dict[str, Any] | None]]


class Undoable(Protocol):
    """The org as a Transaction sees it (so this module never imports ``org``): an undo
    log its writes fill while one is open, and a way to replay it backwards."""

    _undo: UndoLog | None

    def _rollback(self, log: UndoLog) -> None: ...


class Transaction:
    """Collects results; with allOrNone, one failure undoes the others' writes."""

    def __init__(self, org: Undoable, all_or_none: bool) -> None:
        self.org = org
        self.all_or_none = all_or_none
        self.results: list[Result] = []

    def __enter__(self) -> list[Result]:
        if self.all_or_none:
            self.org._undo = []
        return self.results

    def __exit__(self, *exc: object) -> None:
        log, self.org._undo = self.org._undo, None
        failed = exc[0] is not None or any(not r["success"] for r in self.results)
        if not (self.all_or_none and failed and log is not None):
            return
        self.org._rollback(log)
        rolled = error(
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "Record rolled back because not all records were valid and the request was using "
            "AllOrNone header",
        )
        for result in self.results:
            if result["success"]:
                result.update(success=False, errors=[rolled], id=None)
                if "created" in result:
                    result["created"] = False


def failed(record_id: Any, errors: RecordErrors) -> Result:
    return {"id": record_id if isinstance(record_id, str) else None, "success": False,
            "errors": errors}  # fmt: skip


def fault_error(code: str, record_id: str) -> dict[str, Any]:
    if code == "UNABLE_TO_LOCK_ROW":
        message = f"unable to obtain exclusive access to this record or 1 records: {record_id}"
    else:
        message = f"sandbox fault injected for {record_id}: {code}"
    return error(code, message)


def id18(value: object) -> str | None:
    try:
        return to_18(value)  # type: ignore[arg-type]
    except InvalidSalesforceId:
        return None


def load_id(obj: ObjectSchema, given: object, what: str) -> str | None:
    if given in (None, ""):
        return None
    full = id18(given)
    if full is None or PREFIX_TO_OBJECT.get(full[:3]) not in (None, obj.name):
        raise ValueError(f"{what}: Id {given!r} is not a valid {obj.name} Id")
    return full


def raise_on(errors: RecordErrors, what: str) -> None:
    if errors:
        detail = "; ".join(f"{e['statusCode']}: {e['message']}" for e in errors)
        raise ValueError(f"{what}: {detail}")


def given_value(obj: ObjectSchema, name: str, value: Any, what: str) -> Any:
    try:
        return coerce(obj.fields[name], value, obj.name)
    except ValueProblem as problem:
        raise ValueError(f"{what}: {problem}") from None


# Deleting a parent deletes these children too (sobject -> (child sobject, lookup field)),
# as Salesforce does for an Account's Opportunities.
CASCADE: dict[str, tuple[tuple[str, str], ...]] = {"Account": (("Opportunity", "AccountId"),)}
MERGEABLE = frozenset({"Account"})
MAX_MERGE_LOSERS = 2  # Salesforce merges at most three records in one call


def merge_references(target: str) -> tuple[tuple[str, str], ...]:
    """(sobject, field) pairs a merge re-points: every data lookup to ``target``.

    Salesforce re-parents all related records, custom lookups included; audit fields,
    MasterRecordId and Users (portal users are never re-parented) are left alone.
    """
    return tuple(
        (obj.name, field.name)
        for obj in SCHEMA.values()
        if obj.name != "User"
        for field in obj
        if target in field.reference_to
        and field.name not in SYSTEM_NAMES
        and field.name != "MasterRecordId"
    )


def check_merge(sobject: str, master: str, losers: Sequence[str]) -> None:
    """Refuse merges Salesforce refuses, naming the records."""
    if sobject not in MERGEABLE:
        raise ValueError(f"the sandbox org merges only {', '.join(sorted(MERGEABLE))}, "
                         f"not {sobject}")  # fmt: skip
    if not 1 <= len(losers) <= MAX_MERGE_LOSERS:
        raise ValueError(f"a merge takes 1 to {MAX_MERGE_LOSERS} losing records, got "
                         f"{len(losers)}")  # fmt: skip
    if master in losers or len(set(losers)) != len(losers):
        raise ValueError(f"merge of {sobject} {master}: the master and each loser must be "
                         f"different records, got losers {list(losers)}")  # fmt: skip


def tombstone(record: Mapping[str, Any], stamp: str, user: str,
              master: str | None) -> dict[str, Any]:  # fmt: skip
    """The deleted row queryAll shows: deleting is a modification, so the audit moves."""
    dead = {**record, "IsDeleted": True, "SystemModstamp": stamp, "LastModifiedDate": stamp,
            "LastModifiedById": user}  # fmt: skip
    if master is not None:
        dead["MasterRecordId"] = master
    return dead
