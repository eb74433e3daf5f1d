"""Prometheus metrics of the service, fed by each cycle's report.

A registry of our own (not the global default) so tests and embedders get a clean set.
"""

from __future__ import annotations

from collections import Counter as Tally
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from syncd.store.store import Store

if TYPE_CHECKING:  # the cycle imports the engine; the admin API needs neither
    from syncd.sync.report import CycleReport


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.cycles = Counter("syncd_cycles", "Sync cycles by outcome.", ["outcome"], registry=r)
        self.duration = Histogram(
            "syncd_cycle_duration_seconds",
            "Wall time of a sync cycle.",
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800),
            registry=r,
        )
        self.read = Counter("syncd_records_read", "Records read.", ["sobject"], registry=r)
        self.written = Counter("syncd_records_written", "Records written.", registry=r)
        self.api_calls = Counter(
            "syncd_api_calls", "Salesforce API calls made by syncd.", ["kind"], registry=r
        )
        self.api_used = Gauge(
            "syncd_org_api_requests_used", "Org-wide DailyApiRequests used (24 h).", registry=r
        )
        self.api_remaining = Gauge(
            "syncd_org_api_requests_remaining", "Org-wide DailyApiRequests left.", registry=r
        )
        self.violations_open = Gauge(
            "syncd_violations_open", "Open violations in the ledger by code.", ["code"], registry=r
        )
        self.errors = Counter(
            "syncd_errors", "Per-record and cycle errors by code.", ["code"], registry=r
        )
        self.last_success = Gauge(
            "syncd_last_success_timestamp_seconds",
            "Unix time the last successful cycle finished.",
            registry=r,
        )

    def observe(self, report: CycleReport, store: Store) -> None:
        self.cycles.labels(report.outcome).inc()
        self.duration.observe((report.finished_at - report.started_at).total_seconds())
        for sobject, count in report.read.items():
            self.read.labels(sobject).inc(count)
        self.written.inc(report.written)
        for kind, count in report.api_calls_by_kind.items():
            self.api_calls.labels(kind).inc(count)
        if report.api_usage:
            used, limit = report.api_usage
            self.api_used.set(used)
            self.api_remaining.set(max(limit - used, 0))
        for failure in report.failures:
            self.errors.labels(failure.code).inc()
        if report.decisions.errors:
            self.errors.labels("ENGINE_ERROR").inc(len(report.decisions.errors))
        if report.outcome == "success":
            self.last_success.set(report.finished_at.timestamp())
        self.refresh_ledger(store)

    def observe_failure(self, code: str) -> None:
        self.cycles.labels("failed").inc()
        self.errors.labels(code).inc()

    def refresh_ledger(self, store: Store) -> None:
        open_by_code = Tally(e.code for e in store.ledger(open_only=True))
        self.violations_open.clear()
        for code, count in open_by_code.items():
            self.violations_open.labels(code).set(count)
