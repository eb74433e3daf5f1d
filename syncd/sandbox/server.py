"""The sandbox org over HTTPS: a Starlette app served by uvicorn on 127.0.0.1.

Every request is counted by kind (tests assert on the counts), may be delayed or refused
by an armed fault, must carry a token the token endpoint issued, and is answered with
``Sforce-Limit-Info: api-usage=used/max`` like Salesforce. ``serve_sandbox`` runs the
server in a daemon thread for tests and the demo; ``run_forever`` in the foreground for
``syncd sandbox serve``.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
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
from syncd.sandbox.faults import Faults
from syncd.sandbox.oauth import Credentials, TokenIssuer
from syncd.sandbox.org import SandboxOrg
from syncd.sandbox.reply import Reply
from syncd.sandbox.tls import CertPaths, ensure_certificates
from syncd.service.http import PromptServer, ThreadedServer, quiet_config, tcp_socket

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
        self.api.used = self.used
        self.calls: Counter[str] = Counter()
        self._used = 0  # API usage as Salesforce reports it: never reset by reset_calls
        self._lock = threading.Lock()
        self.instance_url = ""
        self.app = Starlette(
            routes=[Route("/{path:path}", self.endpoint, methods=_METHODS)],
        )

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
            payload = json.loads(body) if body else None
        except ValueError:
            reply = Reply(400, [{"message": "malformed JSON", "errorCode": "JSON_PARSER_ERROR"}])
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
        self._runner = ThreadedServer(_config(self._app, self.certs), sock, "sandbox-org")
        self._runner.start()

    def stop(self) -> None:
        if self._runner is not None:
            self._runner.stop()
            self._runner = None


def _config(app: SandboxApp, certs: CertPaths) -> uvicorn.Config:
    return quiet_config(
        app.app,
        ssl_certfile=str(certs.server_cert),
        ssl_keyfile=str(certs.server_key),
        http="h11",  # pure Python, always present
        ws="none",
        timeout_graceful_shutdown=1,
    )


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


@dataclass(frozen=True)
class Access:
    """What a person needs to point syncd at a running sandbox (secrets included)."""

    instance_url: str
    ca_bundle: Path
    client_id: str
    client_secret: str = field(repr=False)
    username: str
    password: str = field(repr=False)

    def environment(self) -> dict[str, str]:
        """The SYNCD_* variables of a client-credentials connection to this sandbox."""
        return {
            "SYNCD_SALESFORCE__AUTH": "client_credentials",
            "SYNCD_SALESFORCE__LOGIN_URL": self.instance_url,
            "SYNCD_SALESFORCE__CLIENT_ID": self.client_id,
            "SYNCD_SALESFORCE__CLIENT_SECRET": self.client_secret,
            "SYNCD_SALESFORCE__CA_BUNDLE": str(self.ca_bundle.resolve()),
        }


def run_forever(
    org: SandboxOrg,
    host: str = "127.0.0.1",
    port: int = 8443,
    cert_dir: Path = Path(".syncd-sandbox"),
    credentials: Credentials | None = None,
    *,
    latency: float = 0.0,
    announce: Callable[[Access], None] | None = None,
) -> None:
    """Serve in the foreground until Ctrl-C or SIGTERM (``syncd sandbox serve``).

    ``announce`` is told how to connect once the port is bound (the secret is a throwaway
    one generated for this run; logs would redact it, so the caller prints it).
    """
    certs = ensure_certificates(cert_dir)
    sock = tcp_socket(host, port)
    bound = sock.getsockname()[1]
    creds = credentials or Credentials()
    app = SandboxApp(org, creds)
    app.faults.latency(latency)
    # The certificate names 127.0.0.1 and localhost; other hosts will fail verification.
    app.instance_url = f"https://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{bound}"
    access = Access(
        app.instance_url, certs.ca_cert, creds.client_id, creds.client_secret,
        creds.username, creds.password,
    )  # fmt: skip

    def listening() -> None:
        log.info("sandbox.listening", url=app.instance_url, latency_seconds=latency)
        if announce is not None:
            announce(access)

    try:
        _ForegroundServer(_config(app, certs), listening).run(sockets=[sock])
    finally:
        sock.close()


class _ForegroundServer(PromptServer):
    """Says so once it accepts connections; Ctrl-C or SIGTERM end it with exit status 0
    (uvicorn would re-raise the signal after shutting down)."""

    def __init__(self, config: uvicorn.Config, listening: Callable[[], None]) -> None:
        super().__init__(config)
        self._listening = listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:
            self._listening()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C stops waiting for connections
        self.should_exit = True
