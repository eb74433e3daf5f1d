"""`syncd demo`: the seeded sandbox org over HTTPS, one real cycle, a readable summary.

Nothing is faked on the syncd side: the cycle authenticates with OAuth client credentials,
verifies TLS against the sandbox's own CA, queries and writes through simple-salesforce,
exactly as against a real org.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from syncd.cli.report import print_summary
from syncd.salesforce import OrgClient
from syncd.salesforce.config import SalesforceSettings
from syncd.sandbox import SandboxOrg, serve_sandbox
from syncd.sandbox.dataset import demo_dataset
from syncd.service.runtime import open_runtime
from syncd.settings import Settings, load_settings
from syncd.sync.cycle import Cycle, CycleReport
from syncd.sync.reader import ProgressSink


def demo_settings(state_dir: Path, sf: SalesforceSettings) -> Settings:
    return load_settings(salesforce=sf, state_dir=state_dir)


def run_demo(
    console: Console, state_dir: Path, progress: ProgressSink | None = None
) -> CycleReport:
    state_dir.mkdir(parents=True, exist_ok=True)
    db = state_dir / "syncd.db"
    db.unlink(missing_ok=True)  # every demo starts from a fresh org, so from fresh state too
    org = SandboxOrg()
    org.load(demo_dataset(datetime.now(UTC).date()))
    with serve_sandbox(org, cert_dir=state_dir / "tls") as server:
        console.print(
            f"Sandbox org listening on {server.instance_url} "
            f"(TLS from a local CA: {server.ca_bundle})"
        )
        sf = server.salesforce_settings()
        runtime = open_runtime(demo_settings(state_dir, sf), OrgClient(sf))
        try:
            report = Cycle(
                runtime.client, runtime.store, runtime.mapping, runtime.policy, progress=progress
            ).run()
            print_summary(console, report, state_location=str(db.resolve()))
        finally:
            runtime.close()
    return report
