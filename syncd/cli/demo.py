"""`syncd demo`: the seeded sandbox org over HTTPS, one real cycle, a readable summary.

Nothing is faked on the syncd side: the cycle authenticates with OAuth client credentials,
verifies TLS against the sandbox's own CA, queries and writes through simple-salesforce,
exactly as against a real org. ``--notify`` also routes the cycle's notifications to a
local webhook receiver on 127.0.0.1 (through Apprise, as to Slack or Teams), publishes
RoE_Violation__e, and prints what arrived where.
"""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from syncd.cli.report import print_summary
from syncd.salesforce import OrgClient
from syncd.salesforce.config import SalesforceSettings
from syncd.sandbox import SandboxOrg, serve_sandbox
from syncd.sandbox.dataset import demo_dataset
from syncd.service.runtime import open_runtime
from syncd.settings import Settings, load_settings
from syncd.sync.cycle import CycleReport
from syncd.sync.reader import ProgressSink

# Where --notify sends what: channel operations, and the reps' managers.
OPS_PATH, VP_PATH, MANAGERS_PATH = "channel-ops", "managers/victoria-hale", "managers/others"


def demo_settings(
    state_dir: Path, sf: SalesforceSettings, notifications: dict[str, Any] | None = None
) -> Settings:
    if notifications:
        return load_settings(salesforce=sf, state_dir=state_dir, notifications=notifications)
    return load_settings(salesforce=sf, state_dir=state_dir)


def notify_settings(receiver_url: Any, vp_id: str) -> dict[str, Any]:
    """Three webhook targets on the local receiver; every route on; platform events on."""
    return {
        "targets": {
            "channel_ops": {"kind": "webhook", "url": receiver_url(OPS_PATH)},
            "sales_vp": {"kind": "webhook", "url": receiver_url(VP_PATH)},
            "managers": {"kind": "webhook", "url": receiver_url(MANAGERS_PATH)},
        },
        "new_violation": {
            "to": ["channel_ops"],
            "managers": {vp_id: "sales_vp"},
            "manager_default": "managers",
        },
        "remedy_owed": {"to": ["channel_ops"]},
        "exception_request": {"to": ["channel_ops"]},
        "platform_events": True,
    }


def run_demo(
    console: Console, state_dir: Path, progress: ProgressSink | None = None, notify: bool = False
) -> CycleReport:
    state_dir.mkdir(parents=True, exist_ok=True)
    db = state_dir / "syncd.db"
    db.unlink(missing_ok=True)  # every demo starts from a fresh org, so from fresh state too
    org = SandboxOrg()
    dataset = demo_dataset(datetime.now(UTC).date())
    org.load(dataset)
    with ExitStack() as stack:
        server = stack.enter_context(serve_sandbox(org, cert_dir=state_dir / "tls"))
        console.print(
            f"Sandbox org listening on {server.instance_url} "
            f"(TLS from a local CA: {server.ca_bundle})"
        )
        receiver = None
        notifications = None
        if notify:
            from syncd.notify.receiver import LocalReceiver

            receiver = stack.enter_context(LocalReceiver())
            notifications = notify_settings(receiver.url, dataset.id("user.vp"))
            console.print(f"Webhook receiver listening on {receiver.base_url}")
        sf = server.salesforce_settings()
        runtime = open_runtime(demo_settings(state_dir, sf, notifications), OrgClient(sf))
        stack.callback(runtime.close)
        report = runtime.cycle(progress=progress).run()
        print_summary(console, report, state_location=str(db.resolve()))
        if receiver is not None and runtime.notifier is not None:
            from syncd.cli.demo_notify import show_notifications

            delivered = runtime.notifier.deliver()
            show_notifications(console, receiver, runtime.notifier, delivered, org)
    return report
