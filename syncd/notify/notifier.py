"""The notifier the cycle, the daemon and the CLI use: plan, publish events, deliver.

- ``plan`` (pure, inside the cycle): a cycle's results -> the outbox messages it owes,
  committed in the cycle's own transaction;
- ``publish_events`` (inside the cycle, after its Tasks): RoE_Violation__e through the
  cycle's org client, so the calls are the cycle's, counted and inside its budget guard;
- ``deliver`` (after the commit: the daemon's delivery job, or ``syncd sync``): webhooks
  and email through Apprise.

Nothing here may fail a cycle: enforcement (flags, Tasks, holds) matters more than any
message about it, so an unexpected error while planning or delivering is logged with its
traceback and the cycle goes on; undelivered messages stay in the outbox for next time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog

from syncd.errors import ConfigError
from syncd.logs import register_secrets
from syncd.notify import platform_events, routing
from syncd.notify.events import CycleFacts, notices
from syncd.notify.message import EVENT_TARGET, OutboxChange, OutboxMessage, State
from syncd.notify.outbox import Outbox
from syncd.notify.settings import NotificationSettings

if TYPE_CHECKING:
    from syncd.notify.delivery import Delivery, DeliveryReport
    from syncd.salesforce import OrgClient
    from syncd.store.store import Store

log = structlog.get_logger("syncd.notify")

EVENTS_PER_CYCLE = 2000  # waiting platform events retried per cycle (10 calls at most)


class Notifier:
    def __init__(
        self,
        settings: NotificationSettings,
        store: Store,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.settings = settings
        self.outbox = Outbox(store)
        self.clock = clock
        self._delivery: Delivery | None = None

    @classmethod
    def configured(cls, settings: NotificationSettings, store: Store) -> Notifier | None:
        """A notifier when anything is configured (checked now: exit 2 at start-up)."""
        if not settings.active:
            return None
        register_secrets(settings.secret_values())
        if settings.targets:
            from syncd.notify import channels  # Apprise loads only when targets exist

            problems = channels.check(settings)
            if problems:
                raise ConfigError("invalid notification targets", problems=problems)
        return cls(settings, store)

    # -- inside the cycle -------------------------------------------------------------

    def plan(self, facts: CycleFacts, now: datetime) -> OutboxChange:
        try:
            return OutboxChange(add=routing.route(notices(facts), self.settings, now))
        except Exception:  # a bug in a message must never cost the cycle its Tasks
            log.exception("notify.plan_failed")
            return OutboxChange()

    def publish_events(
        self, client: OrgClient, change: OutboxChange, now: datetime
    ) -> OutboxChange:
        """Publish this cycle's events and those still waiting; the outbox change to commit."""
        if not self.settings.platform_events:
            return change
        new = [m for m in change.add if m.target == EVENT_TARGET]
        fresh = {m.key for m in new}
        waiting = [m for m in self.outbox.waiting_events(EVENTS_PER_CYCLE) if m.key not in fresh]
        done = platform_events.publish(client, [*waiting, *new])
        return OutboxChange(
            add=[_outcome(m, done, now) if m.key in fresh else m for m in change.add],
            sent=[k for k in done.sent if k not in fresh],
            failed={k: v for k, v in done.failed.items() if k not in fresh},
        )

    # -- after the commit ---------------------------------------------------------------

    @property
    def delivery(self) -> Delivery:
        if self._delivery is None:
            from syncd.notify.delivery import Delivery

            self._delivery = Delivery(self.settings, self.outbox, clock=self.clock)
        return self._delivery

    def deliver(self, should_stop: Callable[[], bool] = lambda: False) -> DeliveryReport | None:
        """Send what is due; None when delivery itself broke (logged; retried next run)."""
        try:
            return self.delivery.run(should_stop=should_stop)
        except Exception:  # the service keeps running; the messages stay in the outbox
            log.exception("notify.delivery_failed")
            return None


def _outcome(
    message: OutboxMessage, done: platform_events.Published, now: datetime
) -> OutboxMessage:
    if message.key in done.sent:
        return replace(message, state=State.SENT, delivered_at=now)
    if message.key in done.failed:
        return replace(message, attempts=1, last_error=done.failed[message.key])
    return message
