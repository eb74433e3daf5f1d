"""Helpers of SandboxOrg: the allOrNone transaction, result shapes, Id and load checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from syncd.sandbox.records import RecordErrors, error
from syncd.sandbox.schema import PREFIX_TO_OBJECT, ObjectSchema
from syncd.sandbox.values import ValueProblem, coerce
from syncd.sfid import InvalidSalesforceId, to_18

if TYPE_CHECKING:
    from syncd.sandbox.org import SandboxOrg

Result = dict[str, Any]


class Transaction:
    """Collects results; with allOrNone, one failure undoes the others' writes."""

    def __init__(self, org: SandboxOrg, all_or_none: bool) -> None:
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
