"""The one error boundary of every command: syncd's errors become a message and their
exit code; an error syncd did not expect becomes one line, exit 1, secrets masked."""

from __future__ import annotations

import io
import json

import pytest
import typer
from typer.testing import CliRunner

from syncd.cli.base import command
from syncd.errors import ConfigError, FatalSyncError
from syncd.logs import configure_logging, register_secrets

SECRET = "Boundary-Secret-4411"


def app_raising(exc: Exception) -> typer.Typer:
    app = typer.Typer()

    @command(app)
    def boom() -> None:
        raise exc

    @command(app)
    def other() -> None:  # a second command keeps typer from flattening the app
        pass

    return app


@pytest.mark.parametrize(
    ("exc", "code", "label"),
    [
        (ConfigError("rules file x: bad"), 2, "configuration error"),
        (FatalSyncError("the org said no"), 1, "error"),
    ],
)
def test_syncd_errors_map_to_their_exit_codes(exc: Exception, code: int, label: str) -> None:
    result = CliRunner().invoke(app_raising(exc), ["boom"])
    assert result.exit_code == code
    assert f"syncd: {label}: {exc}" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unexpected_error_is_one_line_and_exit_1_with_secrets_masked() -> None:
    register_secrets([SECRET])
    result = CliRunner().invoke(app_raising(KeyError(f"token {SECRET}")), ["boom"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "syncd: unexpected error: KeyError" in result.stderr
    assert "Traceback" in result.stderr  # logging is not set up yet: printed, plain
    assert SECRET not in result.stdout + result.stderr


def test_an_unexpected_error_is_logged_when_logging_is_set_up() -> None:
    register_secrets([SECRET])
    stream = io.StringIO()
    configure_logging("json", "info", stream=stream)
    result = CliRunner().invoke(app_raising(RuntimeError(f"bad {SECRET}")), ["boom"])
    assert result.exit_code == 1
    (event,) = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert event["event"] == "cli.crashed" and "RuntimeError" in event["exception"]
    assert SECRET not in stream.getvalue() + result.stderr


def test_typer_exits_and_usage_errors_pass_through() -> None:
    assert CliRunner().invoke(app_raising(typer.Exit(3)), ["boom"]).exit_code == 3
    bad = CliRunner().invoke(app_raising(typer.BadParameter("no such Id")), ["boom"])
    assert bad.exit_code == 2 and "no such Id" in bad.stderr
