"""Malformed input, run through the real CLI: a message naming the file and key, exit 2
(``syncd check``: exit 1 listing the problem), no traceback, and the org never written.

Every row of ``CASES`` is one malformed input (a file syncd reads, an environment
variable, the state store). Each is run through the commands that would read it, with
the sandbox org configured so that a command which wrongly went on would reach it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from syncd.cli.main import app
from syncd.sandbox import SandboxOrg, SandboxServer
from syncd.sandbox.dataset import demo_dataset
from syncd.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration

DEAL = "0065g0000000035AAA"  # a deal of the demo dataset
STARTING = ("sync", "run", "explain")  # commands that start work against the org
READING = ("violations", "explain-offline")  # commands that only read the state store
ALL_CHECKED = (*STARTING, "check")
KNOWN_SECRET = "Known-Secret-Value-7431"

MAPPING = (PROJECT_ROOT / "mappings" / "default.yaml").read_text(encoding="utf-8")
RULES = (PROJECT_ROOT / "config" / "rules.yaml").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Case:
    """One malformed input. ``{tmp}`` in files, env and expectations is the test's tmp_path."""

    id: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    unset: tuple[str, ...] = ()  # SYNCD_* variables of the org setup to drop
    expect: tuple[str, ...] = ()  # every one appears in the message
    commands: tuple[str, ...] = ALL_CHECKED


def settings(text: str | bytes, *expect: str, **kw: object) -> Case:
    name = str(kw.pop("id"))
    return Case(
        name,
        files={"syncd.yaml": text},
        env={"SYNCD_CONFIG": "{tmp}/syncd.yaml"},
        expect=("{tmp}/syncd.yaml", *expect),
        **kw,  # type: ignore[arg-type]
    )


def mapping(text: str | bytes, *expect: str, id: str) -> Case:
    return Case(
        id,
        files={"mapping.yaml": text},
        env={"SYNCD_MAPPING_FILE": "{tmp}/mapping.yaml"},
        expect=("{tmp}/mapping.yaml", *expect),
    )


def rules(text: str | bytes, *expect: str, id: str) -> Case:
    return Case(
        id,
        files={"rules.yaml": text},
        env={"SYNCD_RULES_FILE": "{tmp}/rules.yaml"},
        expect=("{tmp}/rules.yaml", *expect),
    )


def secret_in_yaml(yaml: str, key: str, variable: str) -> Case:
    return settings(
        yaml.format(secret=KNOWN_SECRET),
        key,
        variable,
        "SYNCD_SECRETS_DIR",
        id=f"settings-secret-{key.rsplit('.', 1)[-1]}",
    )


CASES = [
    # -- the settings file -------------------------------------------------------------
    settings(b"state_dir: caf\xe9\n", "UTF-8", id="settings-not-utf8"),
    settings("- state_dir\n- interval_seconds\n", "mapping", id="settings-a-list"),
    settings("just some words\n", "mapping", id="settings-a-scalar"),
    settings("interval_seconds: [60\nlog_level: info\n", "line", id="settings-yaml-syntax"),
    settings("log_level: 'info\n", "line", id="settings-unclosed-quote"),
    settings(
        "interval_seconds: 60\nlog_level: info\ninterval_seconds: 30\n",
        "duplicate key",
        "interval_seconds",
        "line 3",
        id="settings-duplicate-key",
    ),
    settings(
        "salesforce:\n  api_version: '62.0'\n  api_version: '61.0'\n",
        "duplicate key",
        "api_version",
        id="settings-duplicate-nested-key",
    ),
    settings("colour: blue\n", "colour", "unknown key", id="settings-unknown-key"),
    settings(
        "salesforce:\n  timeout: 5\n",
        "salesforce.timeout",
        "unknown key",
        id="settings-unknown-nested",
    ),
    settings("interval_seconds: soon\n", "interval_seconds", id="settings-wrong-type"),
    settings("interval_seconds: 3\n", "interval_seconds", "10", id="settings-out-of-range"),
    settings(
        "salesforce:\n  timeout_seconds: fast\n",
        "salesforce.timeout_seconds",
        id="settings-nested-wrong-type",
    ),
    settings("log_level: loud\n", "log_level", id="settings-not-a-choice"),
    settings("full_reconcile_cron: every night\n", "full_reconcile_cron", id="settings-bad-cron"),
    settings("mapping_file: [a, b]\n", "mapping_file", id="settings-path-is-a-list"),
    settings("rules_file: '{tmp}/nowhere.yaml'\n", "{tmp}/nowhere.yaml", id="settings-no-rules"),
    secret_in_yaml(
        "salesforce:\n  client_secret: {secret}\n",
        "salesforce.client_secret",
        "SYNCD_SALESFORCE__CLIENT_SECRET",
    ),
    secret_in_yaml(
        "salesforce:\n  password: {secret}\n", "salesforce.password", "SYNCD_SALESFORCE__PASSWORD"
    ),
    secret_in_yaml(
        "salesforce:\n  access_token: {secret}\n",
        "salesforce.access_token",
        "SYNCD_SALESFORCE__ACCESS_TOKEN",
    ),
    secret_in_yaml("admin_token: {secret}\n", "admin_token", "SYNCD_ADMIN_TOKEN"),
    Case(
        "settings-file-missing",
        env={"SYNCD_CONFIG": "{tmp}/absent.yaml"},
        expect=("{tmp}/absent.yaml", "does not exist"),
    ),
    Case(
        "settings-file-is-a-directory",
        files={"conf.d/.keep": ""},
        env={"SYNCD_CONFIG": "{tmp}/conf.d"},
        expect=("{tmp}/conf.d", "not a file"),
    ),
    # -- the environment -----------------------------------------------------------------
    Case(
        "env-wrong-type",
        env={"SYNCD_INTERVAL_SECONDS": "soon"},
        expect=("interval_seconds", "SYNCD_INTERVAL_SECONDS"),
    ),
    Case(
        "env-login-url-not-https",
        env={"SYNCD_SALESFORCE__LOGIN_URL": "http://127.0.0.1:1"},
        expect=("salesforce.login_url", "https://"),
    ),
    Case(
        "env-section-not-json",
        env={"SYNCD_SALESFORCE": "{not json"},
        expect=("SYNCD_SALESFORCE",),
    ),
    Case(
        "env-mode-missing-settings",
        env={"SYNCD_SALESFORCE__AUTH": "token"},
        expect=("SYNCD_SALESFORCE__ACCESS_TOKEN", "SYNCD_SALESFORCE__INSTANCE_URL"),
    ),
    Case(
        "env-key-file-missing",
        env={
            "SYNCD_SALESFORCE__AUTH": "jwt",
            "SYNCD_SALESFORCE__USERNAME": "integration@acme.com",
            "SYNCD_SALESFORCE__PRIVATE_KEY_FILE": "{tmp}/absent.key",
        },
        expect=("salesforce.private_key_file", "{tmp}/absent.key"),
    ),
    # -- the secrets directory -----------------------------------------------------------
    Case(
        "secrets-dir-is-a-file",
        files={"secrets": "salesforce__client_secret: x\n"},
        env={"SYNCD_SECRETS_DIR": "{tmp}/secrets"},
        expect=("SYNCD_SECRETS_DIR", "{tmp}/secrets", "not a directory"),
    ),
    Case(
        "secrets-dir-missing",
        env={"SYNCD_SECRETS_DIR": "{tmp}/absent"},
        expect=("SYNCD_SECRETS_DIR", "{tmp}/absent", "not a directory"),
    ),
    Case(
        "secrets-file-not-utf8",
        files={"secrets/salesforce__client_secret": b"\xff\xfe\xfdsecret"},
        env={"SYNCD_SECRETS_DIR": "{tmp}/secrets"},
        unset=("SYNCD_SALESFORCE__CLIENT_SECRET",),
        expect=("{tmp}/secrets/salesforce__client_secret", "UTF-8"),
    ),
    Case(
        "secrets-file-unknown-name",
        files={"secrets/salesforce__client_secrett": "x-secret-value\n"},
        env={"SYNCD_SECRETS_DIR": "{tmp}/secrets"},
        expect=("salesforce.client_secrett", "unknown key"),
    ),
    Case(
        "secrets-file-empty",
        files={"secrets/salesforce__client_secret": "\n"},
        env={"SYNCD_SECRETS_DIR": "{tmp}/secrets"},
        unset=("SYNCD_SALESFORCE__CLIENT_SECRET",),
        expect=("salesforce.client_secret", "SYNCD_SALESFORCE__CLIENT_SECRET"),
    ),
    # -- the mapping file ----------------------------------------------------------------
    mapping("- account\n- opportunity\n", "mapping", id="mapping-a-list"),
    mapping(b"version: 1\naccount:\n  sobject: Acc\xf6unt\n", "UTF-8", id="mapping-not-utf8"),
    mapping(MAPPING + "\naccount: {\n", "line", id="mapping-yaml-syntax"),
    mapping(
        MAPPING.replace("    name: Name\n", "    name: Name; DELETE\n", 1),
        "account.read.name",
        id="mapping-bad-field-name",
    ),
    mapping(
        MAPPING.replace("  sobject: Account\n", "  sobject: Acc ount\n", 1),
        "account.sobject",
        id="mapping-bad-sobject-name",
    ),
    mapping(
        MAPPING.replace("  sobject: Opportunity\n", "  sobject: Opportunity__c'\n", 1),
        "opportunity.sobject",
        id="mapping-quote-in-sobject-name",
    ),
    mapping(
        MAPPING.replace("    name: Name\n", "    name: Name\n    name: Full_Name__c\n", 1),
        "duplicate key",
        "name",
        id="mapping-duplicate-key",
    ),
    mapping(MAPPING + "\ncolour: blue\n", "colour", id="mapping-unknown-key"),
    Case(
        "mapping-file-missing",
        env={"SYNCD_MAPPING_FILE": "{tmp}/absent.yaml"},
        expect=("{tmp}/absent.yaml",),
    ),
    # -- the rules file, as YAML (its contents are policy.py's) ------------------------------
    rules(b"version: caf\xe9\n", "UTF-8", id="rules-not-utf8"),
    rules(RULES + "\nregistration: {valid_days: 30\n", "line", id="rules-yaml-syntax"),
    rules(RULES + "\nregistration:\n  valid_days: 30\n", "duplicate key", id="rules-duplicate-key"),
    # -- the state store -----------------------------------------------------------------
    Case(
        "database-dir-missing",
        env={"SYNCD_DATABASE_URL": "sqlite:///{tmp}/absent/dir/syncd.db"},
        expect=("{tmp}/absent/dir/syncd.db",),
    ),
    Case(
        "database-url-malformed",
        env={"SYNCD_DATABASE_URL": "not a database url"},
        expect=("database_url",),
    ),
    Case(
        "database-not-a-database",
        files={"state/syncd.db": "this is a text file, not SQLite\n"},
        expect=("{tmp}/state/syncd.db",),
    ),
    Case(
        "state-dir-is-a-file",
        files={"state": "a file where the state directory should be\n"},
        expect=("{tmp}/state",),
    ),
    Case(
        "state-dir-missing-for-reading",
        expect=("no state database", "{tmp}/state"),
        commands=READING,
    ),
]

ARGS = {
    "sync": ["sync"],
    "run": ["run"],
    "explain": ["explain", DEAL],
    "explain-offline": ["explain", DEAL, "--offline"],
    "violations": ["violations"],
    "check": ["check"],
}
WRITES = ("update", "create", "upsert", "delete", "bulk_job")


@pytest.fixture
def org() -> SandboxOrg:
    org = SandboxOrg()
    org.load(demo_dataset(datetime.now(UTC).date()))
    return org


@pytest.fixture
def runner() -> Iterator[CliRunner]:
    yield CliRunner()


def org_env(server: SandboxServer, tmp_path: Path) -> dict[str, str]:
    return {
        "SYNCD_SALESFORCE__AUTH": "client_credentials",
        "SYNCD_SALESFORCE__LOGIN_URL": server.login_url,
        "SYNCD_SALESFORCE__CLIENT_ID": server.client_id,
        "SYNCD_SALESFORCE__CLIENT_SECRET": server.client_secret,
        "SYNCD_SALESFORCE__CA_BUNDLE": str(server.ca_bundle),
        "SYNCD_STATE_DIR": str(tmp_path / "state"),
        "SYNCD_LOG_FORMAT": "json",
        "SYNCD_ADMIN_PORT": "0",
    }


def arrange(case: Case, server: SandboxServer, tmp_path: Path) -> dict[str, str | None]:
    for name, content in case.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content.replace("{tmp}", str(tmp_path)), encoding="utf-8")
    env: dict[str, str | None] = dict(org_env(server, tmp_path))
    env.update({k: v.replace("{tmp}", str(tmp_path)) for k, v in case.env.items()})
    env.update(dict.fromkeys(case.unset))
    return env


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stdout: str
    stderr: str
    crashed: BaseException | None  # an exception that escaped the CLI: a traceback

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


def invoke(runner: CliRunner, command: str, env: dict[str, str | None], cwd: Path) -> Outcome:
    previous = Path.cwd()
    os.chdir(cwd)  # relative defaults must not find the checkout's own state
    try:
        result = runner.invoke(app, ARGS[command], env=env, catch_exceptions=True)
    finally:
        os.chdir(previous)
    crashed = result.exception if not isinstance(result.exception, SystemExit) else None
    return Outcome(result.exit_code, result.stdout, result.stderr, crashed)


RUNS = [
    pytest.param(case, command, id=f"{case.id}-{command}")
    for case in CASES
    for command in case.commands
]


@pytest.mark.parametrize(("case", "command"), RUNS)
def test_bad_input_is_reported_and_nothing_is_written(
    case: Case,
    command: str,
    server: SandboxServer,
    runner: CliRunner,
    tmp_path: Path,
) -> None:
    env = arrange(case, server, tmp_path)
    before = {name: server.org.records(name) for name in ("Account", "Opportunity", "Task")}
    database = tmp_path / "state" / "syncd.db"
    existed = database.exists()
    outcome = invoke(runner, command, env, tmp_path)

    assert outcome.crashed is None, f"traceback: {outcome.crashed!r}"
    assert "Traceback" not in outcome.text
    if command == "check":
        assert outcome.exit_code == 1, outcome.text
        assert "Everything syncd needs is in place" not in outcome.text
    else:
        assert outcome.exit_code == 2, outcome.text
    flat = " ".join(outcome.text.split())  # rich wraps long lines
    for expected in case.expect:
        wanted = expected.replace("{tmp}", str(tmp_path))
        assert wanted in flat or wanted in outcome.text.replace("\n", ""), (wanted, outcome.text)
    assert KNOWN_SECRET not in outcome.text
    assert server.client_secret not in outcome.text

    assert database.exists() == existed  # a start-up that fails leaves no state behind
    written = [kind for kind in server.calls if any(w in kind for w in WRITES)]
    assert written == [], written
    assert {name: server.org.records(name) for name in before} == before
    if command != "check":  # check reads the org on purpose; the others must stop before it
        assert server.api_calls() == 0, dict(server.calls)


def test_an_admin_port_in_use_stops_run_before_the_org_is_called(
    server: SandboxServer, runner: CliRunner, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env: dict[str, str | None] = {
            **org_env(server, tmp_path),
            "SYNCD_ADMIN_PORT": str(taken.getsockname()[1]),
        }
        outcome = invoke(runner, "run", env, tmp_path)
    assert outcome.crashed is None and outcome.exit_code == 2, outcome.text
    assert "admin_port" in outcome.text and "in use" in outcome.text
    assert sum(server.calls.values()) == 0  # not even a login


@pytest.mark.parametrize("command", ALL_CHECKED)
def test_every_problem_is_listed_at_once(
    command: str, server: SandboxServer, runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "syncd.yaml").write_text("interval_seconds: 3\ncolour: blue\n")
    (tmp_path / "mapping.yaml").write_text(MAPPING.replace("sobject: Account", "sobject: A-B"))
    (tmp_path / "rules.yaml").write_text(RULES + "\nversion: again\n")
    env: dict[str, str | None] = {
        **org_env(server, tmp_path),
        "SYNCD_CONFIG": str(tmp_path / "syncd.yaml"),
        "SYNCD_MAPPING_FILE": str(tmp_path / "mapping.yaml"),
        "SYNCD_RULES_FILE": str(tmp_path / "rules.yaml"),
        "SYNCD_DATABASE_URL": f"sqlite:///{tmp_path}/absent/syncd.db",
    }
    outcome = invoke(runner, command, env, tmp_path)
    assert outcome.crashed is None
    assert outcome.exit_code == (1 if command == "check" else 2), outcome.text
    flat = outcome.text.replace("\n", "")
    for named in (
        "interval_seconds",
        "colour: unknown key",
        f"{tmp_path}/mapping.yaml",
        "account.sobject",
        f"{tmp_path}/rules.yaml",
        "duplicate key 'version'",
        f"{tmp_path}/absent/syncd.db",
    ):
        assert named in flat, (named, outcome.text)
    if command != "check":
        assert "syncd cannot start, 5 problems" in flat
        assert server.api_calls() == 0
