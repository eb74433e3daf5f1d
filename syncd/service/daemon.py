"""The service: APScheduler jobs, the admin HTTP API, signals, graceful shutdown.

Jobs: the sync cycle every ``interval_seconds`` (coalesced, one at a time), a nightly
full reconcile (cron), a daily escalation sweep, an hourly check that publishes the
scorecards once a day (``syncd.service.publish``) and, with notifications configured,
the delivery of the outbox (after every cycle, every ``delivery_interval_seconds`` for
retries, and at ``digest_hour`` for the daily digest; never under the cycle's lock).
A signal sets an event; the cycle checks it between write batches, so the batch in
flight finishes, the run is recorded as interrupted (watermarks untouched) and the
process exits 0. During start-up (the lock, authentication) nothing is in flight: a
signal ends start-up at once, also exit 0.

The sync loop never depends on the admin server: it is bounded (``http.py``), and a
server that fails to start or dies is logged, never the end of the cycles.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from apscheduler.events import EVENT_JOB_MISSED, JobEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from syncd.errors import ConfigError, RetriableError, SyncdError
from syncd.notify.settings import NotificationSettings
from syncd.service.admin import ADMIN_LIMITS, AdminContext, admin_app
from syncd.service.http import ThreadedServer
from syncd.service.metrics import Metrics
from syncd.service.publish import Publisher
from syncd.service.runtime import Runtime
from syncd.service.signals import StopSignals
from syncd.store.history import prune_history
from syncd.store.lock import InstanceLock, LockLost

log = structlog.get_logger("syncd.daemon")
CYCLE_JOB = "sync-cycle"
DELIVERY_JOB = "notify-delivery"


class Daemon:
    def __init__(self, runtime: Runtime, signals: StopSignals | None = None):
        self.runtime = runtime
        # `syncd run` installs the signals before loading anything; used as a library,
        # the daemon installs its own for the length of run().
        self._own_signals = signals is None
        self.signals = signals or StopSignals()
        self.stop = self.signals.event
        self.metrics = Metrics()
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.lock = InstanceLock(runtime.store, runtime.settings.state_dir)
        self.cycle = runtime.cycle(should_stop=self.stop.is_set)
        self.publisher = Publisher.from_runtime(runtime)
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
        if report.outbox:
            self._deliver_now()

    def deliver(self) -> None:
        """Send what the outbox holds (the cycle committed it); stops when asked to."""
        if self.runtime.notifier is not None and not self.stop.is_set():
            self.runtime.notifier.deliver(should_stop=self.stop.is_set)

    def _deliver_now(self) -> None:
        if self.scheduler.running and self.scheduler.get_job(DELIVERY_JOB) is not None:
            self.scheduler.modify_job(DELIVERY_JOB, next_run_time=datetime.now(UTC))

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

    def publish(self, now: datetime | None = None) -> None:
        """Hourly: publish the scorecards once a day, from ``scorecard_publish_hour`` on."""
        now = now or datetime.now(UTC)
        if now.hour < self.runtime.settings.scorecard_publish_hour:
            return
        with self._cycle_lock:  # never beside a cycle: the same client, the same budget
            if not self.stop.is_set():
                self.publisher.publish_if_due(self.cycle.org_state, now)

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
        if settings.scorecard_publish:
            self.scheduler.add_job(
                self.publish, "cron", minute=15, id="scorecard-publish", coalesce=True,
                max_instances=1, misfire_grace_time=3000,
            )  # fmt: skip
        if self.runtime.notifier is not None:
            self._schedule_delivery(self.runtime.notifier.settings)

    def _schedule_delivery(self, notify: NotificationSettings) -> None:
        self.scheduler.add_job(
            self.deliver,
            "interval",
            seconds=notify.delivery_interval_seconds,
            id=DELIVERY_JOB,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        self.scheduler.add_job(
            self.deliver,
            "cron",
            hour=notify.digest_hour,
            id="notify-digest",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
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
        try:
            return ThreadedServer.for_app(
                admin_app(ctx), settings.admin_host, settings.admin_port, limits=ADMIN_LIMITS
            )
        except OSError as exc:
            raise ConfigError(
                f"cannot serve the admin API on {settings.admin_host}:{settings.admin_port} "
                f"(admin_host / admin_port): {exc.strerror}"
            ) from None

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
        """Serve until a stop signal; 0 whenever it stops because it was asked to."""
        with self._signals_installed():
            if self._acquire(standby):
                try:
                    with self._admin() as admin:  # /healthz answers while we log in
                        if self._authenticate():
                            self._serve(admin)
                finally:
                    self.lock.release()
        log.info("daemon.stopped", signal=self.signals.received, lost_lock=self.lost_lock)
        return 1 if self.lost_lock else 0  # stepped down: another syncd holds the store

    @contextmanager
    def _signals_installed(self) -> Iterator[None]:
        if not self._own_signals:
            yield
            return
        with self.signals:
            yield

    def _acquire(self, standby: bool) -> bool:
        """The one-daemon lock; False when stopped before it is ours."""
        if self.stop.is_set():  # the signal came while settings and files were read
            return False
        if standby:
            log.info("daemon.standby", lock=str(self.lock.path))
            return self.lock.wait(self.stop.is_set)
        self.lock.acquire()
        return True

    def _authenticate(self) -> bool:
        """Log in before the first cycle: wrong credentials stop start-up, not each cycle.

        An org that is only unreachable now does not: the cycles retry. False when a stop
        signal came first.
        """
        try:
            return _until_stopped(self.runtime.client.connect, self.stop)
        except RetriableError as exc:
            log.warning("daemon.org_unreachable", error=str(exc))
            return not self.stop.is_set()

    def _serve(self, admin: ThreadedServer) -> None:
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
        log.info("daemon.stopping", signal=self.signals.received)
        self.scheduler.shutdown(wait=True)  # the cycle in flight finishes its batch


def _until_stopped(work: Callable[[], object], stop: threading.Event) -> bool:
    """Run ``work()`` in a helper thread; False, abandoning it, if ``stop`` is set first.

    Start-up holds nothing that needs finishing (no write is in flight), so a stop need
    not wait for a slow login and its retries; the helper is a daemon thread, and its
    error, if any, is raised here.
    """
    failure: list[BaseException] = []
    done = threading.Event()

    def target() -> None:
        try:
            work()
        except BaseException as exc:  # raised in the caller's thread below
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=target, name="daemon-start-up", daemon=True).start()
    while not done.wait(0.05):
        if stop.is_set():
            return False
    if failure:
        raise failure[0]
    return True
