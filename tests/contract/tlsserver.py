"""A tiny HTTPS org on 127.0.0.1 whose TLS handshakes can be made to fail.

`responses` replaces the transport adapter, so it cannot show what a real reset during
the handshake raises; this server can. It answers the token, version-list and query
endpoints with canned JSON, one request per connection (HTTP/1.0), so connection n is
request n and a test can sabotage exactly the handshakes it wants.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from syncd.sandbox.tls import CertPaths
from tests.contract.fakeorg import page, versions_body


class _Handler(BaseHTTPRequestHandler):
    server: FlakyTlsServer

    def do_GET(self) -> None:
        if self.path == "/services/data/":
            self._json(versions_body())
        else:
            self._json(page([{"Id": "001A"}]))

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        token = {"access_token": "tok-local", "instance_url": self.server.url, "token_type": "x"}
        self._json(token)

    def _json(self, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return None


class FlakyTlsServer(ThreadingHTTPServer):
    """Connections whose number is in ``cut`` read the ClientHello and hang up (the client
    sees SSLEOFError); the others complete the handshake and get an answer."""

    daemon_threads = True

    def __init__(self, certs: CertPaths, cut: frozenset[int] = frozenset()) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.load_cert_chain(certs.server_cert, certs.server_key)
        self.cut = cut
        self.connections = 0
        self.handshakes = 0  # completed ones
        self.url = f"https://127.0.0.1:{self.server_address[1]}"

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = self.socket.accept()
        self.connections += 1
        if self.connections in self.cut:
            _read_client_hello(sock)  # then an orderly close: EOF in the middle of the handshake
            sock.close()
            raise OSError("handshake cut on purpose")  # socketserver drops this request
        try:
            wrapped = self.tls.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError):
            sock.close()
            raise
        self.handshakes += 1
        return wrapped, address


def _read_client_hello(sock: socket.socket) -> None:
    """Read one whole TLS record (unread bytes would make the close a reset instead)."""
    sock.settimeout(5)
    header = _read(sock, 5)
    _read(sock, int.from_bytes(header[3:5], "big"))


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


@contextmanager
def serving(certs: CertPaths, cut: frozenset[int] = frozenset()) -> Iterator[FlakyTlsServer]:
    server = FlakyTlsServer(certs, cut)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
