"""Run an ASGI app with uvicorn in a background thread (the admin API, the sandbox org).

Binding our own socket first lets callers ask for port 0 and learn the port picked.

A server facing other people's clients (the admin API) is bounded with ``Limits``:
uvicorn on its own holds a connection that never finishes its headers for ever
(its keep-alive timer only starts after a first response, and ``limit_concurrency``
only answers 503 once a request has arrived), so 3,000 idle connections once took
every file descriptor of the daemon. ``BoundedH11Protocol`` gives each connection a
deadline for its request headers and keeps at most ``max_connections`` open, closing
the oldest idle one (no request in flight) to make room, so a health probe still gets
in while a flood of idle connections waits to be shed.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import structlog
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

log = structlog.get_logger("syncd.http")
STARTUP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Limits:
    """Bounds on connections, time and size for one server."""

    max_connections: int = 64
    header_timeout: float = 10.0  # from connect (or the last response) to complete headers
    keep_alive_seconds: int = 5
    max_header_bytes: int = 16 * 1024
    backlog: int = 128
    shed_log_every: float = 10.0  # one summary line, not one per connection in a flood


class _Shedding:
    """Counts the connections a server closed to stay in bounds; logs a summary now and then."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.count = 0
        self.last: float | None = None

    def note(self, reason: str, client: tuple[str, int] | None, now: float) -> None:
        self.count += 1
        if self.last is None or now - self.last >= self.every:
            log.warning(
                "http.connections_shed",
                reason=reason,
                count=self.count,
                client=f"{client[0]}:{client[1]}" if client else None,
            )
            self.count, self.last = 0, now


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline and a connection cap (``Limits``)."""

    limits = Limits()
    shedding = _Shedding(Limits().shed_log_every)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.opened_at = self.loop.time()
        self._deadline: asyncio.TimerHandle | None = None
        if len(self.connections) > self.limits.max_connections and not self._evict_idle():
            self._shed("too many connections")
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self._busy():
            self._disarm()  # the headers are in; the app bounds its own body reading

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request's headers get the same deadline

    def _busy(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.limits.header_timeout, self._expired)

    def _disarm(self) -> None:
        deadline = getattr(self, "_deadline", None)
        if deadline is not None:
            deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        if not self._busy() and not self.transport.is_closing():
            self._shed("no complete request in time")

    def _evict_idle(self) -> bool:
        idle = [
            c
            for c in self.connections
            if isinstance(c, BoundedH11Protocol) and c is not self and not c._busy()
        ]
        if not idle:
            return False
        min(idle, key=lambda c: c.opened_at)._shed("oldest idle connection, to make room")
        return True

    def _shed(self, reason: str) -> None:
        self._disarm()
        self.shedding.note(reason, self.client, self.loop.time())
        self.transport.abort()  # frees the descriptor now; nothing was promised to it
        self.connections.discard(self)  # not only when connection_lost runs, later


def bounded(limits: Limits) -> type[BoundedH11Protocol]:
    """The protocol class for one server, with its own limits and shedding count."""
    return type(
        "BoundedH11",
        (BoundedH11Protocol,),
        {"limits": limits, "shedding": _Shedding(limits.shed_log_every)},
    )


def bounded_config(app: Any, limits: Limits) -> uvicorn.Config:
    return quiet_config(
        app,
        http=bounded(limits),
        ws="none",
        backlog=limits.backlog,
        timeout_keep_alive=limits.keep_alive_seconds,
        h11_max_incomplete_event_size=limits.max_header_bytes,
        # Requests whose app task still runs (the protocol already caps connections).
        limit_concurrency=limits.max_connections + 1,
    )


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
    def for_app(
        cls, app: Any, host: str = "127.0.0.1", port: int = 0, limits: Limits | None = None
    ) -> ThreadedServer:
        config = bounded_config(app, limits) if limits is not None else quiet_config(app)
        return cls(config, tcp_socket(host, port))

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
