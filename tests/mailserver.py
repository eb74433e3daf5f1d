"""A local SMTP server for tests: aiosmtpd on 127.0.0.1, STARTTLS required, AUTH checked.

It listens on a socket bound before it starts (so a test may reserve the port while the
server is "down"), with the sandbox's certificate for 127.0.0.1, and keeps every message
it accepted.
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from syncd.sandbox.tls import ensure_certificates


@dataclass(frozen=True)
class Mail:
    rcpt: tuple[str, ...]
    subject: str
    text: str  # every text part, decoded


class _Handler:
    def __init__(self, box: list[Mail]) -> None:
        self.box = box

    async def handle_DATA(self, _server: Any, _session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        self.box.append(Mail(tuple(envelope.rcpt_tos), str(parsed["Subject"] or ""), _text(parsed)))
        return "250 OK"


def _text(message: Message) -> str:
    parts = message.walk() if message.is_multipart() else [message]
    texts = []
    for part in parts:
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload.decode(part.get_content_charset() or "utf-8"))
    return "\n".join(texts)


class _Bound(Controller):
    def __init__(self, sock: socket.socket, **kwargs: Any) -> None:
        self._sock = sock
        super().__init__(hostname="127.0.0.1", port=sock.getsockname()[1], **kwargs)

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock)


class LocalSmtp:
    def __init__(self, cert_dir: Path, username: str, password: str) -> None:
        self.certs = ensure_certificates(cert_dir)
        self.username, self.password = username, password
        self.mails: list[Mail] = []
        self.port = _free_port()
        self._controller: _Bound | None = None

    @property
    def ca_bundle(self) -> Path:
        return self.certs.ca_cert

    def start(self) -> LocalSmtp:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certs.server_cert, self.certs.server_key)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self._controller = _Bound(
            sock,
            handler=_Handler(self.mails),
            tls_context=context,
            require_starttls=True,
            authenticator=self._authenticate,
            auth_require_tls=True,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _authenticate(self, *args: Any) -> AuthResult:
        data = args[-1]
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            self.username.encode(),
            self.password.encode(),
        )
        return AuthResult(success=ok)

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.rcpt]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
