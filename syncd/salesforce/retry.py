"""Retry policy for Salesforce calls: a frozen settings object handed to tenacity.

Only the explicit list in ``errors.is_retriable`` is retried (network failures, 5xx,
SERVER_UNAVAILABLE, UNABLE_TO_LOCK_ROW). An exhausted retry re-raises the last error
(``reraise=True``) for ``errors.classify`` to turn into ``RetriableError``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
import tenacity

from syncd.salesforce.errors import error_code, is_retriable

log = structlog.get_logger("syncd.salesforce")
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``initial_wait * 2**(n-1)`` capped at ``max_wait``, plus jitter."""

    attempts: int = 5
    initial_wait: float = 0.5
    max_wait: float = 30.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")
        if min(self.initial_wait, self.max_wait, self.jitter) < 0:
            raise ValueError("RetryPolicy waits must not be negative")

    def tenacity_kwargs(self, operation: str) -> dict[str, Any]:
        return {
            "stop": tenacity.stop_after_attempt(self.attempts),
            "wait": tenacity.wait_exponential(multiplier=self.initial_wait, max=self.max_wait)
            + tenacity.wait_random(0, self.jitter),
            "retry": tenacity.retry_if_exception(is_retriable),
            "reraise": True,
            "before_sleep": _log_attempt(operation),
        }

    def call(self, operation: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` under this policy; the last error propagates unchanged."""
        return tenacity.Retrying(**self.tenacity_kwargs(operation))(fn)


def _log_attempt(operation: str) -> Callable[[tenacity.RetryCallState], None]:
    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "salesforce.retry",
            operation=operation,
            attempt=state.attempt_number,
            wait=round(state.next_action.sleep, 3) if state.next_action else 0.0,
            error_code=error_code(exc) if exc else None,
        )

    return before_sleep
