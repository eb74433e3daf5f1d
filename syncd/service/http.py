"""Run an ASGI app with uvicorn in a background thread (the admin API, the sandbox org).

Binding our own socket first lets callers ask for port 0 and learn the port picked.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

STARTUP_TIMEOUT = 10.0


def tcp_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A bound listening-to-be socket."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they are
    # TCP, and without it every response waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def quiet_config(app: Any, **options: Any) -> uvicorn.Config:
    """uvicorn settings that leave the process's logging (structlog) alone."""
    return uvicorn.Config(
        app,
        log_level="warning",
        log_config=None,
        access_log=False,
        lifespan="off",
        **options,
    )


class PromptServer(uvicorn.Server):
    """Stops at once: idle keep-alive connections are aborted, not waited for.

    A client's pooled connection never answers TLS close_notify, so a graceful close
    would hold every stop for the whole shutdown timeout; nothing is in flight by then.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
        await asyncio.sleep(0)  # let connection_lost run
        await super().shutdown(sockets)


class ThreadedServer:
    """``config`` served on ``sock`` in a daemon thread; the socket is closed on stop."""

    def __init__(self, config: uvicorn.Config, sock: socket.socket, name: str = "http"):
        self.sock = sock
        self.host, self.port = sock.getsockname()[:2]
        self.server = PromptServer(config)
        self.thread = threading.Thread(target=self._serve, name=f"{name}-{self.port}", daemon=True)

    @classmethod
    def for_app(cls, app: Any, host: str = "127.0.0.1", port: int = 0) -> ThreadedServer:
        return cls(quiet_config(app), tcp_socket(host, port))

    def _serve(self) -> None:
        self.server.run(sockets=[self.sock])

    def start(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"HTTP server on {self.host}:{self.port} did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=STARTUP_TIMEOUT)
        self.sock.close()

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
