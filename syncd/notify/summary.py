"""What a person reads about notifications after ``syncd sync`` or ``syncd demo``."""

from __future__ import annotations

from rich.console import Console

from syncd.notify.delivery import DeliveryReport
from syncd.notify.message import State
from syncd.notify.notifier import Notifier


def shown(target: str) -> str:
    """``target:ops`` -> ``ops``; ``partner:a@b`` -> ``a@b (partner)``."""
    kind, _, name = target.partition(":")
    return f"{name} (partner)" if kind == "partner" else name


def print_delivery(console: Console, notifier: Notifier, report: DeliveryReport | None) -> None:
    counts = notifier.outbox.counts()
    if report is None:
        console.print("[red]Notifications: delivery failed (see the log); retried next run[/red]")
    elif report.total_sent:
        where = ", ".join(f"{n} to {shown(t)}" for t, n in sorted(report.sent.items()))
        console.print(f"Notifications sent: {report.total_sent} ({where})", highlight=False)
    waiting = counts.get(State.PENDING.value, 0)
    held = counts.get(State.HELD.value, 0)
    failed = counts.get(State.FAILED.value, 0)
    if waiting or held or failed:
        console.print(
            f"Notifications waiting: {waiting} to retry, {held} held for the daily digest "
            f"({notifier.settings.digest_hour:02d}:00 UTC), {failed} given up",
            highlight=False,
        )
