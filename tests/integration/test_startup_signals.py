"""A stop signal during `syncd run`'s start-up (here: a slow login) is a clean exit 0,
at once, before any cycle: never death by the signal (exit -15)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from syncd.sandbox import SandboxServer
from syncd.store.store import Store

from .test_cli import SYNCD, env_for
from .test_daemon import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LOGIN_SECONDS = 30.0  # the sandbox answers every call this late, the token call first


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_during_the_login_exits_0_at_once(
    server: SandboxServer, tmp_path: Path, signum: signal.Signals
) -> None:
    server.faults.latency(LOGIN_SECONDS)
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [*SYNCD, "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(server, state, SYNCD_ADMIN_PORT="0"),
    )
    try:
        wait_for(lambda: server.calls["token"] >= 1, what="the login to start")
        asked = time.monotonic()
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=LOGIN_SECONDS)
        waited = time.monotonic() - asked
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert waited < LOGIN_SECONDS  # it did not sit out the login
    assert "daemon.stopped" in err and signum.name in err
    assert "daemon.started" not in err and "Traceback" not in err
    assert server.api_calls() == 0  # no cycle began: nothing read, nothing written
    store = Store.open(None, state)
    try:
        assert store.recent_runs() == []
    finally:
        store.close()
    assert server.client_secret not in out + err
