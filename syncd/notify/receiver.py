"""A local webhook receiver on 127.0.0.1 (Starlette in a thread): ``syncd demo --notify``
shows where notifications went with it, and the tests count what arrives.

It accepts Apprise's JSON webhook body (``title``, ``message``) on any path and keeps
each request; ``fail_first`` answers the first requests with 500, like a webhook that is
down for a while.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass
from types import TracebackType

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncd.notify.message import KEY_HEADER
from syncd.service.http import ThreadedServer


@dataclass(frozen=True)
class Received:
    path: str
    title: str
    message: str
    key: str | None  # the outbox key (X-Syncd-Key)
    status: int  # what the receiver answered


class LocalReceiver:
    def __init__(self, *, fail_first: int = 0):
        self.fail_first = fail_first
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        app = Starlette(routes=[Route("/{path:path}", self._receive, methods=["POST"])])
        self.server = ThreadedServer.for_app(app, "127.0.0.1", 0)

    @property
    def base_url(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.requests if r.status == 200]

    def counts(self) -> Counter[str]:
        """Accepted messages per path."""
        return Counter(r.path for r in self.accepted)

    async def _receive(self, request: Request) -> Response:
        try:
            payload = json.loads(await request.body())
        except ValueError:
            return Response("not JSON", status_code=400)
        with self._lock:
            status = 500 if len(self.requests) < self.fail_first else 200
            self.requests.append(
                Received(
                    path=request.url.path,
                    title=str(payload.get("title", "")),
                    message=str(payload.get("message", "")),
                    key=request.headers.get(KEY_HEADER),
                    status=status,
                )
            )
        return Response("ok" if status == 200 else "down", status_code=status)

    def __enter__(self) -> LocalReceiver:
        self.server.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.stop()
