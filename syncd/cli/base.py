"""What every command shares: the Typer app, the consoles and the one error boundary.

Exit codes (README "Commands"): 0 success; 1 the cycle failed, was partial, or found
problems; 2 a configuration problem the user must fix (a file, a setting, a missing
state directory). Every command is registered through ``command``, so every command maps
syncd's errors to those codes the same way and never prints a traceback for them.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import click
import structlog
import typer
from rich.console import Console, ConsoleDimensions
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from syncd.errors import ConfigError, SyncdError
from syncd.logs import configure_logging, redact_text, register_secrets
from syncd.settings import Settings, SettingsError, load_settings

app = typer.Typer(
    name="syncd",
    help=(
        "Enforce channel rules of engagement inside Salesforce: decide who leads each "
        "customer and deal, write the ownership flags reps see, flag violations."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sandbox_app = typer.Typer(help="The local Salesforce-compatible org (HTTPS on 127.0.0.1).")
app.add_typer(sandbox_app, name="sandbox")

PIPED_WIDTH = 4096  # columns of output that goes to a file or another program


class _Console(Console):
    """Output piped to a file or a program is never wrapped at 80 columns: on a terminal the
    terminal's width, elsewhere lines as long as they are (up to PIPED_WIDTH)."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(PIPED_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self.width, self.height = new_size


console = _Console()
err_console = _Console(stderr=True)

EXIT_FAILED, EXIT_CONFIG = 1, 2

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Settings YAML file (else $SYNCD_CONFIG).", exists=False),
]

F = TypeVar("F", bound=Callable[..., Any])


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def exit_code(exc: SyncdError) -> int:
    return EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_FAILED


def fail(exc: SyncdError) -> typer.Exit:
    code = exit_code(exc)
    label = "configuration error" if code == EXIT_CONFIG else "error"
    err_console.print(f"[bold red]syncd: {label}:[/bold red] {exc}", markup=True, highlight=False)
    return typer.Exit(code)


def crashed(exc: Exception) -> typer.Exit:
    """An error syncd did not expect (a bug): its traceback, secrets masked, then exit 1.

    Logged as an event when logging is set up (JSON lines in service mode keep it with
    the rest), printed plain otherwise; never a pretty traceback with local variables,
    which would show the values of secrets.
    """
    if structlog.is_configured():
        structlog.get_logger("syncd.cli").error("cli.crashed", exc_info=exc)
    else:
        trace = "".join(traceback.format_exception(exc))
        err_console.print(redact_text(trace), markup=False, highlight=False, end="")
    err_console.print(
        f"syncd: unexpected error: {type(exc).__name__}: {redact_text(str(exc))} "
        "(a bug in syncd: please report it with the traceback above)",
        markup=False,
        highlight=False,
    )
    return typer.Exit(EXIT_FAILED)


# Typer's exits and usage errors: its own classes in recent typer, click's in older ones.
_PASS_THROUGH: tuple[type[BaseException], ...] = (
    typer.Exit,
    typer.Abort,
    getattr(typer, "TyperException", click.ClickException),
    click.exceptions.Exit,
    click.ClickException,
    click.Abort,
)


def guarded(fn: F) -> F:
    """The error boundary: syncd's errors become a message and the documented exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SyncdError as exc:
            raise fail(exc) from None
        except _PASS_THROUGH:
            raise  # typer's own exits and usage errors
        except Exception as exc:
            raise crashed(exc) from None

    return wrapper  # type: ignore[return-value]


def command(target: typer.Typer = app, **options: Any) -> Callable[[F], F]:
    """``@command()`` registers a guarded command on the app (or a sub-app)."""

    def register(fn: F) -> F:
        target.command(**options)(guarded(fn))
        return fn

    return register


def setup(config: Path | None) -> Settings:
    """Settings for a command that logs: secrets registered for redaction first."""
    settings, problems = setup_collecting(config)
    if problems is not None:
        raise problems
    return settings


def setup_collecting(config: Path | None) -> tuple[Settings, SettingsError | None]:
    """``setup`` for commands that go on to list every start-up problem at once.

    Invalid settings come back as the SettingsError beside its fallback (the failed keys
    at their defaults), so the mapping, rules and store are still checked; only settings
    too broken for a fallback (an unreadable file) raise here.
    """
    from syncd.service.runtime import secret_values

    try:
        settings, problems = load_settings(config), None
    except SettingsError as exc:
        if exc.fallback is None:
            raise
        settings, problems = exc.fallback, exc
    if settings.salesforce is not None:
        register_secrets(secret_values(settings.salesforce))
    register_secrets(settings.notifications.secret_values())
    configure_logging(settings.log_format, settings.log_level)
    return settings, problems


class _BarProgress:
    """A rich progress bar fed by the cycle's progress events (terminal only)."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def update(self, phase: str, done: int, total: int | None = None) -> None:
        if phase not in self.tasks:
            self.tasks[phase] = self.progress.add_task(phase, total=total)
        self.progress.update(self.tasks[phase], completed=done, total=total)


@contextmanager
def progress_bar() -> Iterator[_BarProgress | None]:
    if not console.is_terminal:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        yield _BarProgress(progress)


def valid_id(value: str | None) -> str | None:
    """A Typer callback: a 15/18-character Salesforce Id, normalised to 18."""
    from syncd.sfid import InvalidSalesforceId, to_18

    if value is None:
        return None
    try:
        return to_18(value)
    except InvalidSalesforceId as exc:
        raise typer.BadParameter(str(exc)) from None
