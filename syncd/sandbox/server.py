"""The sandbox org over HTTPS: a Starlette app served by uvicorn on 127.0.0.1.

Every request is counted by kind (tests assert on the counts), may be delayed or refused
by an armed fault, must carry a token the token endpoint issued, and is answered with
``Sforce-Limit-Info: api-usage=used/max`` like Salesforce. ``serve_sandbox`` runs the
server in a daemon thread for tests and the demo (``foreground.run_forever`` runs it in
the foreground for ``syncd sandbox serve``).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from syncd.salesforce.config import SalesforceSettings
from syncd.sandbox.api import DAILY_MAX, Api, call_kind
from syncd.sandbox.bulk import BulkJobs
from syncd.sandbox.bulk_ingest import IngestJobs
from syncd.sandbox.faults import Faults
from syncd.sandbox.oauth import Credentials, TokenIssuer
from syncd.sandbox.org import SandboxOrg
from syncd.sandbox.reply import Reply
from syncd.sandbox.tls import CertPaths, ensure_certificates
from syncd.sandbox.transport_faults import cut, with_handshake_faults
from syncd.service.http import ThreadedServer, quiet_config, tcp_socket

log = structlog.get_logger("syncd.sandbox")

_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"]
# Salesforce meters neither logins nor GET /services/data/ (no Sforce-Limit-Info on it).
UNMETERED = frozenset({"token", "versions"})
_UNAUTHORIZED = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


class SandboxApp:
    """Request handling shared by the threaded and the foreground server."""

    def __init__(self, org: SandboxOrg, credentials: Credentials) -> None:
        self.org = org
        self.issuer = TokenIssuer(credentials)
        self.faults = Faults(on_expire=self.issuer.expire_all)
        self.api = Api(org)
        self.api.forced = self.faults.record_fault
        self.api.sub_fault = self.faults.sub_response
        self.api.bulk.job_fault = self.faults.bulk_job_error
        self.api.used = self.used
        self.calls: Counter[str] = Counter()
        self._used = 0  # API usage as Salesforce reports it: never reset by reset_calls
        self._lock = threading.Lock()
        self.instance_url = ""
        self.app = Starlette(
            routes=[Route("/{path:path}", self.endpoint, methods=_METHODS)],
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """The ASGI app: a call the fault campaign resets is counted, then cut unanswered."""
        if scope["type"] == "http":
            kind = call_kind(scope["method"], scope["path"])
            if self.faults.resets(kind):
                self._count(kind)
                if await cut(send):
                    return
        await self.app(scope, receive, send)

    def used(self) -> int:
        with self._lock:
            return self._used

    def _count(self, kind: str) -> int:
        with self._lock:
            self.calls[kind] += 1
            if kind not in UNMETERED:
                self._used += 1
            return self._used

    async def endpoint(self, request: Request) -> Response:
        path, method = request.url.path, request.method
        kind = call_kind(method, path)
        self._count(kind)
        delay = self.faults.delay
        if delay:
            await asyncio.sleep(delay)
        refusal = self.faults.refusal_for(kind)
        if refusal is not None:
            return self._json(refusal.status, refusal.body(), kind)
        body = await request.body()
        if kind == "token":
            status, answer = self.issuer.exchange(
                body, request.headers.get("authorization"), self.instance_url
            )
            return JSONResponse(answer, status_code=status)
        if kind != "versions" and not self.issuer.valid(request.headers.get("authorization")):
            return self._json(401, _UNAUTHORIZED, kind)
        try:
            payload = _payload(body, request.headers.get("content-type", ""))
        except ValueError:
            reply = Reply(400, [{"message": "malformed body", "errorCode": "JSON_PARSER_ERROR"}])
        else:
            headers = {k.lower(): v for k, v in request.headers.items()}
            reply = self.api.handle(method, path, dict(request.query_params), payload, headers)
        return self._json(reply.status, reply.body, kind, reply.headers)

    def _json(
        self, status: int, body: Any, kind: str, headers: dict[str, str] | None = None
    ) -> Response:
        merged = dict(headers or {})
        if kind not in UNMETERED:
            merged["Sforce-Limit-Info"] = f"api-usage={self.used()}/{DAILY_MAX}"
        if status == 204 or body is None:
            return Response(status_code=status, headers=merged)
        if isinstance(body, str):  # Bulk 2.0 results are CSV; the reply names its type
            return Response(body, status_code=status, headers=merged)
        return JSONResponse(body, status_code=status, headers=merged)


def _payload(body: bytes, content_type: str) -> Any:
    """JSON, or the text of a CSV upload (Bulk 2.0 ingest); ValueError when malformed."""
    if content_type.lower().startswith("text/csv"):
        return body.decode("utf-8")
    return json.loads(body) if body else None


class SandboxServer:
    """A running sandbox: its URLs, credentials, CA bundle, call counts and faults."""

    def __init__(self, app: SandboxApp, certs: CertPaths, port: int) -> None:
        self._app = app
        self.certs = certs
        self.port = port
        self.instance_url = f"https://127.0.0.1:{port}"
        self.login_url = self.instance_url
        app.instance_url = self.instance_url
        creds = app.issuer.credentials
        self.client_id, self.client_secret = creds.client_id, creds.client_secret
        self.username, self.password = creds.username, creds.password
        self._runner: ThreadedServer | None = None

    def __repr__(self) -> str:  # never show the secrets
        return f"SandboxServer({self.instance_url})"

    @property
    def ca_bundle(self) -> Path:
        return self.certs.ca_cert

    @property
    def org(self) -> SandboxOrg:
        return self._app.org

    @property
    def faults(self) -> Faults:
        return self._app.faults

    @property
    def bulk(self) -> BulkJobs:
        """Bulk 2.0 query jobs, with the knobs tests turn (polls_in_progress, fail_with)."""
        return self._app.api.bulk

    @property
    def ingest(self) -> IngestJobs:
        """Bulk 2.0 ingest jobs, with their knobs (polls_in_progress, fail_with, ...)."""
        return self._app.api.ingest

    @property
    def calls(self) -> Counter[str]:
        return self._app.calls

    def reset_calls(self) -> None:
        with self._app._lock:
            self._app.calls.clear()

    def api_calls(self) -> int:
        """Calls that count against the API allocation (logins and the version list do not)."""
        with self._app._lock:
            return sum(n for kind, n in self._app.calls.items() if kind not in UNMETERED)

    def salesforce_settings(self) -> SalesforceSettings:
        """How syncd connects to this org: client credentials, trusting the local CA."""
        return SalesforceSettings(
            auth="client_credentials",
            login_url=self.login_url,
            client_id=self.client_id,
            client_secret=SecretStr(self.client_secret),
            ca_bundle=self.ca_bundle,
        )

    def consume_api(self, requests: int) -> None:
        """Other integrations' use of the org's daily allowance (for budget tests)."""
        with self._app._lock:
            self._app._used = min(self._app._used + requests, DAILY_MAX)

    # -- lifecycle ------------------------------------------------------------------

    def start(self, sock: socket.socket) -> None:
        """Serve on ``sock`` (which this server then owns and closes on stop)."""
        self._runner = ThreadedServer(uvicorn_config(self._app, self.certs), sock, "sandbox-org")
        self._runner.start()

    def stop(self) -> None:
        if self._runner is not None:
            self._runner.stop()
            self._runner = None


def uvicorn_config(app: SandboxApp, certs: CertPaths) -> uvicorn.Config:
    config = quiet_config(
        app,
        ssl_certfile=str(certs.server_cert),
        ssl_keyfile=str(certs.server_key),
        http="h11",  # pure Python, always present
        ws="none",
        timeout_graceful_shutdown=1,
    )
    return with_handshake_faults(config, app.faults.handshake_fails)


@contextmanager
def serve_sandbox(
    org: SandboxOrg,
    *,
    cert_dir: Path,
    port: int = 0,
    credentials: Credentials | None = None,
) -> Iterator[SandboxServer]:
    """Serve ``org`` over HTTPS on 127.0.0.1 in a daemon thread until the block ends."""
    certs = ensure_certificates(cert_dir)
    sock = tcp_socket("127.0.0.1", port)
    app = SandboxApp(org, credentials or Credentials())
    server = SandboxServer(app, certs, sock.getsockname()[1])
    try:
        server.start(sock)
        yield server
    finally:
        server.stop()
        sock.close()
