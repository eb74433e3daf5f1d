"""Known secret values fed through every error path never come back out: not on stdout
or stderr, not in a log line, not in the state database, not in /status.

Paths: settings validation errors in each auth mode, bad settings files, an
authentication failure, a failing cycle, `syncd check`, and `syncd run` failing at
start-up (as a subprocess). The sandbox's own secret and the access tokens it issues
are checked as well as the values planted here.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from syncd.sandbox import SandboxServer
from syncd.sandbox.org import ORG_ID
from syncd.service.admin import AdminContext, status_document
from syncd.service.metrics import Metrics
from syncd.store.store import Store

from .test_bad_input import Outcome, invoke, org, org_env  # noqa: F401 - org is a fixture
from .test_cli import SYNCD

pytestmark = pytest.mark.integration

CLIENT_SECRET = "Known-Client-Secret-5501"
PASSWORD = "Known-Password-5502"
ACCESS_TOKEN = "00DKnown-Access-Token-5503"
ADMIN_TOKEN = "Known-Admin-Token-5504"
KEY_BODY = "Known-Private-Key-Body-5505"
PLANTED = (CLIENT_SECRET, PASSWORD, ACCESS_TOKEN, ADMIN_TOKEN, KEY_BODY)
ISSUED = re.compile(re.escape(ORG_ID[:15]) + r"![\w-]+")  # tokens the sandbox hands out

MODES = {
    # each mode with its secrets set and one other setting missing or wrong
    "client_credentials": {
        "SYNCD_SALESFORCE__CLIENT_ID": None,
        "SYNCD_SALESFORCE__CLIENT_SECRET": CLIENT_SECRET,
    },
    "password": {
        "SYNCD_SALESFORCE__AUTH": "password",
        "SYNCD_SALESFORCE__CLIENT_SECRET": CLIENT_SECRET,
        "SYNCD_SALESFORCE__PASSWORD": PASSWORD,
        "SYNCD_SALESFORCE__TIMEOUT_SECONDS": "fast",
    },
    "token": {
        "SYNCD_SALESFORCE__AUTH": "token",
        "SYNCD_SALESFORCE__ACCESS_TOKEN": ACCESS_TOKEN,
        "SYNCD_SALESFORCE__INSTANCE_URL": "http://not-https.example.com",
    },
    "jwt": {
        "SYNCD_SALESFORCE__AUTH": "jwt",
        "SYNCD_SALESFORCE__PRIVATE_KEY_FILE": "{tmp}/jwt.key",
    },
}
SETTINGS_FILES = {
    "secret-in-yaml": f"salesforce:\n  client_secret: {CLIENT_SECRET}\n  password: {PASSWORD}\n",
    "secret-then-syntax-error": f"admin_token: {ADMIN_TOKEN}\ninterval_seconds: [\n",
    "secret-as-the-whole-file": f"{ACCESS_TOKEN}\n",
    "secret-in-a-list": f"- {CLIENT_SECRET}\n- {PASSWORD}\n",
    "secret-duplicated": f"admin_token: {ADMIN_TOKEN}\nadmin_token: {ADMIN_TOKEN}\n",
}


@pytest.fixture
def runner() -> Iterator[CliRunner]:
    yield CliRunner()


def leaked(texts: list[str], server: SandboxServer) -> list[str]:
    """Every secret value found in ``texts``."""
    blob = "\n".join(texts)
    found = [secret for secret in (*PLANTED, server.client_secret) if secret in blob]
    return found + ISSUED.findall(blob)


def state_texts(state: Path) -> list[str]:
    """The state database's bytes (and its write-ahead log), and the /status document."""
    texts = [path.read_bytes().decode("latin-1") for path in sorted(state.glob("syncd.db*"))]
    if (state / "syncd.db").exists():
        store = Store.open(None, state)
        try:
            ctx = AdminContext(store=store, metrics=Metrics(), interval_seconds=60, token=None)
            texts.append(json.dumps(status_document(ctx)))
        finally:
            store.close()
    return texts


def run_cli(
    runner: CliRunner, command: str, server: SandboxServer, tmp: Path, **env: str | None
) -> Outcome:
    merged: dict[str, str | None] = {**org_env(server, tmp), "SYNCD_ADMIN_TOKEN": ADMIN_TOKEN}
    merged.update({k: v.replace("{tmp}", str(tmp)) if v else v for k, v in env.items()})
    return invoke(runner, command, merged, tmp)


@pytest.mark.parametrize("command", ["sync", "run", "check"])
@pytest.mark.parametrize("mode", sorted(MODES))
def test_settings_errors_in_every_auth_mode(
    mode: str, command: str, server: SandboxServer, runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "jwt.key").write_text(f"-----BEGIN PRIVATE KEY-----\n{KEY_BODY}\n")
    outcome = run_cli(runner, command, server, tmp_path, **MODES[mode])
    assert outcome.exit_code == (1 if command == "check" else 2), outcome.text
    assert "salesforce" in outcome.text
    assert leaked([outcome.text, *state_texts(tmp_path / "state")], server) == []


@pytest.mark.parametrize("command", ["sync", "run", "check"])
@pytest.mark.parametrize("name", sorted(SETTINGS_FILES))
def test_bad_settings_files(
    name: str, command: str, server: SandboxServer, runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "syncd.yaml").write_text(SETTINGS_FILES[name])
    outcome = run_cli(runner, command, server, tmp_path, SYNCD_CONFIG="{tmp}/syncd.yaml")
    assert outcome.exit_code == (1 if command == "check" else 2), outcome.text
    assert str(tmp_path / "syncd.yaml") in outcome.text.replace("\n", "")
    assert leaked([outcome.text, *state_texts(tmp_path / "state")], server) == []


@pytest.mark.parametrize("command", ["sync", "check", "explain"])
def test_an_authentication_failure(
    command: str, server: SandboxServer, runner: CliRunner, tmp_path: Path
) -> None:
    outcome = run_cli(
        runner, command, server, tmp_path, SYNCD_SALESFORCE__CLIENT_SECRET=CLIENT_SECRET
    )
    assert outcome.exit_code == 1, outcome.text
    assert "refused the client_credentials login" in " ".join(outcome.text.split())
    assert leaked([outcome.text, *state_texts(tmp_path / "state")], server) == []


def test_a_failing_cycle(server: SandboxServer, runner: CliRunner, tmp_path: Path) -> None:
    server.faults.fail_next(403, "REQUEST_LIMIT_EXCEEDED", times=50, kind="composite")
    outcome = run_cli(runner, "sync", server, tmp_path)
    assert outcome.exit_code == 1, outcome.text
    assert "REQUEST_LIMIT_EXCEEDED" in outcome.text
    texts = [outcome.text, *state_texts(tmp_path / "state")]
    assert "REQUEST_LIMIT_EXCEEDED" in texts[-1]  # the failure is in /status ...
    assert leaked(texts, server) == []  # ... and no secret is


def test_check_with_problems_found(
    server: SandboxServer, runner: CliRunner, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nregistration: {valid_days: soon}\n")
    outcome = run_cli(runner, "check", server, tmp_path, SYNCD_RULES_FILE=str(rules))
    assert outcome.exit_code == 1 and "authenticated" in outcome.text, outcome.text
    assert leaked([outcome.text], server) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("env", "code"),
    [
        ({"SYNCD_SALESFORCE__CLIENT_SECRET": CLIENT_SECRET}, 1),  # refused at the login
        ({"SYNCD_SALESFORCE__CLIENT_ID": ""}, 2),  # settings
    ],
    ids=["authentication", "settings"],
)
def test_run_failing_at_start_up(
    env: dict[str, str], code: int, server: SandboxServer, tmp_path: Path
) -> None:
    from .test_cli import env_for

    done = subprocess.run(
        [*SYNCD, "run"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **env_for(server, tmp_path / "state", SYNCD_ADMIN_PORT="0"),
            "SYNCD_ADMIN_TOKEN": ADMIN_TOKEN,
            **env,
        },
    )
    assert done.returncode == code, done.stderr
    assert "daemon.started" not in done.stderr
    assert leaked([done.stdout, done.stderr, *state_texts(tmp_path / "state")], server) == []
