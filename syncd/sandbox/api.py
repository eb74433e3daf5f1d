"""The REST API under ``/services/data/vNN.N/``: routing, shapes and status codes.

Pure request -> reply functions over a ``SandboxOrg`` (no HTTP library here), so the
Starlette layer stays thin and ``composite`` can replay its subrequests through the
same code. Call kinds (what tests count) are decided here too, from method and path.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from syncd.sandbox.bulk import BulkJobs
from syncd.sandbox.bulk_ingest import IngestJobs, ingest_kind
from syncd.sandbox.composite import run_composite
from syncd.sandbox.faults import Refusal
from syncd.sandbox.org import SandboxOrg
from syncd.sandbox.reply import NOT_FOUND, Call, Reply, fail
from syncd.sandbox.rows import sobject_call
from syncd.sandbox.sobject_collections import collections_call
from syncd.sandbox.soql import SoqlError
from syncd.sandbox.soql_eval import compile_query
from syncd.sfid import make_id

API_VERSIONS = ("58.0", "59.0", "60.0", "61.0", "62.0", "63.0", "64.0", "65.0")
DAILY_MAX = 100_000
PAGE_SIZE = 2000
_DATA = re.compile(r"^/services/data/v(?P<version>\d+\.\d)(?:/(?P<rest>.*))?$")
_BATCH = re.compile(r"batchSize=(\d+)")


def call_kind(method: str, path: str) -> str:
    """The kind of call, as the server counts it (see the brief's list of kinds)."""
    if path.rstrip("/") == "/services/oauth2/token":
        return "token"
    match = _DATA.match(path)
    if not match:
        return "versions" if path.rstrip("/") == "/services/data" else "other"
    parts = [p for p in (match["rest"] or "").split("/") if p]
    head = parts[0] if parts else ""
    if head in ("query", "queryAll"):
        return "query_more" if len(parts) > 1 else "query"
    if head == "limits":
        return "limits"
    if head == "jobs":
        return _bulk_kind(method, parts[1:])
    if head == "composite":
        if parts[1:2] == ["sobjects"]:
            if len(parts) > 2:
                return "collections_upsert"
            verbs = {"POST": "create", "PATCH": "update", "DELETE": "delete", "GET": "get"}
            return f"collections_{verbs.get(method, 'other')}"
        return "composite" if len(parts) == 1 else "other"
    if head == "sobjects":
        return _sobject_kind(method, parts[1:])
    return "resources" if not parts else "other"


def _bulk_kind(method: str, parts: list[str]) -> str:
    if parts[:1] == ["ingest"]:
        return ingest_kind(method, parts[1:])
    if parts[:1] != ["query"]:
        return "other"
    if len(parts) == 1:
        return "bulk_job" if method == "POST" else "other"
    if len(parts) == 3 and parts[2] == "results":
        return "bulk_results"
    return {"GET": "bulk_status", "DELETE": "bulk_delete"}.get(method, "other")


def _sobject_kind(method: str, parts: list[str]) -> str:
    if not parts:
        return "describe_global"
    if len(parts) == 1:
        return "sobject_create" if method == "POST" else "describe"
    if parts[1] == "describe":
        return "describe"
    verbs = {"GET": "get", "PATCH": "update", "DELETE": "delete", "POST": "create"}
    return f"sobject_{verbs.get(method, 'other')}"


class Api:
    """Answers data API requests for one org; keeps query cursors."""

    def __init__(self, org: SandboxOrg, today: Callable[[], date] | None = None) -> None:
        self.org = org
        self.today = today
        self._cursors: dict[str, list[dict[str, Any]]] = {}
        self._cursor_count = 0
        self._lock = threading.Lock()
        self.bulk = BulkJobs(org, lambda: self.today() if self.today else None)
        self.ingest = IngestJobs(org, lambda record_id: self.forced(record_id))
        # Wired by the server: per-record and sub-request faults, and usage for limits/.
        self.forced: Callable[[str], str | None] = lambda record_id: None
        self.sub_fault: Callable[[], Refusal | None] = lambda: None
        self.used: Callable[[], int] = lambda: 0

    def handle(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        body: Any,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        match = _DATA.match(path)
        if match is None:
            if path.rstrip("/") == "/services/data":
                return Reply(200, self.versions())
            return Reply(404, NOT_FOUND)
        if match["version"] not in API_VERSIONS:  # as Salesforce: a version it does not serve
            return Reply(404, NOT_FOUND)
        parts = [p for p in (match["rest"] or "").split("/") if p]
        call = Call(method, match["version"], parts, params, body, headers or {})
        return self.dispatch(call)

    def dispatch(self, call: Call) -> Reply:
        route = self._route(call.method, call.parts)
        return route(call) if route is not None else Reply(404, NOT_FOUND)

    def _route(self, method: str, parts: list[str]) -> Callable[[Call], Reply] | None:
        head = parts[0] if parts else ""
        if not parts:
            return self.resources if method == "GET" else None
        if head in ("query", "queryAll") and method == "GET":
            return self.query if len(parts) == 1 else self.query_more
        if head == "limits" and method == "GET":
            return self.limits
        if head == "jobs":
            return self.bulk.route(method, parts[1:]) or self.ingest.route(method, parts[1:])
        if head == "composite" and len(parts) == 1 and method == "POST":
            return self.composite
        if head == "composite" and parts[1:2] == ["sobjects"]:
            return self.collections
        if head == "sobjects":
            return self.sobjects
        return None

    # -- small resources ------------------------------------------------------------------

    def versions(self) -> list[dict[str, str]]:
        return [
            {"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in API_VERSIONS
        ]

    def resources(self, call: Call) -> Reply:
        base = f"/services/data/v{call.version}"
        names = ("sobjects", "query", "queryAll", "limits", "composite")
        return Reply(200, {name: f"{base}/{name}" for name in names})

    def limits(self, call: Call) -> Reply:
        return Reply(200, self.limits_body(self.used()))

    def limits_body(self, used: int) -> dict[str, Any]:
        return {
            "DailyApiRequests": {"Max": DAILY_MAX, "Remaining": max(DAILY_MAX - used, 0)},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
        }

    # -- query ------------------------------------------------------------------------------

    def query(self, call: Call) -> Reply:
        soql = call.params.get("q")
        if not soql:
            return fail(400, "MALFORMED_QUERY", "A query string (q) is required")
        try:
            compiled = compile_query(soql, self.today() if self.today else None)
        except SoqlError as exc:
            return fail(400, exc.code, exc.message)
        # queryAll also returns tombstones (IsDeleted=true); query never does.
        rows = self.org.query(compiled, include_deleted=call.parts[0] == "queryAll")
        if compiled.count:
            return Reply(200, {"totalSize": len(rows), "done": True, "records": []})
        typed = [_with_attributes(compiled.sobject, call.version, r) for r in rows]
        return self._page(call.version, typed, 0, _page_size(call.headers), None)

    def query_more(self, call: Call) -> Reply:
        locator, _, start = call.parts[1].partition("-")
        with self._lock:
            rows = self._cursors.get(locator)
        if rows is None or not start.isdigit():
            return fail(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(call.version, rows, int(start), _page_size(call.headers), locator)

    def _page(self, version: str, rows: list[dict[str, Any]], start: int, size: int,
              locator: str | None) -> Reply:  # fmt: skip
        end = start + size
        body: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows)}
        if end < len(rows):
            with self._lock:
                if locator is None:  # the first page opens a cursor over the snapshot
                    self._cursor_count += 1
                    locator = make_id("01g", self._cursor_count)
                    self._cursors[locator] = rows
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{end}"
        elif locator is not None:
            with self._lock:
                self._cursors.pop(locator, None)
        body["records"] = rows[start:end]
        return Reply(200, body)

    # -- sObject rows and describe ------------------------------------------------------------

    def sobjects(self, call: Call) -> Reply:
        return sobject_call(self.org, call, self.forced)

    # -- collections and composite ---------------------------------------------------------

    def collections(self, call: Call) -> Reply:
        return collections_call(self.org, call, self.forced)

    def composite(self, call: Call) -> Reply:
        return run_composite(self.dispatch, call, self._sub_fault)

    def _sub_fault(self) -> Reply | None:
        refusal = self.sub_fault()
        return Reply(refusal.status, refusal.body()) if refusal is not None else None


def _with_attributes(sobject: str, version: str, row: dict[str, Any]) -> dict[str, Any]:
    attributes: dict[str, str] = {"type": sobject}
    if row.get("Id"):
        attributes["url"] = f"/services/data/v{version}/sobjects/{sobject}/{row['Id']}"
    return {"attributes": attributes, **row}


def _page_size(headers: Mapping[str, str]) -> int:
    match = _BATCH.search(headers.get("sforce-query-options", ""))
    if not match:
        return PAGE_SIZE
    return min(max(int(match[1]), 200), PAGE_SIZE)  # Salesforce's bounds


__all__ = ["Api", "Call", "Reply", "call_kind", "fail"]
