"""The admin HTTP API over a real socket on 127.0.0.1: health, readiness, metrics, resync."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from syncd.service.admin import AdminContext, admin_app
from syncd.service.http import ThreadedServer
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


def serve(store: Store, woken: list[bool], token: str | None = TOKEN) -> ThreadedServer:
    ctx = AdminContext(
        store=store,
        metrics=Metrics(),
        interval_seconds=60,
        token=token,
        wake=lambda: woken.append(True),
        clock=lambda: NOW,
    )
    return ThreadedServer.for_app(admin_app(ctx))


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
