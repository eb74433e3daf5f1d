"""A local Salesforce-compatible org over HTTPS, for the demo and the tests.

``SandboxOrg`` holds the records; ``serve_sandbox`` serves it on 127.0.0.1 with a
certificate from a locally generated CA (a daemon thread, stopped when the block ends);
``run_forever`` serves it in the foreground for ``syncd sandbox serve``.
"""

from __future__ import annotations

from syncd.sandbox.faults import Faults
from syncd.sandbox.foreground import run_forever
from syncd.sandbox.oauth import Credentials
from syncd.sandbox.org import ADMIN_USER_ID, INTEGRATION_USER_ID, SandboxOrg
from syncd.sandbox.server import SandboxServer, serve_sandbox

__all__ = [
    "ADMIN_USER_ID",
    "INTEGRATION_USER_ID",
    "Credentials",
    "Faults",
    "SandboxOrg",
    "SandboxServer",
    "run_forever",
    "serve_sandbox",
]
