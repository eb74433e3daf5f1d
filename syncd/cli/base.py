"""What every command shares: the Typer app, the consoles and the one error boundary.

Exit codes (README "Commands"): 0 success; 1 the cycle failed, was partial, or found
problems; 2 a configuration problem the user must fix (a file, a setting, a missing
state directory). Every command is registered through ``command``, so every command maps
syncd's errors to those codes the same way and never prints a traceback for them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

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
from syncd.logs import configure_logging, register_secrets
from syncd.settings import Settings, load_settings

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


def guarded(fn: F) -> F:
    """The error boundary: syncd's errors become a message and the documented exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SyncdError as exc:
            raise fail(exc) from None

    return wrapper  # type: ignore[return-value]


def command(target: typer.Typer = app, **options: Any) -> Callable[[F], F]:
    """``@command()`` registers a guarded command on the app (or a sub-app)."""

    def register(fn: F) -> F:
        target.command(**options)(guarded(fn))
        return fn

    return register


def setup(config: Path | None) -> Settings:
    """Settings for a command that logs: secrets registered for redaction first."""
    from syncd.service.runtime import secret_values

    settings = load_settings(config)
    if settings.salesforce is not None:
        register_secrets(secret_values(settings.salesforce))
    configure_logging(settings.log_format, settings.log_level)
    return settings


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
