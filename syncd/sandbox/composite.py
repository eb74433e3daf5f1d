"""``composite``: up to 25 subrequests in one call, later ones referring to earlier results.

Subrequests go through the same dispatcher as top-level calls (one API call in all, as
in Salesforce). References such as ``@{newAccount.id}`` or ``@{q.records[0].Id}`` are
resolved against earlier results. ``allOrNone`` true stops at the first failure and
marks the remaining subrequests PROCESSING_HALTED; writes already made are not undone
(a documented gap of the sandbox: syncd never sends allOrNone composites).

sObject Collections writes may be subrequests too (five Collections of 200 records write
1,000 in one call); at most 5 subrequests may be queries or Collections, as in Salesforce.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from syncd.sandbox.reply import Call, Reply, fail

MAX_SUBREQUESTS = 25
MAX_QUERY_OR_COLLECTIONS = 5  # Salesforce's limit inside one composite request
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])+)\}")
_DATA = re.compile(r"^/services/data/v(?P<version>\d+\.\d)/(?P<rest>.*)$")


def run_composite(
    dispatch: Callable[[Call], Reply],
    call: Call,
    fault: Callable[[], Reply | None] = lambda: None,  # a sub-request's injected failure
) -> Reply:
    body = call.body
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        return fail(400, "JSON_PARSER_ERROR", "The request body needs a 'compositeRequest' list")
    subrequests = body["compositeRequest"]
    if not 0 < len(subrequests) <= MAX_SUBREQUESTS:
        return fail(400, "INVALID_BATCH_REQUEST", "composite takes 1 to 25 subrequests")
    if sum(_is_query_or_collections(sub) for sub in subrequests) > MAX_QUERY_OR_COLLECTIONS:
        message = "composite takes at most 5 query or sObject Collections subrequests"
        return fail(400, "INVALID_BATCH_REQUEST", message)
    all_or_none = bool(body.get("allOrNone", False))
    results: dict[str, Any] = {}
    responses: list[dict[str, Any]] = []
    halted = False
    for sub in subrequests:
        ref = str(sub.get("referenceId", ""))
        if halted:
            responses.append(_entry(ref, 400, _halted()))
            continue
        reply = fault() or _one(dispatch, sub, results)
        results[ref] = reply.body
        responses.append(_entry(ref, reply.status, reply.body))
        halted = all_or_none and reply.status >= 400
    return Reply(200, {"compositeResponse": responses})


def _one(dispatch: Callable[[Call], Reply], sub: Any, results: dict[str, Any]) -> Reply:
    if not isinstance(sub, dict) or not sub.get("method") or not sub.get("url"):
        return fail(400, "INVALID_BATCH_REQUEST", "each subrequest needs method and url")
    try:
        url = _resolve(str(sub["url"]), results)
        body = _resolve(sub.get("body"), results)
    except LookupError as exc:
        return fail(400, "INVALID_REFERENCE", str(exc))
    parts = urlsplit(url)
    match = _DATA.match(parts.path)
    if match is None:
        return fail(400, "INVALID_BATCH_REQUEST", f"unsupported subrequest url {url}")
    segments = [p for p in match["rest"].split("/") if p]
    if segments[:1] == ["composite"] and segments[1:2] != ["sobjects"]:  # Collections may
        return fail(400, "INVALID_BATCH_REQUEST", "composite cannot nest composite calls")
    return dispatch(
        Call(
            str(sub["method"]).upper(),
            match["version"],
            segments,
            dict(parse_qsl(parts.query)),
            body,
        )
    )


def _is_query_or_collections(sub: Any) -> bool:
    url = str(sub.get("url", "")) if isinstance(sub, dict) else ""
    match = _DATA.match(urlsplit(url).path)
    rest = match["rest"] if match else ""
    return rest.split("/")[0] in ("query", "queryAll") or rest.startswith("composite/sobjects")


def _resolve(value: Any, results: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return _REFERENCE.sub(lambda m: str(_lookup(m, results)), value)
    if isinstance(value, dict):
        return {k: _resolve(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, results) for v in value]
    return value


def _lookup(match: re.Match[str], results: dict[str, Any]) -> Any:
    ref, path = match[1], match[2]
    if ref not in results:
        raise LookupError(f"reference {ref} is not an earlier subrequest")
    value = results[ref]
    for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        key, index = step
        try:
            value = value[key] if key else value[int(index)]
        except (KeyError, IndexError, TypeError):
            raise LookupError(f"reference {match[0]} does not resolve") from None
    return value


def _entry(ref: str, status: int, body: Any) -> dict[str, Any]:
    return {"body": body, "httpHeaders": {}, "httpStatusCode": status, "referenceId": ref}


def _halted() -> list[dict[str, Any]]:
    return [
        {
            "errorCode": "PROCESSING_HALTED",
            "message": "The transaction was rolled back since another operation in the same "
            "transaction failed.",
        }
    ]
