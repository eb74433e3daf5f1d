"""The sync loop never depends on the admin server: a flood of idle connections to the
admin API of a real `syncd run` (with few file descriptors) leaves cycles and probes
working. Before the admin server was bounded, such a flood took every descriptor and
every cycle failed while it lasted."""

from __future__ import annotations

import shlex
import signal
import socket
import subprocess
from pathlib import Path

import pytest
import requests

from syncd.sandbox import SandboxServer

from .test_cli import SYNCD, env_for
from .test_daemon import TOKEN, free_port, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FD_LIMIT = 128  # the daemon's own descriptor limit (ulimit -n)
IDLE = 300  # connections that never send a request: more than the daemon could hold


def test_idle_connections_never_stop_the_cycles(server: SandboxServer, tmp_path: Path) -> None:
    port = free_port()
    env = env_for(
        server,
        tmp_path / "state",
        SYNCD_INTERVAL_SECONDS="600",
        SYNCD_ADMIN_PORT=str(port),
        SYNCD_ADMIN_TOKEN=TOKEN,
    )
    command = f"ulimit -n {FD_LIMIT} && exec {shlex.join([*SYNCD, 'run'])}"
    proc = subprocess.Popen(
        ["sh", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    base = f"http://127.0.0.1:{port}"
    idle: list[socket.socket] = []

    def finished() -> list[dict[str, object]]:  # newest first
        runs = requests.get(f"{base}/status", timeout=5).json()["runs"]
        return [r for r in runs if r["outcome"] != "running"]

    try:
        wait_for(finished, what="the first cycle")
        for _ in range(IDLE):  # connect without waiting: the kernel keeps them coming
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            idle.append(sock)

        assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
        queued = requests.post(
            f"{base}/resync",
            json={"full": True},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
        assert queued.status_code == 202
        runs = wait_for(lambda: len(finished()) >= 2 and finished(), what="the resync cycle")
        assert [r["outcome"] for r in runs] == ["success", "success"], runs
    finally:
        for sock in idle:
            sock.close()
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "http.connections_shed" in err  # the flood was seen and shed, not served
    assert "Too many open files" not in err
