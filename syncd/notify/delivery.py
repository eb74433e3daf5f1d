"""Sending what the outbox holds: after the cycle's commit, never inside it.

Each due message is sent once with a timeout per socket operation, and its outcome is
recorded at once in a transaction of its own: sent, or one more failed attempt with the
next one ``retry_base_seconds`` · 2^(n-1) later (at most an hour), until ``max_attempts``
mark it failed. A target that fails is not tried again in the same run, so a webhook or
SMTP server that is down costs one timeout per run, not one per message. Held messages
whose digest time has come are folded into one digest per target first. Runs never
overlap (a second caller returns at once) and stop between messages when asked.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from syncd.notify import channels, render
from syncd.notify.message import Kind, OutboxMessage, State, message_key
from syncd.notify.outbox import Outbox
from syncd.notify.settings import NotificationSettings

log = structlog.get_logger("syncd.notify")

MAX_BACKOFF = timedelta(hours=1)
# (service, title, body, timeout) -> None when accepted, else why not.
Sender = Callable[[Any, str, str, float], str | None]


@dataclass
class DeliveryReport:
    sent: Counter[str] = field(default_factory=Counter)  # by target
    retrying: int = 0  # failed this run; tried again later
    deferred: int = 0  # not tried: their target failed earlier in this run
    failed: int = 0  # gave up (max_attempts)
    dropped: int = 0  # their target is no longer configured
    digests: int = 0  # digests assembled from held messages

    @property
    def total_sent(self) -> int:
        return sum(self.sent.values())


def backoff(attempts: int, base_seconds: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(seconds=base_seconds * 2 ** max(0, attempts - 1)))


class Delivery:
    def __init__(
        self,
        settings: NotificationSettings,
        outbox: Outbox,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sender: Sender = channels.send,
    ):
        self.settings = settings
        self.outbox = outbox
        self.clock = clock
        self.sender = sender
        self._running = threading.Lock()

    def run(
        self, *, limit: int = 200, should_stop: Callable[[], bool] = lambda: False
    ) -> DeliveryReport:
        report = DeliveryReport()
        if not self._running.acquire(blocking=False):
            return report  # another run is delivering right now
        try:
            now = self.clock()
            report.digests = self._fold_digests(now)
            down: set[str] = set()
            for message in self.outbox.due(now, limit):
                if should_stop():
                    break
                if message.target in down:
                    report.deferred += 1
                    continue
                self._deliver(message, down, report)
        finally:
            self._running.release()
        if report.total_sent or report.retrying or report.failed or report.dropped:
            log.info(
                "notify.delivered",
                sent=dict(report.sent),
                retrying=report.retrying,
                deferred=report.deferred,
                failed=report.failed,
                dropped=report.dropped,
            )
        return report

    def _deliver(self, message: OutboxMessage, down: set[str], report: DeliveryReport) -> None:
        try:
            plugin = channels.service(message.target, self.settings, message.key)
        except channels.NotConfigured as exc:
            self.outbox.sent(message, self.clock(), State.DROPPED)
            log.warning("notify.dropped", key=message.key, target=message.target, why=str(exc))
            report.dropped += 1
            return
        error = self.sender(plugin, message.title, message.body, self.settings.timeout_seconds)
        at = self.clock()
        if error is None:
            self.outbox.sent(message, at)
            report.sent[message.target] += 1
            return
        down.add(message.target)
        attempts = message.attempts + 1
        retry_at = None
        if attempts < self.settings.max_attempts:
            retry_at = at + backoff(attempts, self.settings.retry_base_seconds)
        self.outbox.failed(message, error, retry_at)
        log.warning(
            "notify.send_failed",
            key=message.key,
            target=message.target,
            attempt=attempts,
            retry_at=retry_at.isoformat() if retry_at else None,
            error=error,
        )
        if retry_at is None:
            report.failed += 1
        else:
            report.retrying += 1

    def _fold_digests(self, now: datetime) -> int:
        groups: dict[tuple[str, datetime], list[OutboxMessage]] = defaultdict(list)
        for row in self.outbox.held_due(now):
            groups[(row.target, row.not_before)].append(row)
        for (target, at), rows in sorted(groups.items()):
            self.outbox.fold(_digest(target, at, rows, now), rows, now)
        return len(groups)


def _digest(
    target: str, at: datetime, rows: Sequence[OutboxMessage], now: datetime
) -> OutboxMessage:
    members = hashlib.sha256("\n".join(sorted(r.key for r in rows)).encode()).hexdigest()[:12]
    title, body = render.digest(rows, at)
    return OutboxMessage(
        key=message_key(f"digest:{at:%Y-%m-%dT%H:%MZ}:{members}", Kind.DIGEST, target),
        kind=Kind.DIGEST,
        target=target,
        title=title,
        body=body,
        summary=title,
        created_at=now,
        not_before=now,
    )
