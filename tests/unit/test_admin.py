"""The admin HTTP API over a real socket on 127.0.0.1: health, readiness, metrics, resync."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from structlog.testing import capture_logs

from syncd.service.admin import MAX_BODY_BYTES, MAX_IDS, AdminContext, admin_app
from syncd.service.http import Limits, ThreadedServer
from syncd.service.metrics import Metrics
from syncd.sfid import make_id
from syncd.store.commit import RunFinish
from syncd.store.store import Store

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TOKEN = "admin-token-for-tests"
ACCOUNT = make_id("001", 7)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(None, tmp_path / "state")
    yield s
    s.close()


@pytest.fixture
def woken() -> list[bool]:
    return []


def serve(
    store: Store,
    woken: list[bool],
    token: str | None = TOKEN,
    limits: Limits | None = None,
    body_timeout: float = 10.0,
) -> ThreadedServer:
    ctx = AdminContext(
        store=store,
        metrics=Metrics(),
        interval_seconds=60,
        token=token,
        wake=lambda: woken.append(True),
        clock=lambda: NOW,
        body_timeout=body_timeout,
    )
    return ThreadedServer.for_app(admin_app(ctx), limits=limits)


def url(server: ThreadedServer, path: str) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


def test_health_and_readiness_follow_the_last_successful_cycle(store: Store, woken) -> None:
    with serve(store, woken) as server:
        assert requests.get(url(server, "/healthz"), timeout=5).status_code == 200
        assert requests.get(url(server, "/readyz"), timeout=5).status_code == 503
        store.start_run("r1", "full", NOW - timedelta(minutes=3), "v1")
        store.finish_run(RunFinish("r1", "success", NOW - timedelta(minutes=2)))
        assert requests.get(url(server, "/readyz"), timeout=5).status_code == 200
        store.start_run("r0", "full", NOW - timedelta(hours=2), "v1")
        store.finish_run(RunFinish("r0", "failed", NOW - timedelta(minutes=1)))
        assert requests.get(url(server, "/readyz"), timeout=5).status_code == 200


def test_readiness_expires_after_three_intervals(store: Store, woken) -> None:
    store.start_run("r1", "full", NOW - timedelta(minutes=10), "v1")
    store.finish_run(RunFinish("r1", "success", NOW - timedelta(seconds=181)))
    with serve(store, woken) as server:
        assert requests.get(url(server, "/readyz"), timeout=5).status_code == 503


def test_metrics_are_prometheus_text(store: Store, woken) -> None:
    with serve(store, woken) as server:
        response = requests.get(url(server, "/metrics"), timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "syncd_cycle_duration_seconds" in response.text


def test_resync_needs_the_bearer_token(store: Store, woken) -> None:
    body = {"accounts": [ACCOUNT[:15]]}
    with serve(store, woken) as server:
        assert requests.post(url(server, "/resync"), json=body, timeout=5).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        refused = requests.post(url(server, "/resync"), json=body, headers=wrong, timeout=5)
        assert refused.status_code == 401
        assert store.pending_resyncs() == [] and woken == []
        good = {"Authorization": f"Bearer {TOKEN}"}
        done = requests.post(url(server, "/resync"), json=body, headers=good, timeout=5)
        assert done.status_code == 202 and done.json() == {"queued": 1}
        status = requests.get(url(server, "/status"), timeout=5).json()
    assert [(r.scope, r.record_id, r.source) for r in store.pending_resyncs()] == [
        ("account", ACCOUNT, "http")
    ]
    assert woken == [True]
    assert status["resync_queue"] == [{"scope": "account", "record_id": ACCOUNT, "source": "http"}]


@pytest.mark.parametrize(
    "body",
    [{"accounts": ["not-an-id"]}, {"accounts": [make_id("006", 1)]}, {}, {"everything": True}],
)
def test_bad_resync_requests_are_refused_with_a_reason(store: Store, woken, body) -> None:
    good = {"Authorization": f"Bearer {TOKEN}"}
    with serve(store, woken) as server:
        response = requests.post(url(server, "/resync"), json=body, headers=good, timeout=5)
    assert response.status_code == 400 and response.json()["error"]
    assert store.pending_resyncs() == []


def test_without_a_token_write_endpoints_are_disabled(store: Store, woken) -> None:
    with serve(store, woken, token=None) as server:
        response = requests.post(url(server, "/resync"), json={"full": True}, timeout=5)
    assert response.status_code == 403 and "SYNCD_ADMIN_TOKEN" in response.json()["error"]


GOOD = {"Authorization": f"Bearer {TOKEN}"}


def post(server: ThreadedServer, **kwargs: Any) -> requests.Response:
    headers = {**GOOD, **kwargs.pop("headers", {})}
    return requests.post(url(server, "/resync"), headers=headers, timeout=10, **kwargs)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"full": "false"}, "full"),  # a string is not a bool: no whole-org resync
        ({"full": 1}, "full"),
        ({"accounts": ACCOUNT}, "accounts"),  # one Id, not a list
        ({"accounts": [7]}, "accounts.0"),
        ({"opportunities": None}, "opportunities"),
    ],
)
def test_resync_fields_are_typed_strictly(store: Store, woken, body, named) -> None:
    with serve(store, woken) as server:
        response = post(server, json=body)
    assert response.status_code == 400
    assert response.json()["error"].startswith(named)
    assert store.pending_resyncs() == [] and woken == []


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "no body"),
        (b"   ", "no body"),
        (b"full=true", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b'["001"]', "a JSON object"),
        (b'"full"', "a JSON object"),
    ],
)
def test_empty_or_non_json_bodies_get_a_readable_400(store: Store, woken, data, problem) -> None:
    with serve(store, woken) as server:
        response = post(server, data=data, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    message = response.json()["error"]
    assert problem in message and '{"full": true}' in message  # says what to send instead
    assert store.pending_resyncs() == []


def test_a_body_over_the_size_cap_is_413(store: Store, woken) -> None:
    big = b'{"accounts": ["' + b"x" * MAX_BODY_BYTES + b'"]}'

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap holds while reading
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]

    with serve(store, woken) as server:
        declared = post(server, data=big)
        streamed = post(server, data=chunks())
    for response in (declared, streamed):
        assert response.status_code == 413
        assert str(MAX_BODY_BYTES) in response.json()["error"]
    assert store.pending_resyncs() == []


def test_more_ids_than_the_cap_is_400(store: Store, woken) -> None:
    accounts = [make_id("001", n) for n in range(MAX_IDS)]
    deals = [make_id("006", 1)]
    with serve(store, woken) as server:
        response = post(server, json={"accounts": accounts, "opportunities": deals})
        assert post(server, json={"accounts": accounts}).status_code == 202  # at the cap
    assert response.status_code == 400 and "full resync" in response.json()["error"]


def test_a_body_that_never_arrives_is_408(store: Store, woken) -> None:
    with (
        serve(store, woken, body_timeout=0.3) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock,
    ):
        sock.sendall(
            b"POST /resync HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + TOKEN.encode() + b"\r\nContent-Length: 40\r\n\r\n{"
        )
        answer = b""
        while chunk := sock.recv(4096):  # the answer may come in more than one segment
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408") and b"did not arrive" in answer


def test_refused_requests_are_logged_without_the_token(store: Store, woken) -> None:
    with capture_logs() as logs, serve(store, woken) as server:
        post(server, json={"full": "false"})
        post(server, json={"full": True}, headers={"Authorization": "Bearer wrong-token"})
        requests.get(url(server, "/nowhere"), timeout=5)
        requests.get(url(server, "/healthz"), timeout=5)
    refused = [e for e in logs if e["event"] == "admin.refused"]
    assert [(e["method"], e["path"], e["status"]) for e in refused] == [
        ("POST", "/resync", 400),
        ("POST", "/resync", 401),
        ("GET", "/nowhere", 404),
    ]
    assert all(e["client"].startswith("127.0.0.1:") for e in refused)
    assert TOKEN not in repr(logs) and "wrong-token" not in repr(logs)


def test_idle_connections_are_shed_and_a_probe_still_gets_in(store: Store, woken) -> None:
    limits = Limits(max_connections=16, header_timeout=1.0)
    with serve(store, woken, limits=limits) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(300)]
        idle[-1].sendall(b"GET /healthz HTTP/1.1\r\nHost: x")  # headers never finished
        try:
            # A flood of idle connections never keeps a request out: the oldest idle
            # one makes room, and the server never holds more than its cap.
            assert requests.get(url(server, "/healthz"), timeout=5).status_code == 200
            assert len(server.server.server_state.connections) <= limits.max_connections + 1
            deadline = time.monotonic() + 10
            while server.server.server_state.connections and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not server.server.server_state.connections  # all shed by the deadline
            for sock in idle:
                sock.settimeout(5)
                with contextlib.suppress(ConnectionResetError):  # aborted: a reset
                    assert sock.recv(1) == b""  # or closed
        finally:
            for sock in idle:
                sock.close()
        assert requests.get(url(server, "/healthz"), timeout=5).status_code == 200
