"""`syncd sandbox serve` as a person runs it: it starts, prints how to connect, serves, stops."""

from __future__ import annotations

import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from syncd.cli.sandbox_serve import load_org
from syncd.salesforce import OrgClient, RetryPolicy
from syncd.sandbox.dataset import demo_dataset
from syncd.settings import load_settings

SYNCD = [sys.executable, "-m", "syncd"]


def _lines(stream: object) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _exports(lines: queue.Queue[str], timeout: float = 60) -> tuple[str, dict[str, str]]:
    """Everything printed up to the CA bundle line, and the variables it exports."""
    printed, found = "", {}
    deadline = time.monotonic() + timeout
    while "SYNCD_SALESFORCE__CA_BUNDLE" not in found:
        line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        printed += line
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").strip().partition("=")
            found[name] = shlex.split(value)[0]
    printed += "".join(lines.get(timeout=5) for _ in range(2))  # the blank and password lines
    return printed, found


@pytest.mark.slow
def test_serve_prints_what_connects_to_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    command = [*SYNCD, "sandbox", "serve", "--port", "0", "--cert-dir", str(tmp_path / "tls")]
    proc = subprocess.Popen(
        [*command, "--synthetic", "40", "--latency", "150"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        printed, exports = _exports(_lines(proc.stdout))
        for name, value in exports.items():
            monkeypatch.setenv(name, value)
        settings = load_settings().require_salesforce()  # exactly what the user would export
        client = OrgClient(settings, retry=RetryPolicy(initial_wait=0, jitter=0))
        rows = list(client.query("SELECT Id FROM Opportunity"))
        started = time.monotonic()
        client.limits()
        slow = time.monotonic() - started
        client._session.close()  # no pooled connection left for the server to wait on
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert len(rows) == 40  # the synthetic org, not the demo's deals
    assert slow >= 0.15  # --latency is in milliseconds
    assert "Sandbox org listening on https://127.0.0.1:" in printed
    secret = exports["SYNCD_SALESFORCE__CLIENT_SECRET"]
    assert len(secret) >= 20 and secret not in err  # printed for the person, never logged
    assert Path(exports["SYNCD_SALESFORCE__CA_BUNDLE"]).is_absolute()
    assert "password" in printed


DAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("empty", "synthetic", "deals"),
    [
        (True, None, 0),
        (False, 25, 25),
        (False, None, len(demo_dataset(DAY).records["Opportunity"])),
    ],
)
def test_the_org_it_loads(empty: bool, synthetic: int | None, deals: int) -> None:
    org = load_org(empty=empty, synthetic=synthetic, today=DAY)
    assert len(org.records("Opportunity")) == deals
