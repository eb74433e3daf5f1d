"""What a 100-deal change costs, in the daemon and in a fresh `syncd sync --once` process.

    .venv/bin/python benchmarks/bench_fresh.py --opportunities 10000
    .venv/bin/python benchmarks/bench_fresh.py --opportunities 100000
    .venv/bin/python benchmarks/bench_fresh.py --opportunities 1000000

The synthetic org of the cycle benchmark (``synthetic_dataset(n, seed=11)``, one field
rep per 400 deals) is served by the sandbox in a child process (``bench_cycle.RemoteOrg``).
syncd runs, as a daemon would, a full cycle and the echo of its writes; then:

1. daemon: 100 deals are edited in the org (new owner, or partner taken off / put on) and
   the same process runs an incremental cycle: its CPU time is measured (the org runs
   apart, so the process's CPU is syncd's);
2. fresh, idle: a new process opens the same store and runs one cycle (what
   `syncd sync --once` runs) with nothing changed in the org;
3. fresh, 100 changes: 100 more deals are edited, and a new process runs one cycle.

Each fresh cycle runs in a child process of its own, so its peak RSS is its own (VmHWM,
which exec resets; ru_maxrss would count the parent's pages the child had before exec);
its wall time is measured from before the process starts (imports and start-up included)
until it has reported. Incremental cycles run with no overlap window, as in the cycle benchmark.
Prints one markdown table row per measurement.
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Imported after the path tweak (E402), so the script runs from a checkout.
from bench_cycle import RemoteOrg  # noqa: E402 - the sibling script (same directory)
from bench_engine import own_peak_rss_mb  # noqa: E402 - the sibling script (same directory)
from bench_simulate import NOW, prepare  # noqa: E402 - the sibling script (same directory)

from syncd.errors import RetriableError  # noqa: E402
from syncd.logs import configure_logging  # noqa: E402
from syncd.salesforce import SalesforceSettings  # noqa: E402
from syncd.service.runtime import open_runtime  # noqa: E402
from syncd.settings import load_settings  # noqa: E402
from syncd.store.commit import CycleCommit, MirrorChange, RunFinish  # noqa: E402
from syncd.store.state import CycleState, advanced  # noqa: E402
from syncd.sync.cycle import Cycle, CycleOptions, CycleReport  # noqa: E402
from syncd.sync.fingerprint import fingerprints  # noqa: E402
from syncd.sync.orgstate import OrgState  # noqa: E402
from syncd.sync.partial import all_links  # noqa: E402
from syncd.sync.reader import watched_objects  # noqa: E402

CHANGED = 100  # deals edited per change
OPTIONS = CycleOptions(overlap=timedelta(0))


@dataclass
class Row:
    run: str
    mode: str
    read: int
    written: int
    calls: int
    wall: float
    cpu: float
    rss_mb: float | None


def _cycle(settings: SalesforceSettings, state_dir: Path) -> tuple[Any, Cycle]:
    runtime = open_runtime(load_settings(salesforce=settings, state_dir=state_dir))
    cycle = Cycle(runtime.client, runtime.store, runtime.mapping, runtime.policy, options=OPTIONS)
    return runtime, cycle


def _checked(run: str, report: CycleReport) -> CycleReport:
    # "partial" with --prepared: the prepared ledger's Tasks are not in the org, so
    # closing one fails (the rest is committed, as in any partial cycle)
    if report.outcome not in ("success", "partial"):
        raise SystemExit(f"{run}: cycle ended {report.outcome}: {report.error}")
    if report.failures:
        print(f"{run}: {len(report.failures)} records failed", file=sys.stderr)
    return report


def _run(run: str, cycle: Cycle) -> CycleReport:
    """A cycle, run again (as the daemon's next tick would) when the org timed out: a
    million-deal sandbox on a shared machine sometimes answers a Bulk poll too late."""
    for _ in range(2):
        try:
            return _checked(run, cycle.run())
        except RetriableError as exc:
            print(f"{run}: {exc}; running it again", file=sys.stderr)
    return _checked(run, cycle.run())


def daemon(org: RemoteOrg, state_dir: Path, n: int) -> Row:
    """Full cycle, echo, then the measured incremental cycle after a 100-deal change."""
    runtime, cycle = _cycle(org.settings, state_dir)
    try:
        for run in ("full", "echo"):
            time.sleep(2)  # the org's clock (Date header) has whole seconds
            started = time.perf_counter()
            _run(run, cycle)
            print(f"daemon {run}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
        return _measured(org, cycle, n)
    finally:
        runtime.close()


def _measured(org: RemoteOrg, cycle: Cycle, n: int) -> Row:
    time.sleep(2)
    org.ask("edit", CHANGED / n)
    org.ask("reset")
    wall, cpu = time.perf_counter(), time.process_time()
    report = _checked("daemon change", cycle.run())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    row = Row(
        "daemon: 100 deals edited",
        report.mode,
        sum(report.read.values()),
        report.written,
        org.ask("calls"),
        wall,
        cpu,
        None,  # the daemon's peak is its full cycle's (see bench_cycle)
    )
    time.sleep(2)
    _run("echo of the change", cycle)  # the fresh runs start from a quiet org
    return row


def prepared_daemon(org: RemoteOrg, state_dir: Path, n: int) -> Row:
    """``--prepared``: the store as a daemon leaves it, written directly (the mirror
    holding what a first full cycle wrote, the ledger its Tasks: ``bench_simulate``'s
    preparation) instead of by a full cycle and its echo through a starved sandbox; the
    daemon then starts from that mirror, warms up with an idle cycle, and is measured."""
    state_dir.mkdir(parents=True, exist_ok=True)
    prepare(n, state_dir)
    runtime, cycle = _cycle(org.settings, state_dir)
    try:
        store, mapping = runtime.store, runtime.mapping
        state = OrgState.from_store(store, mapping)
        marks = {name: datetime.now(UTC) for name in (*watched_objects(mapping), "Task")}
        store.start_run("prepared", "full", NOW, runtime.policy.version)
        store.commit_cycle(
            CycleCommit(
                run=RunFinish("prepared", "success", NOW),
                state=advanced(CycleState(), run_id="prepared", watermarks=marks, now=NOW,
                               fingerprints=fingerprints(runtime.policy, mapping), retry_ids=()),
                mirror=MirrorChange(links=all_links(state.snapshot)),
            )
        )  # fmt: skip
        cycle.reading.remember(state, "prepared")
        del state
        time.sleep(2)
        _run("warm-up (idle)", cycle)  # builds the daemon's links index once
        return _measured(org, cycle, n)
    finally:
        runtime.close()


def _fresh_child(settings: dict[str, Any], state_dir: Path, pipe: Connection) -> None:
    """Child process: what `syncd sync --once` runs, and what it cost this process."""
    configure_logging("json", "warning", stream=sys.stderr)
    runtime, cycle = _cycle(SalesforceSettings.model_validate(settings), state_dir)
    try:
        report = _checked("fresh", cycle.run())
    finally:
        runtime.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    pipe.send(
        {
            "mode": report.mode,
            "read": sum(report.read.values()),
            "written": report.written,
            "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mb": own_peak_rss_mb(),
        }
    )


def fresh(org: RemoteOrg, state_dir: Path, run: str) -> Row:
    settings = org.settings.model_dump()
    settings["client_secret"] = org.settings.client_secret.get_secret_value()  # type: ignore[union-attr]
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    org.ask("reset")
    started = time.perf_counter()
    process = context.Process(target=_fresh_child, args=(settings, state_dir, child))
    process.start()
    got = parent.recv()
    wall = time.perf_counter() - started
    process.join(timeout=60)
    return Row(
        run, got["mode"], got["read"], got["written"], org.ask("calls"), wall, got["cpu"],
        got["rss_mb"],
    )  # fmt: skip


def table(rows: list[Row], n: int) -> str:
    lines = [
        "| opportunities | run | mode | read | written | API calls | wall | CPU | peak RSS |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        rss = f"{r.rss_mb:,.0f} MB" if r.rss_mb is not None else "—"
        lines.append(
            f"| {n:,} | {r.run} | {r.mode} | {r.read:,} | {r.written:,} | {r.calls:,} "
            f"| {r.wall:.2f} s | {r.cpu:.2f} s | {rss} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opportunities", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per API call")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="syncd's read timeout (a starved sandbox)"
    )
    parser.add_argument(
        "--prepared", action="store_true", help="write the daemon's store directly (1M deals)"
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print the table only (benchmarks/publish.py)"
    )
    args = parser.parse_args()
    configure_logging("json", "warning", stream=sys.stderr)  # keep stdout for the table
    n, today = args.opportunities, datetime.now(UTC).date()
    with tempfile.TemporaryDirectory(prefix="bench-fresh-") as tmp:
        tmp_dir = Path(tmp)
        state = tmp_dir / "state"
        org = RemoteOrg(n, today, args.latency, tmp_dir / "tls")
        org.settings = org.settings.model_copy(update={"timeout_seconds": args.timeout})
        try:
            rows = [(prepared_daemon if args.prepared else daemon)(org, state, n)]
            time.sleep(2)
            rows.append(fresh(org, state, "fresh process: idle"))
            time.sleep(2)
            org.ask("edit", CHANGED / n)
            time.sleep(2)
            rows.append(fresh(org, state, "fresh process: 100 deals edited"))
        finally:
            org.close()
    print(table(rows, n))
    if args.markdown:
        return
    print(
        f"\nmachine: Python {platform.python_version()}, {platform.machine()}; "
        f"{args.latency * 1000:.0f} ms a call; CPU = user + system of syncd's process"
    )


if __name__ == "__main__":
    main()
