"""The ``syncd`` console script: the app with every command registered."""

from __future__ import annotations

from syncd.cli import (
    cycle_commands,
    history_commands,
    record_commands,
    scorecard_commands,
    setup_commands,
    simulate_commands,
)
from syncd.cli.base import app

COMMAND_MODULES = (
    cycle_commands,
    history_commands,
    record_commands,
    setup_commands,
    scorecard_commands,
    simulate_commands,
)

__all__ = ["COMMAND_MODULES", "app", "main"]


def main() -> None:  # pragma: no cover - console script entry
    app(prog_name="syncd")


if __name__ == "__main__":  # pragma: no cover
    main()
