"""The console script, run as a user runs it: `syncd demo`, `syncd sync`, `syncd run`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from syncd.sandbox import SandboxServer
from syncd.store.lock import InstanceLock
from syncd.store.store import Store

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SYNCD = [sys.executable, "-m", "syncd"]


def env_for(server: SandboxServer, state: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    env.update(
        SYNCD_SALESFORCE__AUTH="client_credentials",
        SYNCD_SALESFORCE__LOGIN_URL=server.login_url,
        SYNCD_SALESFORCE__CLIENT_ID=server.client_id,
        SYNCD_SALESFORCE__CLIENT_SECRET=server.client_secret,
        SYNCD_SALESFORCE__CA_BUNDLE=str(server.ca_bundle),
        SYNCD_STATE_DIR=str(state),
        SYNCD_LOG_FORMAT="json",
        **extra,
    )
    return env


def test_syncd_demo_runs_end_to_end(tmp_path: Path) -> None:
    done = subprocess.run(
        [*SYNCD, "demo", "--state-dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for heading in (
        "Accounts by engagement lead",
        "deals by status",
        "Violations",
        "API calls used",
    ):
        assert heading in out, out
    assert "PARTNER_DISPLACED" in out
    assert "referral fee" not in done.stderr
    assert str((tmp_path / "demo" / "syncd.db").resolve()) in out.replace("\n", "")
    assert (tmp_path / "demo" / "syncd.db").exists()


def test_sync_dry_run_prints_plan_and_writes_nothing(server: SandboxServer, tmp_path: Path) -> None:
    before = server.org.records("Opportunity")
    done = subprocess.run(
        [*SYNCD, "sync", "--dry-run"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env_for(server, tmp_path / "state"),
    )
    assert done.returncode == 0, done.stderr
    assert "Planned writes" in done.stdout and "RoE_Status__c" in done.stdout
    assert server.org.records("Opportunity") == before
    assert server.client_secret not in done.stdout + done.stderr
    assert '"run_id"' in done.stderr  # JSON log lines carry the run id


def test_sync_with_bad_rules_file_exits_2_naming_the_file(
    server: SandboxServer, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nregistration: {validity_days: soon}\n")
    done = subprocess.run(
        [*SYNCD, "sync"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env_for(server, tmp_path / "state", SYNCD_RULES_FILE=str(rules)),
    )
    assert done.returncode == 2
    assert str(rules) in done.stderr and "Traceback" not in done.stderr


def test_run_cycles_then_stops_on_sigterm(server: SandboxServer, tmp_path: Path) -> None:
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [*SYNCD, "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(server, state, SYNCD_INTERVAL_SECONDS="10", SYNCD_ADMIN_PORT="0"),
    )
    try:
        deadline = time.monotonic() + 60
        runs = []
        while time.monotonic() < deadline and not runs:
            time.sleep(0.5)
            if (state / "syncd.db").exists():
                store = Store.open(None, state)
                runs = [r for r in store.recent_runs() if r.outcome != "running"]
                store.close()
        assert runs and runs[0].outcome == "success"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "daemon.stopped" in err
    assert server.client_secret not in out + err


@pytest.mark.parametrize("command", [["sync"], ["resync", "--full", "--now"]])
def test_a_one_off_cycle_refuses_while_another_syncd_holds_the_store(
    server: SandboxServer, tmp_path: Path, command: list[str]
) -> None:
    state = tmp_path / "state"
    store = Store.open(None, state)
    lock = InstanceLock(store)
    lock.acquire()  # as a running `syncd run` does
    try:
        server.reset_calls()
        done = subprocess.run(
            [*SYNCD, *command], capture_output=True, text=True, timeout=60,
            env=env_for(server, state),
        )  # fmt: skip
    finally:
        lock.release()
        store.close()
    assert done.returncode == 1
    assert "another syncd is working on" in done.stderr and "Traceback" not in done.stderr
    assert server.api_calls() == 0  # nothing read, nothing written
