"""sObject Collections: ``composite/sobjects`` create, update, upsert and delete.

Up to 200 records a request; ``allOrNone`` false (the default) writes the good records
and reports the bad ones; true writes nothing when one fails. A malformed request is a
400 for the whole call; per-record problems are a 200 with one result per record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncd.sandbox.org import SandboxOrg
from syncd.sandbox.reply import NOT_FOUND, Call, Reply, fail
from syncd.sandbox.schema import object_schema

MAX_RECORDS = 200
Forced = Callable[[str], str | None]


def collections_call(org: SandboxOrg, call: Call, forced: Forced) -> Reply:
    rest = call.parts[2:]
    if call.method == "DELETE" and not rest:
        return _delete(org, call, forced)
    if call.method == "PATCH" and len(rest) == 2:
        return _upsert(org, rest[0], rest[1], call.body, forced)
    if call.method in ("POST", "PATCH") and not rest:
        operation = "create" if call.method == "POST" else "update"
        return _write(org, operation, call.body, forced)
    return Reply(404, NOT_FOUND)


def _records(body: Any) -> tuple[list[dict[str, Any]], bool] | Reply:
    """The request's records and allOrNone, or the 400 Salesforce answers instead."""
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        return fail(400, "JSON_PARSER_ERROR", "The request body needs a 'records' list")
    records = body["records"]
    if not records:
        return fail(400, "INVALID_FIELD", "No records to process")
    if len(records) > MAX_RECORDS:
        return fail(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        )
    if not all(isinstance(r, dict) for r in records):
        return fail(400, "JSON_PARSER_ERROR", "every record must be a JSON object")
    all_or_none = body.get("allOrNone", False)
    if not isinstance(all_or_none, bool):
        return fail(400, "JSON_PARSER_ERROR", "allOrNone must be true or false")
    return records, all_or_none


def _types_known(records: list[dict[str, Any]]) -> Reply | None:
    for index, record in enumerate(records):
        attributes = record.get("attributes")
        sobject = attributes.get("type") if isinstance(attributes, dict) else None
        if not sobject:
            return fail(
                400,
                "INVALID_TYPE",
                f"record #{index}: each record needs attributes.type (the sObject name)",
            )
        if object_schema(str(sobject)) is None:
            return fail(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
    return None


def _checked(body: Any) -> tuple[list[dict[str, Any]], bool] | Reply:
    """The body's records and allOrNone, or the error reply for a malformed body."""
    parsed = _records(body)
    if isinstance(parsed, Reply):
        return parsed
    refused = _types_known(parsed[0])
    return refused if refused is not None else parsed


def _write(org: SandboxOrg, operation: str, body: Any, forced: Forced) -> Reply:
    parsed = _checked(body)
    if isinstance(parsed, Reply):
        return parsed
    records, all_or_none = parsed
    results = org.write(operation, None, records, all_or_none=all_or_none, forced=forced)
    return Reply(200, results)


def _upsert(org: SandboxOrg, sobject: str, key: str, body: Any, forced: Forced) -> Reply:
    obj = object_schema(sobject)
    if obj is None:
        return fail(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
    field = obj.field(key)
    if field is None or not field.external_id:
        return fail(
            400,
            "INVALID_FIELD",
            f"Field name provided, {key} is not an External ID or indexed field for {obj.name}",
        )
    parsed = _checked(body)
    if isinstance(parsed, Reply):
        return parsed
    records, all_or_none = parsed
    for index, record in enumerate(records):
        if str(record["attributes"]["type"]).lower() != obj.name.lower():
            return fail(400, "INVALID_TYPE", f"record #{index} is not a {obj.name}")
    results = org.write(
        "upsert", obj.name, records, all_or_none=all_or_none, forced=forced,
        external_id=field.name,
    )  # fmt: skip
    return Reply(200, results)


def _delete(org: SandboxOrg, call: Call, forced: Forced) -> Reply:
    ids = [i for i in (call.params.get("ids") or "").split(",") if i.strip()]
    if not ids:
        return fail(400, "MALFORMED_QUERY", "ids is required")
    if len(ids) > MAX_RECORDS:
        return fail(400, "EXCEEDED_ID_LIMIT", f"cannot delete more than {MAX_RECORDS} ids")
    all_or_none = (call.params.get("allOrNone") or "false").lower() == "true"
    results = org.delete_ids([i.strip() for i in ids], all_or_none=all_or_none, forced=forced)
    return Reply(200, results)
