"""SIGTERM/SIGINT as a stop request, from the first moment of ``syncd run``.

Installed before anything slow happens (settings, the store, authentication), so a stop
during start-up is the same clean exit 0 as a stop between cycles, never death by the
signal (exit -15). This module imports nothing heavy on purpose: ``syncd run`` installs
it before importing the daemon.

The handler only sets an event and remembers the signal. It never logs: a handler runs
between two bytecodes of the main thread, which may be in the middle of writing a log
line itself, and a buffered stream must not be re-entered.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """``with StopSignals() as stop:`` turns the stop signals into ``stop.event``."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.received = signal.Signals(signum).name
        self.event.set()

    def __enter__(self) -> StopSignals:
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()
