"""What ``syncd sandbox serve`` loads and prints: the org, and how to connect syncd to it."""

from __future__ import annotations

import shlex
from datetime import date

from syncd.cli.base import console
from syncd.sandbox import SandboxOrg
from syncd.sandbox.dataset import demo_dataset, synthetic_dataset
from syncd.sandbox.foreground import Access

SYNTHETIC_SEED = 1  # the same N gives the same org, run after run


def load_org(*, empty: bool, synthetic: int | None, today: date) -> SandboxOrg:
    """An empty org, a synthetic one of ``synthetic`` deals, or the demo org."""
    org = SandboxOrg()
    if empty:
        return org
    if synthetic is not None:
        org.load(synthetic_dataset(synthetic, seed=SYNTHETIC_SEED, today=today))
    else:
        org.load(demo_dataset(today))
    return org


def print_access(access: Access) -> None:
    """Print the connection settings to stdout (not the log: it would redact the secret,
    which is a throwaway one made for this run of the sandbox)."""
    lines = [
        f"Sandbox org listening on {access.instance_url} (Ctrl-C stops it).",
        "Connect syncd to it (client credentials) with:",
        "",
        *(f"export {name}={shlex.quote(value)}" for name, value in access.environment().items()),
        "",
        f"The password grant works too: username {access.username}, password {access.password}.",
    ]
    # Plain text, never wrapped: the export lines are meant to be pasted into a shell.
    console.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)
    console.file.flush()
