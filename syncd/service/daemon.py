"""The service: APScheduler jobs, the admin HTTP API, signals, graceful shutdown.

Jobs: the sync cycle every ``interval_seconds`` (coalesced, one at a time), a nightly
full reconcile (cron) and a daily escalation sweep. A signal sets an event; the cycle
checks it between write batches, so the batch in flight finishes, the run is recorded
as interrupted (watermarks untouched) and the process exits 0.
"""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import structlog
from apscheduler.events import EVENT_JOB_MISSED, JobEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from syncd.errors import SyncdError
from syncd.service.admin import AdminContext, admin_app
from syncd.service.http import ThreadedServer
from syncd.service.metrics import Metrics
from syncd.service.runtime import Runtime
from syncd.store.history import prune_history
from syncd.store.lock import InstanceLock, LockLost
from syncd.sync.cycle import Cycle, CycleOptions

log = structlog.get_logger("syncd.daemon")
CYCLE_JOB = "sync-cycle"


class Daemon:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.stop = threading.Event()
        self.metrics = Metrics()
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.lock = InstanceLock(runtime.store, runtime.settings.state_dir)
        self.cycle = Cycle(
            runtime.client,
            runtime.store,
            runtime.mapping,
            runtime.policy,
            should_stop=self.stop.is_set,
            options=CycleOptions.from_settings(runtime.settings),
        )
        self._cycle_lock = threading.Lock()  # the cron jobs and the interval job never overlap
        self.lost_lock = False

    # -- jobs ---------------------------------------------------------------------------

    def tick(self, reason: str = "interval", full: bool = False) -> None:
        with self._cycle_lock:
            if self.stop.is_set():
                return
            log.info("daemon.cycle", reason=reason)
            try:
                self.lock.verify()
                report = self.cycle.run(full=full)
            except LockLost as exc:
                self._step_down(exc)
                return
            except SyncdError as exc:  # logged and recorded by the cycle; next tick retries
                self.metrics.observe_failure(type(exc).__name__)
                return
            self.metrics.observe(report, self.runtime.store)

    def _step_down(self, exc: LockLost) -> None:
        """Another syncd holds the store now: write nothing more, stop."""
        log.error("daemon.lock_lost", error=str(exc))
        self.lost_lock = True
        self.stop.set()

    def sweep(self) -> None:
        """Daily: publish the ledger's open violations (levels are set when opened); prune
        the decision history past its retention, between cycles."""
        retention = timedelta(days=self.runtime.settings.history_retention_days)
        with self._cycle_lock:
            pruned = prune_history(self.runtime.store, datetime.now(UTC) - retention)
        log.info("daemon.history_pruned", rows=pruned, retention_days=retention.days)
        self.metrics.refresh_ledger(self.runtime.store)
        open_entries = self.runtime.store.ledger(open_only=True)
        log.info(
            "daemon.escalation_sweep",
            open=len(open_entries),
            by_level={lvl: sum(e.level == lvl for e in open_entries) for lvl in (1, 2, 3)},
        )

    def wake(self) -> None:
        """Run a cycle as soon as possible (a resync was queued over HTTP).

        A one-off job of its own rather than moving the interval job: that one may be
        running right now, and APScheduler would skip a run of a job already in flight.
        The cycle lock queues it behind any cycle in progress.
        """
        if self.scheduler.running and not self.stop.is_set():
            self.scheduler.add_job(
                self.tick,
                "date",
                run_date=datetime.now(UTC),
                kwargs={"reason": "resync requested"},
                id="resync-now",
                replace_existing=True,
                max_instances=2,
                misfire_grace_time=None,
            )

    # -- lifecycle ----------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("daemon.stopping", signal=signal.Signals(signum).name)
        self.stop.set()

    def _on_missed(self, event: JobEvent) -> None:
        log.warning("daemon.job_missed", job=event.job_id, scheduled=str(event.scheduled_run_time))

    def _schedule(self) -> None:
        settings = self.runtime.settings
        interval = settings.interval_seconds
        self.scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)
        self.scheduler.add_job(
            self.tick,
            "interval",
            seconds=interval,
            id=CYCLE_JOB,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=interval,
            next_run_time=datetime.now(UTC),
        )
        self.scheduler.add_job(
            self.tick,
            CronTrigger.from_crontab(settings.full_reconcile_cron, timezone=UTC),
            kwargs={"reason": "nightly full reconcile", "full": True},
            id="full-reconcile",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
        )
        self.scheduler.add_job(
            self.sweep, "cron", hour=6, id="escalation-sweep", coalesce=True, max_instances=1
        )

    def _admin(self) -> ThreadedServer:
        settings = self.runtime.settings
        token = settings.admin_token.get_secret_value() if settings.admin_token else None
        ctx = AdminContext(
            store=self.runtime.store,
            metrics=self.metrics,
            interval_seconds=settings.interval_seconds,
            token=token,
            wake=self.wake,
            budget=self._budget,
        )
        return ThreadedServer.for_app(admin_app(ctx), settings.admin_host, settings.admin_port)

    def _budget(self) -> dict[str, Any]:
        """The org's API budget as the last cycle that read it saw it."""
        for run in self.runtime.store.recent_runs(5):
            if run.api_max:
                return {
                    "used": run.api_used,
                    "max": run.api_max,
                    "reserve_percent": self.runtime.settings.api_reserve_percent,
                    "holding": run.budget_hold,
                }
        return {}

    def run(self, *, standby: bool = False) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        if standby:
            log.info("daemon.standby", lock=str(self.lock.path))
            if not self.lock.wait(self.stop.is_set):
                return 0
        else:
            self.lock.acquire()
        try:
            with self._admin() as admin:
                self.metrics.refresh_ledger(self.runtime.store)
                self._schedule()
                self.scheduler.start()
                log.info(
                    "daemon.started",
                    interval_seconds=self.runtime.settings.interval_seconds,
                    admin=f"http://{admin.host}:{admin.port}",
                    store=self.runtime.store.location,
                )
                self.stop.wait()
                self.scheduler.shutdown(wait=True)  # the cycle in flight finishes its batch
        finally:
            self.lock.release()
        log.info("daemon.stopped", lost_lock=self.lost_lock)
        return 1 if self.lost_lock else 0
