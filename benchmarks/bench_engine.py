"""Time the rules engine alone on a large in-memory snapshot.

    .venv/bin/python benchmarks/bench_engine.py [--opportunities 1000000 --accounts 200000]

Builds a deterministic snapshot with a realistic mix (named and global accounts, parent
chains, incumbent partners, registrations, renewals, telesales, closed deals, several
regions), evaluates it with the default rules file (trace off, the cycle's fast path),
and prints opportunities per second, peak RSS and the README table line.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import random
import resource
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from syncd.engine.domain import (  # noqa: E402 - after the path tweak, so the script runs from a checkout
    Account,
    Opportunity,
    Registration,
    Role,
    Snapshot,
    User,
)
from syncd.engine.evaluate import evaluate  # noqa: E402
from syncd.engine.policy import load_policy  # noqa: E402
from syncd.sfid import make_id  # noqa: E402

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
COUNTRIES = ("US", "United States", "CA", "DE", "FR", "GB", "JP", "Australia", "MX", "BR", None)
LEAD_SOURCES = ("Web", "Partner Referral", "Outbound Telesales", "Inbound Call", "Event", None)
ROLES = (Role.FIELD,) * 5 + (Role.TELESALES,) * 2 + (Role.PARTNER_MANAGER, Role.PARTNER_USER)


def build_snapshot(n_opps: int, n_accounts: int, seed: int = 7) -> Snapshot:
    rng = random.Random(seed)
    partners = [make_id("001", 9_000_000 + i) for i in range(max(10, n_accounts // 100))]
    users = _users(rng, partners, max(50, n_accounts // 40))
    user_ids = list(users)
    accounts: dict[str, Account] = {
        p: Account(p, name=f"Partner {i}", is_partner=True) for i, p in enumerate(partners)
    }
    customer_ids = [make_id("001", i) for i in range(n_accounts)]
    for i, key in enumerate(customer_ids):
        roll = rng.random()
        accounts[key] = Account(
            key,
            name=f"Customer {i}",
            owner_id=rng.choice(user_ids),
            parent_id=customer_ids[rng.randrange(i)] if i and roll < 0.2 else None,
            billing_country=rng.choice(COUNTRIES),
            named=roll > 0.9,
            global_account=0.88 < roll <= 0.9,
            incumbent_partner_id=rng.choice(partners) if rng.random() < 0.3 else None,
        )
    opportunities = {}
    for i in range(n_opps):
        key = make_id("006", i)
        opportunities[key] = _opportunity(rng, key, i, customer_ids, partners, user_ids)
    return Snapshot(accounts, opportunities, users)


def _users(rng: random.Random, partners: list[str], n: int) -> dict[str, User]:
    users = {}
    for i in range(n):
        key = make_id("005", i)
        role = rng.choice(ROLES)
        partner = rng.choice(partners) if role is Role.PARTNER_USER else None
        users[key] = User(key, f"User {i}", role, make_id("005", 0), True, partner)
    return users


def _opportunity(
    rng: random.Random, key: str, i: int, customers: list[str], partners: list[str],
    users: list[str],
) -> Opportunity:  # fmt: skip
    created = NOW - timedelta(days=rng.randrange(700), seconds=rng.randrange(86400))
    closed = rng.random() < 0.3
    registration = None
    requested = rng.random() < 0.005
    decided = rng.choice(("Approved", "Rejected", None)) if requested else None
    if rng.random() < 0.15:
        approved_on = date(2026, 12, 1) - timedelta(days=rng.randrange(150))
        registration = Registration(rng.choice(partners), "Approved", True, approved_on)
    return Opportunity(
        key,
        name=f"Deal {i}",
        account_id=rng.choice(customers),
        owner_id=rng.choice(users),
        type="Renewal" if rng.random() < 0.2 else "New Business",
        lead_source=rng.choice(LEAD_SOURCES),
        stage_name="Closed" if closed else "Prospecting",
        is_closed=closed,
        is_won=closed and rng.random() < 0.5,
        amount=Decimal(rng.randrange(1000, 2_000_000)),
        created_at=created,
        partner_id=rng.choice(partners) if rng.random() < 0.4 else None,
        is_renewal=rng.random() < 0.2,
        registration=registration,
        override_lead="Direct" if rng.random() < 0.005 else None,
        override_reason="exec sponsor" if rng.random() < 0.5 else None,
        exception_requested=requested,
        exception_decision=decided,
        exception_decision_reason="checked with the partner" if decided else None,
    )


def peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024  # bytes vs KiB


def own_peak_rss_mb() -> float:
    """This process's peak RSS since it started its program or since ``reset_peak_rss``:
    VmHWM, reset by exec. (A spawned child's ru_maxrss also counts the parent's pages it
    had before exec.)"""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:  # not Linux: the best there is
        return peak_rss_mb()
    kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    return kib / 1024


def reset_peak_rss() -> None:
    """Start ``own_peak_rss_mb`` over from the RSS now (Linux: 5 written to clear_refs), so
    it reads one cycle's own peak; where that cannot be done it keeps counting."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--rules", type=Path, default=ROOT / "config" / "rules.yaml")
    args = parser.parse_args(argv)
    policy = load_policy(args.rules)
    started = time.perf_counter()
    snapshot = build_snapshot(args.opportunities, args.accounts)
    built = time.perf_counter() - started
    print(f"built {args.opportunities:,} opportunities on {args.accounts:,} accounts "
          f"in {built:.1f} s (RSS {peak_rss_mb():,.0f} MB)")  # fmt: skip
    started = time.perf_counter()
    decisions = evaluate(snapshot, policy, NOW)
    elapsed = time.perf_counter() - started
    rate = args.opportunities / elapsed
    rss = peak_rss_mb()
    statuses = Counter(d.status.value for d in decisions.opportunities.values())
    print(f"evaluated in {elapsed:.2f} s: {rate:,.0f} opportunities/s; peak RSS {rss:,.0f} MB")
    print(f"decisions: {len(decisions.opportunities):,} deals, {len(decisions.accounts):,} "
          f"accounts; status mix {dict(sorted(statuses.items()))}")  # fmt: skip
    print("README line:")
    machine = f"Python {platform.python_version()}, {platform.machine()}"
    print(f"| {args.opportunities:,} | {args.accounts:,} | {elapsed:.2f} s | {rate:,.0f} | "
          f"{rss:,.0f} MB | {machine} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
