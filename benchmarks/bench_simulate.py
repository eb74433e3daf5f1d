"""`syncd simulate` on a large org: wall time and peak RSS, zero API calls.

    .venv/bin/python benchmarks/bench_simulate.py                        # 1,000,000 deals
    .venv/bin/python benchmarks/bench_simulate.py --opportunities 100000

Prepares a state store as a running daemon leaves it — the synthetic org of the cycle
benchmark (``synthetic_dataset(n, seed=11)``, one field rep per 400 deals) in the
mirror, holding the values syncd's first full cycle wrote (its echo read back), the
ledger holding every violation occurrence with its Task landed — then, in a fresh
process (so the peak RSS is the simulation's alone), runs what ``syncd simulate`` runs:
rebuild the org from the mirror, read the ledger, decide it under today's rules and
under a candidate (registrations valid 60 days instead of 90,
a 15 % referral fee, APAC enforced from 2026-11-15), reconcile both with the ledger, plan
both against the mirror, and summarise. Prints the README table row.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Imported after the path tweak (E402), so the script runs from a checkout.
from bench_engine import peak_rss_mb  # noqa: E402 - the sibling script (same directory)

from syncd.engine.enforcement import EnforcementRules, reconcile  # noqa: E402
from syncd.engine.evaluate import evaluate  # noqa: E402
from syncd.engine.policy import Policy, load_policy  # noqa: E402
from syncd.sandbox.dataset import synthetic_dataset  # noqa: E402
from syncd.sandbox.dataset_synthetic import Mix  # noqa: E402
from syncd.store.commit import CycleCommit, RunFinish  # noqa: E402
from syncd.store.store import Store  # noqa: E402
from syncd.sync.mapping import FieldMapping, load_mapping  # noqa: E402
from syncd.sync.orgstate import OrgState  # noqa: E402
from syncd.sync.plan import plan_writes  # noqa: E402

SEED = 11
DEALS_PER_REP = 400
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
RULES = ROOT / "config" / "rules.yaml"
MAPPING = ROOT / "mappings" / "default.yaml"
OBJECTS = ("User", "Account", "Opportunity")


def candidate_rules(directory: Path) -> Path:
    text = RULES.read_text()
    for old, new in (
        ('version: "2026.11-1"', 'version: "2026.12-rc1"'),
        ("  valid_days: 90", "  valid_days: 60"),
        ("  referral_fee_percent: 10", "  referral_fee_percent: 15"),
        ("    APAC: 2027-04-01", "    APAC: 2026-11-15"),
    ):
        assert old in text, old
        text = text.replace(old, new)
    path = directory / "candidate.yaml"
    path.write_text(text)
    return path


def prepare(n: int, directory: Path) -> Path:
    """A state store as a running daemon's cycles leave it (see ``_commit_cycle``)."""
    started = time.perf_counter()
    mapping, policy = load_mapping(MAPPING), load_policy(RULES)
    mix = Mix(field_reps=max(22, n // DEALS_PER_REP))
    dataset = synthetic_dataset(n, seed=SEED, today=NOW.date(), mix=mix)
    records = {name: [dict(r) for r in dataset.records.get(name, ())] for name in OBJECTS}
    del dataset
    store = Store(f"sqlite:///{directory / 'syncd.db'}")
    store.replace_mirror(records)
    state = OrgState.from_store(store, mapping)
    written = _commit_cycle(store, state, mapping, policy)
    del state
    for name in OBJECTS:  # the echo read back: the records hold what syncd wrote
        for record in records[name]:
            record.update(written.get(record["Id"], {}))
    store.replace_mirror(records)
    store.close()
    print(f"prepared {n:,} deals in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return directory


def _commit_cycle(
    store: Store, state: OrgState, mapping: FieldMapping, policy: Policy
) -> dict[str, dict]:
    """The ledger a first full cycle commits (every Task landed); the values it wrote."""
    last_cycle = NOW - timedelta(hours=1)
    decisions = evaluate(state.snapshot, policy, last_cycle)
    rules = EnforcementRules.from_policy(policy)
    enforcement = reconcile([], decisions, state.snapshot, rules, last_cycle)
    plan = plan_writes(decisions, state.current, mapping, holds=enforcement.holds)
    landed = [
        replace(e, task_id=f"00T{i:015d}", task_opened_at=last_cycle)
        for i, e in enumerate(enforcement.opened)
    ]
    store.start_run("bench", "full", last_cycle, policy.version)
    store.commit_cycle(CycleCommit(run=RunFinish("bench", "success", last_cycle), ledger=landed))
    print(f"ledger: {len(landed):,} occurrences; written: {plan.total:,}", file=sys.stderr)
    return {w.record_id: dict(w.values) for w in (*plan.accounts, *plan.opportunities)}


def measure(directory: Path, rules: Path) -> dict[str, float | int]:
    """What `syncd simulate` does, timed (run in a fresh process)."""
    from syncd.cli.simulate_view import summary
    from syncd.sync.insight import mirrored_state
    from syncd.sync.simulate import load_candidate, simulate

    mapping, policy = load_mapping(MAPPING), load_policy(RULES)
    started, cpu = time.perf_counter(), time.process_time()
    store = Store(f"sqlite:///{directory / 'syncd.db'}")
    state = mirrored_state(store, mapping)
    ledger = store.ledger()
    store.close()
    loaded = time.perf_counter()
    sim = simulate(state, ledger, mapping, policy, load_candidate(rules), NOW)
    found = summary(sim)
    done = time.perf_counter()
    return {
        "deals": len(state.snapshot.opportunities),
        "accounts": len(state.snapshot.accounts),
        "ledger": len(ledger),
        "load_s": round(loaded - started, 1),
        "simulate_s": round(done - loaded, 1),
        "wall_s": round(done - started, 1),
        "cpu_s": round(time.process_time() - cpu, 1),  # the machine may be shared
        "peak_rss_mb": round(peak_rss_mb()),
        "records_changing": found["records_changing"]["accounts"]
        + found["records_changing"]["deals"],
        "tasks_open": found["tasks_open"]["total"],
        "tasks_close": found["tasks_close"],
        "writes": sim.writes,
        "drift": sim.drift,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child's job
    parser.add_argument("--rules", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.rules)))
        return 0
    with tempfile.TemporaryDirectory(prefix="syncd-bench-simulate-") as tmp:
        directory = prepare(args.opportunities, Path(tmp))
        rules = candidate_rules(directory)
        child = subprocess.run(
            [sys.executable, __file__, "--measure", str(directory), "--rules", str(rules)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        row = json.loads(child.stdout.strip().splitlines()[-1])
    print(json.dumps(row, indent=2), file=sys.stderr)
    print(
        f"| {row['deals']:,} | {row['accounts']:,} | {row['ledger']:,} | {row['load_s']} s | "
        f"{row['simulate_s']} s | **{row['wall_s']} s** | {row['peak_rss_mb']:,} MB | "
        f"{row['records_changing']:,} | {row['tasks_open']:,} / {row['tasks_close']:,} | "
        f"Python {platform.python_version()}, {platform.machine()}, {date.today()} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
