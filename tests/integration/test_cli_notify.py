"""Notifications from the console script: `syncd demo --notify` and `syncd sync`."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from syncd.notify.receiver import LocalReceiver
from syncd.sandbox import SandboxServer
from tests.integration.test_cli import SYNCD, env_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_demo_notify_shows_where_the_notifications_went(tmp_path: Path) -> None:
    done = subprocess.run(
        [*SYNCD, "demo", "--notify", "--state-dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.replace("\n", " ")
    assert "Webhook receiver listening on http://127.0.0.1:" in out
    for line in ("/channel-ops: 15", "/managers/victoria-hale: 7", "/managers/others: 6"):
        assert line in out, out
    assert "got 28:" in out and "published in the org: 13" in out
    assert "/lightning/r/Opportunity/" in out


def test_plain_demo_and_cycles_never_load_the_notification_library() -> None:
    code = (
        "import sys, syncd.cli.main, syncd.cli.demo, syncd.service.daemon, syncd.sync.cycle; "
        "print('apprise' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_sync_delivers_after_its_cycle_and_says_where(
    server: SandboxServer, tmp_path: Path
) -> None:
    with LocalReceiver() as receiver:
        env = env_for(
            server,
            tmp_path / "state",
            SYNCD_NOTIFICATIONS__TARGETS__OPS__KIND="webhook",
            SYNCD_NOTIFICATIONS__TARGETS__OPS__URL=receiver.url("hooks/ops"),
            SYNCD_NOTIFICATIONS__EXCEPTION_REQUEST__TO='["ops"]',
            SYNCD_NOTIFICATIONS__REMEDY_OWED__TO='["ops"]',
        )
        done = subprocess.run(
            [*SYNCD, "sync"], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
        )
    assert done.returncode == 0, done.stderr
    assert "Notifications sent: 2 (2 to ops)" in done.stdout.replace("\n", " ")
    assert receiver.counts() == {"/hooks/ops": 2}
    assert receiver.url("hooks/ops") not in done.stdout + done.stderr


def test_the_daemon_delivers_right_after_its_cycle(server: SandboxServer, tmp_path: Path) -> None:
    with LocalReceiver() as receiver:
        env = env_for(
            server,
            tmp_path / "state",
            SYNCD_INTERVAL_SECONDS="600",
            SYNCD_ADMIN_PORT="0",
            SYNCD_NOTIFICATIONS__TARGETS__OPS__KIND="webhook",
            SYNCD_NOTIFICATIONS__TARGETS__OPS__URL=receiver.url("hooks/ops"),
            SYNCD_NOTIFICATIONS__NEW_VIOLATION__TO='["ops"]',
            SYNCD_NOTIFICATIONS__DELIVERY_INTERVAL_SECONDS="600",  # only the after-cycle run
        )
        proc = subprocess.Popen(
            [*SYNCD, "run"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        try:
            deadline = time.monotonic() + 60
            while sum(receiver.counts().values()) < 13 and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert receiver.counts() == {"/hooks/ops": 13}  # every new violation, once
    assert "notify.delivered" in err and receiver.url("hooks/ops") not in err
