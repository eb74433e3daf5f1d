"""The sandbox in the foreground, for ``syncd sandbox serve``: until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import structlog
import uvicorn

from syncd.sandbox.oauth import Credentials
from syncd.sandbox.org import SandboxOrg
from syncd.sandbox.server import SandboxApp, uvicorn_config
from syncd.sandbox.tls import ensure_certificates
from syncd.service.http import PromptServer, tcp_socket

log = structlog.get_logger("syncd.sandbox")


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
        _ForegroundServer(uvicorn_config(app, certs), listening).run(sockets=[sock])
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
