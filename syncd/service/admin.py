"""The admin HTTP API of the running service (Starlette, served by uvicorn in a thread).

GET /healthz, /readyz, /metrics, /status are open (bind to 127.0.0.1 or a private
network); POST /resync needs ``Authorization: Bearer <admin token>``, compared in
constant time. Without a configured token the write endpoint is disabled.

Bounded at every layer: connections and header time/size by ``ADMIN_LIMITS`` (see
``http.py``), the body of POST /resync by size (413), reading time (408) and Id count
(400), its fields by a strict pydantic model (``{"full": "false"}`` is a 400, not a
whole-org resync). Every refused request is logged (method, path, status, client),
never its headers: the token stays out of the logs.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from syncd.service.http import Limits
from syncd.service.metrics import Metrics
from syncd.service.resync import InvalidResync, build_resync, queue
from syncd.store.store import Store
from syncd.validation import format_validation_error

log = structlog.get_logger("syncd.admin")

ADMIN_LIMITS = Limits(max_connections=32, header_timeout=10.0, backlog=16)
MAX_BODY_BYTES = 64 * 1024
MAX_IDS = 2000  # per request: a bigger set is a whole-org resync (`"full": true`)
BODY_TIMEOUT = 10.0


class ResyncBody(BaseModel):
    """The body of POST /resync, validated strictly: no coercion of "false" to a bool."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    full: StrictBool = False
    accounts: list[StrictStr] = Field(default_factory=list, max_length=MAX_IDS)
    opportunities: list[StrictStr] = Field(default_factory=list, max_length=MAX_IDS)


class Refused(Exception):
    """An answer other than success, with a message a person can read."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class AdminContext:
    store: Store
    metrics: Metrics
    interval_seconds: int
    token: str | None  # None: POST endpoints disabled
    wake: Callable[[], None] = lambda: None  # ask the daemon for a cycle now
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    budget: Callable[[], dict[str, Any]] = dict
    body_timeout: float = BODY_TIMEOUT  # seconds for the body of POST /resync to arrive


def admin_app(ctx: AdminContext) -> Starlette:
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(_: Request) -> Response:
        last = _last_success(ctx.store)
        limit = timedelta(seconds=3 * ctx.interval_seconds)
        if last is not None and ctx.clock() - last <= limit:
            return JSONResponse({"status": "ready", "last_success": last.isoformat()})
        detail = last.isoformat() if last else None
        return JSONResponse({"status": "not ready", "last_success": detail}, status_code=503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def status(_: Request) -> Response:
        return JSONResponse(status_document(ctx))

    async def resync(request: Request) -> Response:
        refusal = _authorize(request, ctx.token)
        if refusal is not None:
            return refusal
        try:
            body = await _resync_body(request, ctx.body_timeout)
            wanted = build_resync(
                full=body.full, accounts=body.accounts, opportunities=body.opportunities
            )
        except Refused as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        except InvalidResync as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        queued = queue(ctx.store, wanted, source="http", at=ctx.clock())
        ctx.wake()
        return JSONResponse({"queued": queued}, status_code=202)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            Route("/status", status),
            Route("/resync", resync, methods=["POST"]),
        ],
        middleware=[Middleware(_RefusalLog)],
    )


class _RefusalLog:
    """One log line per refused request (4xx); never the headers: the token is one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_logging(message: Message) -> None:
            if message["type"] == "http.response.start" and 400 <= message["status"] < 500:
                client = scope.get("client")
                log.warning(
                    "admin.refused",
                    method=scope["method"],
                    path=scope["path"],
                    status=message["status"],
                    client=f"{client[0]}:{client[1]}" if client else None,
                )
            await send(message)

        await self.app(scope, receive, send_logging)


async def _resync_body(request: Request, timeout: float) -> ResyncBody:
    raw = await _read_body(request, timeout)
    if not raw.strip():
        raise Refused(400, _EXAMPLE.format(problem="the request has no body"))
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, _EXAMPLE.format(problem="the body is not JSON")) from None
    if not isinstance(data, dict):
        raise Refused(400, _EXAMPLE.format(problem="the body must be a JSON object"))
    try:
        body = ResyncBody.model_validate(data)
    except ValidationError as exc:
        raise Refused(400, "; ".join(format_validation_error(exc))) from None
    if len(body.accounts) + len(body.opportunities) > MAX_IDS:
        raise Refused(400, f"at most {MAX_IDS} Ids a request; for more, ask for a full resync")
    return body


_EXAMPLE = (
    '{problem}; send a JSON object such as {{"accounts": ["001..."], "opportunities": '
    '["006..."]}} or {{"full": true}}'
)


async def _read_body(request: Request, timeout: float) -> bytes:
    """The body, at most MAX_BODY_BYTES, within ``timeout`` seconds (413 / 408 otherwise)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise Refused(413, f"the body is larger than {MAX_BODY_BYTES} bytes")

    async def read() -> bytes:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise Refused(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    try:
        return await asyncio.wait_for(read(), timeout)
    except TimeoutError:
        raise Refused(408, f"the body did not arrive within {timeout:g} seconds") from None


def status_document(ctx: AdminContext) -> dict[str, Any]:
    runs = ctx.store.recent_runs(5)
    return {
        "runs": [
            {
                "run_id": r.run_id,
                "mode": r.mode,
                "outcome": r.outcome,
                "started_at": r.started_at.isoformat(),
                "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                "records_read": r.records_read,
                "records_written": r.records_written,
                "write_failures": r.write_failures,
                "api_calls": r.api_calls,
                "error": r.error,
            }
            for r in runs
        ],
        "watermarks": {k: v.isoformat() for k, v in ctx.store.watermarks().items()},
        "resync_queue": [
            {"scope": q.scope, "record_id": q.record_id, "source": q.source}
            for q in ctx.store.pending_resyncs()
        ],
        "budget": ctx.budget(),
    }


def _last_success(store: Store) -> datetime | None:
    for run in store.recent_runs(50):
        if run.outcome in ("success", "partial") and run.finished_at:
            return run.finished_at
    return None


def _authorize(request: Request, token: str | None) -> Response | None:
    if token is None:
        return JSONResponse(
            {"error": "write endpoints are disabled: set SYNCD_ADMIN_TOKEN to enable them"},
            status_code=403,
        )
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        return JSONResponse(
            {"error": "a valid bearer token is required"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return None
