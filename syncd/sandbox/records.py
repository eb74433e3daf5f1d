"""Checking one record of a write against the schema, as Salesforce does per record.

Each problem becomes an error in Salesforce's per-record shape
(``{"statusCode", "message", "fields"}``); the caller decides whether one failure rolls
the others back (allOrNone).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncd.sandbox.schema import ObjectSchema
from syncd.sandbox.values import ValueProblem, coerce

RecordErrors = list[dict[str, Any]]
# Fields whose values the org sets itself; nobody may write them, not even an admin edit.
SYSTEM_NAMES = frozenset(
    {"Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById"}
    | {"SystemModstamp"}
)


def error(code: str, message: str, fields: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    return {"statusCode": code, "message": message, "fields": list(fields)}


def clean_fields(
    obj: ObjectSchema,
    values: Mapping[str, Any],
    *,
    creating: bool,
    admin: bool = False,
) -> tuple[dict[str, Any], RecordErrors]:
    """Coerce ``values`` (Salesforce names, any case) into stored form, or say what is wrong.

    ``attributes`` and, on update, ``Id`` are envelope, not data. ``admin`` edits (the org
    UI, dataset loads) may set read-only fields such as IsWon, never the system ones.
    """
    cleaned: dict[str, Any] = {}
    errors: RecordErrors = []
    for key, value in values.items():
        if key == "attributes" or (key.lower() == "id" and not creating):
            continue
        field = obj.field(key)
        if field is None:
            errors.append(
                error(
                    "INVALID_FIELD",
                    f"No such column '{key}' on sobject of type {obj.name}",
                    [key],
                )
            )
            continue
        allowed = field.createable if creating else field.updateable
        if field.name in SYSTEM_NAMES or not (allowed or admin):
            action = "create" if creating else "update"
            errors.append(
                error(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to {action} fields: {field.name}. Please check the security "
                    "settings of this field and verify that it is read/write for your profile "
                    "or permission set.",
                    [field.name],
                )
            )
            continue
        try:
            cleaned[field.name] = coerce(field, value, obj.name)
        except ValueProblem as problem:
            errors.append(error(problem.code, str(problem), [field.name]))
    return cleaned, errors


def missing_required(obj: ObjectSchema, record: Mapping[str, Any]) -> RecordErrors:
    missing = [f.name for f in obj if f.required and record.get(f.name) in (None, "")]
    if not missing:
        return []
    return [error("REQUIRED_FIELD_MISSING", f"Required fields are missing: {missing}", missing)]


def blank_record(obj: ObjectSchema) -> dict[str, Any]:
    """Every field present, as a query of a fresh record would show it."""
    return {f.name: f.default for f in obj}
