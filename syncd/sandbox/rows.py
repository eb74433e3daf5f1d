"""``sobjects/...``: describe, describe global, and single-record GET/POST/PATCH/DELETE."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncd.sandbox.org import SandboxOrg
from syncd.sandbox.reply import NOT_FOUND, Call, Reply, fail
from syncd.sandbox.schema import SCHEMA, ObjectSchema, describe_object, object_schema

Forced = Callable[[str], str | None]
# Per-record codes that mean "no such record" when a single-record call answers them.
_GONE = {"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"}


def sobject_call(org: SandboxOrg, call: Call, forced: Forced) -> Reply:
    parts = call.parts[1:]
    if not parts:
        return describe_global(call.version) if call.method == "GET" else Reply(405, NOT_FOUND)
    obj = object_schema(parts[0])
    if obj is None:
        return Reply(404, NOT_FOUND)
    if len(parts) == 1 or parts[1] == "describe":
        if call.method == "POST" and len(parts) == 1:
            return create(org, obj, call.body)
        if call.method != "GET":
            return Reply(405, NOT_FOUND)
        return Reply(200, describe_object(obj, call.version))
    if len(parts) == 3 and call.method == "PATCH":
        return upsert(org, obj, parts[1], parts[2], call.body, forced)
    if len(parts) != 2:
        return Reply(404, NOT_FOUND)
    record_id = parts[1]
    if call.method == "GET":
        return get(org, obj, record_id, call.params.get("fields"), call.version)
    if call.method == "PATCH":
        return update(org, obj, record_id, call.body, forced)
    if call.method == "DELETE":
        return delete(org, obj, record_id, forced)
    return Reply(405, NOT_FOUND)


def describe_global(version: str) -> Reply:
    objects = [
        {
            "name": o.name,
            "label": o.name,
            "keyPrefix": o.key_prefix,
            "queryable": True,
            "urls": {"sobject": f"/services/data/v{version}/sobjects/{o.name}"},
        }
        for o in SCHEMA.values()
    ]
    return Reply(200, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects})


def get(org: SandboxOrg, obj: ObjectSchema, record_id: str, fields: str | None,
        version: str) -> Reply:  # fmt: skip
    record = org.get(obj.name, record_id)
    if record is None:
        return Reply(404, NOT_FOUND)
    if fields:
        wanted = []
        for name in fields.split(","):
            field = obj.field(name.strip())
            if field is None:
                return fail(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type "
                            f"{obj.name}")  # fmt: skip
            wanted.append(field.name)
        record = {name: record[name] for name in wanted}
    url = f"/services/data/v{version}/sobjects/{obj.name}/{record_id}"
    return Reply(200, {"attributes": {"type": obj.name, "url": url}, **record})


def create(org: SandboxOrg, obj: ObjectSchema, body: Any) -> Reply:
    if not isinstance(body, dict):
        return fail(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    (result,) = org.write("create", obj.name, [body], all_or_none=True)
    if not result["success"]:
        return _refused(result)
    return Reply(201, {"id": result["id"], "success": True, "errors": []})


def update(org: SandboxOrg, obj: ObjectSchema, record_id: str, body: Any,
           forced: Forced) -> Reply:  # fmt: skip
    if not isinstance(body, dict):
        return fail(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    if org.sobject_of(record_id) != obj.name:
        return _missing(org, record_id)
    values = {k: v for k, v in body.items() if k.lower() != "id"}
    (result,) = org.write(
        "update", obj.name, [{**values, "Id": record_id}], all_or_none=True, forced=forced
    )
    return Reply(204) if result["success"] else _refused(result)


def upsert(org: SandboxOrg, obj: ObjectSchema, key: str, value: str, body: Any,
           forced: Forced) -> Reply:  # fmt: skip
    field = obj.field(key)
    if field is None or not field.external_id:
        return fail(400, "NOT_FOUND", f"Provided external ID field does not exist or is not "
                    f"accessible: {key}")  # fmt: skip
    if not isinstance(body, dict):
        return fail(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    record = {**body, field.name: value}
    (result,) = org.write(
        "upsert", obj.name, [record], all_or_none=True, forced=forced, external_id=field.name
    )
    if not result["success"]:
        return _refused(result)
    status = 201 if result["created"] else 200
    return Reply(status, {"id": result["id"], "success": True, "errors": [],
                          "created": result["created"]})  # fmt: skip


def delete(org: SandboxOrg, obj: ObjectSchema, record_id: str, forced: Forced) -> Reply:
    if org.sobject_of(record_id) != obj.name:
        return _missing(org, record_id)
    (result,) = org.delete_ids([record_id], all_or_none=True, forced=forced)
    return Reply(204) if result["success"] else _refused(result)


def _missing(org: SandboxOrg, record_id: str) -> Reply:
    if org.was_deleted(record_id):
        return fail(404, "ENTITY_IS_DELETED", "entity is deleted")
    return Reply(404, NOT_FOUND)


def _refused(result: dict[str, Any]) -> Reply:
    errors = result["errors"]
    first = errors[0]["statusCode"] if errors else "UNKNOWN_EXCEPTION"
    status = 404 if first in _GONE else 400
    body = [{"message": e["message"], "errorCode": e["statusCode"], "fields": e["fields"]}
            for e in errors]  # fmt: skip
    return Reply(status, body)
