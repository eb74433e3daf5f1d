"""What ``syncd demo --notify`` prints: where the notifications went and one in full."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel

from syncd.notify.delivery import DeliveryReport
from syncd.notify.notifier import Notifier
from syncd.notify.receiver import LocalReceiver
from syncd.notify.summary import print_delivery
from syncd.sandbox import SandboxOrg


def show_notifications(
    console: Console,
    receiver: LocalReceiver,
    notifier: Notifier,
    delivered: DeliveryReport | None,
    org: SandboxOrg,
) -> None:
    console.print("\n[bold]Notifications[/bold]")
    print_delivery(console, notifier, delivered)
    counts = receiver.counts()
    console.print(
        f"The local webhook receiver on {receiver.base_url} got {sum(counts.values())}:",
        highlight=False,
    )
    for path, count in sorted(counts.items()):
        console.print(f"  {receiver.base_url}{path}: {count}", highlight=False)
    events = org.records("RoE_Violation__e")
    console.print(f"Platform events RoE_Violation__e published in the org: {len(events)}")
    if receiver.accepted:
        first = receiver.accepted[0]
        console.print(Panel(first.message, title=f"{first.path}: {first.title}", expand=False))
