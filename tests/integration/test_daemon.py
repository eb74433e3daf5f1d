"""`syncd run` as a subprocess against the sandbox: schedule, admin API, resyncs, one instance."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from syncd.sandbox import SandboxServer
from syncd.store.store import Store

from .test_cli import SYNCD, env_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOKEN = "daemon-admin-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except requests.ConnectionError:
            value = None
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


class Running:
    def __init__(self, server: SandboxServer, state: Path):
        self.port = free_port()
        self.state = state
        self.env = env_for(
            server,
            state,
            SYNCD_INTERVAL_SECONDS="600",  # cycles in these tests come from resync requests
            SYNCD_ADMIN_PORT=str(self.port),
            SYNCD_ADMIN_TOKEN=TOKEN,
        )
        self.proc = subprocess.Popen(
            [*SYNCD, "run"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def status(self) -> dict[str, Any]:
        return requests.get(self.url("/status"), timeout=5).json()

    def finished_runs(self) -> list[dict[str, Any]]:
        return [r for r in self.status()["runs"] if r["outcome"] != "running"]

    def resync(self, body: dict[str, Any], token: str | None = TOKEN) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(self.url("/resync"), json=body, headers=headers, timeout=5)

    def stop(self) -> tuple[str, str]:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.communicate(timeout=60)


@pytest.fixture
def daemon(server: SandboxServer, tmp_path: Path) -> Iterator[Running]:
    running = Running(server, tmp_path / "state")
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.communicate()


def test_daemon_cycles_reports_and_resyncs_three_ways(
    daemon: Running, server: SandboxServer
) -> None:
    first = wait_for(daemon.finished_runs, what="the first cycle")
    assert first[0]["outcome"] == "success"
    assert requests.get(daemon.url("/readyz"), timeout=5).status_code == 200
    metrics = requests.get(daemon.url("/metrics"), timeout=5).text
    assert 'syncd_cycles_total{outcome="success"} 1.0' in metrics
    assert "syncd_violations_open{code=" in metrics

    # 1. HTTP: refused without the token; accepted with it, and it wakes the daemon.
    account = next(a["Id"] for a in server.org.records("Account") if not a.get("IsPartner"))
    assert daemon.resync({"accounts": [account]}, token=None).status_code == 401
    assert daemon.resync({"accounts": [account]}).status_code == 202
    wait_for(lambda: len(daemon.finished_runs()) >= 2, what="the resync cycle")
    wait_for(lambda: daemon.status()["resync_queue"] == [], what="the queue to drain")

    # 2. Salesforce: an admin ticks the checkbox; the next cycle clears it.
    server.org.update("Account", account, {"RoE_Resync_Requested__c": True})
    # 3. CLI: queued in the store; here the HTTP wake makes the next tick come sooner.
    queued = subprocess.run(
        [*SYNCD, "resync", "--account", account[:15]],
        capture_output=True,
        text=True,
        timeout=60,
        env=daemon.env,
    )
    assert queued.returncode == 0, queued.stderr
    assert daemon.status()["resync_queue"] == [
        {"scope": "account", "record_id": account, "source": "cli"}
    ]
    assert daemon.resync({"full": True}).status_code == 202
    wait_for(lambda: daemon.status()["resync_queue"] == [], what="the CLI resync")
    assert server.org.get("Account", account)["RoE_Resync_Requested__c"] is False

    out, err = daemon.stop()
    assert daemon.proc.returncode == 0, err
    assert server.client_secret not in out + err and TOKEN not in out + err
    store = Store.open(None, daemon.state)
    try:
        assert all(r.outcome != "running" for r in store.recent_runs(20))
    finally:
        store.close()


def test_a_second_instance_on_the_same_store_is_refused(
    daemon: Running, server: SandboxServer
) -> None:
    wait_for(daemon.finished_runs, what="the first cycle")
    second = subprocess.run(
        [*SYNCD, "run"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**daemon.env, "SYNCD_ADMIN_PORT": "0"},
    )
    assert second.returncode == 1
    assert "another syncd is working on" in second.stderr
    daemon.stop()
    assert daemon.proc.returncode == 0


def test_check_lists_every_problem_together(server: SandboxServer, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.yaml"
    original = (Path(__file__).resolve().parents[2] / "mappings" / "default.yaml").read_text()
    mapping.write_text(original.replace("RoE_Status__c", "RoE_Flag_That_Is_Not_There__c"))
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: x\nescalation: {window_days: -5}\n")
    done = subprocess.run(
        [*SYNCD, "check"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env_for(
            server,
            tmp_path / "state",
            SYNCD_MAPPING_FILE=str(mapping),
            SYNCD_RULES_FILE=str(rules),
        ),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout.replace("\n", " ")
    assert "RoE_Flag_That_Is_Not_There__c" in out
    assert "window_days" in out
    assert "problem(s) found" in out
    assert server.client_secret not in done.stdout + done.stderr


def test_sigterm_mid_cycle_exits_0_and_leaves_the_store_consistent(
    server: SandboxServer, tmp_path: Path
) -> None:
    server.faults.latency(0.4)  # every call is slow: the first cycle is still in flight
    daemon = Running(server, tmp_path / "state")
    try:
        wait_for(
            lambda: daemon.status()["runs"] and daemon.status()["runs"][0]["outcome"] == "running",
            what="a cycle in flight",
        )
        _out, err = daemon.stop()
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.communicate()
    assert daemon.proc.returncode == 0, err
    assert "daemon.stopped" in err
    store = Store.open(None, daemon.state)
    try:
        (run,) = store.recent_runs(5)
        # The signal came during the pull: the cycle stops before its first write batch.
        assert run.outcome == "interrupted" and run.records_written == 0, run.error
        assert store.watermarks() == {} and store.ledger() == []  # the next run redoes it
    finally:
        store.close()
