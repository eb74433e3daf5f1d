"""The admin HTTP API of the running service (Starlette, served by uvicorn in a thread).

GET /healthz, /readyz, /metrics, /status are open (bind to 127.0.0.1 or a private
network); POST /resync needs ``Authorization: Bearer <admin token>``, compared in
constant time. Without a configured token the write endpoint is disabled.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from syncd.service.metrics import Metrics
from syncd.service.resync import InvalidResync, build_resync, queue
from syncd.store.store import Store


@dataclass
class AdminContext:
    store: Store
    metrics: Metrics
    interval_seconds: int
    token: str | None  # None: POST endpoints disabled
    wake: Callable[[], None] = lambda: None  # ask the daemon for a cycle now
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    budget: Callable[[], dict[str, Any]] = dict


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
            body = await request.json()
            if not isinstance(body, dict):
                raise InvalidResync("the body must be a JSON object")
            unknown = set(body) - {"full", "accounts", "opportunities"}
            if unknown:
                raise InvalidResync(f"unknown keys {sorted(unknown)}")
            wanted = build_resync(
                full=bool(body.get("full", False)),
                accounts=_list(body, "accounts"),
                opportunities=_list(body, "opportunities"),
            )
        except ValueError as exc:  # InvalidResync, or a body that is not JSON
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
        ]
    )


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


def _list(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidResync(f"{key!r} must be a list of Id strings")
    return value
