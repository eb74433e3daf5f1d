"""A fault campaign: every kind of trouble a real org gives, each at its own seeded rate.

Each kind draws from its own ``random.Random`` (seeded from the campaign seed and the
kind's name), and draws only where it can strike: a kind's sequence of faults depends on
the seed and on how many chances it had, never on the other kinds' rates, so a campaign
run in the same order of calls is the same campaign (calls sent on several threads at
once, as a cycle's writes are, may take their chances in another order). The server
asks once per chance:

- every data API call (not logins, not the version list): ``reset`` (the connection is
  cut, unanswered), ``server_error`` (503 SERVER_UNAVAILABLE or 500 UNKNOWN_EXCEPTION),
  ``expired_session`` (every token is revoked: 401 INVALID_SESSION_ID until a new
  login), ``concurrent_limit`` (403 REQUEST_LIMIT_EXCEEDED, the ConcurrentRequests kind
  that passes);
- every new TLS connection: ``tls_handshake`` (a handshake_failure alert);
- every record of a collections write: ``row_lock`` (UNABLE_TO_LOCK_ROW) and
  ``refused_record`` (a validation rule refuses it);
- every Composite sub-request: ``composite_sub`` (a transient failure inside the body);
- every Bulk query job: ``bulk_job`` (the job ends Failed).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, fields

CALL_KINDS = ("reset", "server_error", "expired_session", "concurrent_limit")
RECORD_CODES = {
    "row_lock": "UNABLE_TO_LOCK_ROW",
    "refused_record": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
}
SERVER_ERRORS = ((503, "SERVER_UNAVAILABLE"), (500, "UNKNOWN_EXCEPTION"))
SUB_RESPONSE_ERRORS = (
    (503, "SERVER_UNAVAILABLE"),
    (400, "UNABLE_TO_LOCK_ROW"),
    (400, "QUERY_TIMEOUT"),
)
BULK_JOB_ERROR = "InternalServerError : sandbox fault campaign"


@dataclass(frozen=True)
class FaultRates:
    """The probability of each kind of fault at each chance it has (0 to 1)."""

    reset: float = 0.0
    server_error: float = 0.0
    expired_session: float = 0.0
    concurrent_limit: float = 0.0
    tls_handshake: float = 0.0
    row_lock: float = 0.0
    refused_record: float = 0.0
    composite_sub: float = 0.0
    bulk_job: float = 0.0

    def __post_init__(self) -> None:
        for item in fields(self):
            rate = getattr(self, item.name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"FaultRates.{item.name} must be between 0 and 1; got {rate}")

    @classmethod
    def every(cls, rate: float) -> FaultRates:
        """Every kind at once, each at ``rate``."""
        return cls(**{item.name: rate for item in fields(cls)})


class Campaign:
    """The armed campaign; not thread-safe by itself (``Faults`` holds the lock)."""

    def __init__(self, rates: FaultRates, seed: int = 0) -> None:
        self.rates = rates
        self._draws = {item.name: random.Random(f"{seed}:{item.name}") for item in fields(rates)}
        self.fired: Counter[str] = Counter()  # faults that struck, by kind

    def strikes(self, kind: str) -> bool:
        """One chance for ``kind``: True when its fault strikes (and is counted)."""
        return self._first((kind,)) == kind

    def pick(self, kind: str, options: tuple[tuple[int, str], ...]) -> tuple[int, str]:
        """Which of ``options`` a struck fault of ``kind`` answers (from its own draws)."""
        return self._draws[kind].choice(options)

    def call_fault(self) -> str | None:
        """The fault a data API call meets, if any (``reset`` is decided before, by the
        server, which cuts the connection itself)."""
        return self._first(CALL_KINDS[1:])

    def record_fault(self) -> str | None:
        """The error code a record of a collections write gets, if any."""
        kind = self._first(tuple(RECORD_CODES))
        return RECORD_CODES[kind] if kind else None

    def _first(self, kinds: tuple[str, ...]) -> str | None:
        """Every kind draws (so none's sequence depends on another's); the first that
        struck is the one that happens."""
        struck = [kind for kind in kinds if self._draw(kind)]
        if not struck:
            return None
        self.fired[struck[0]] += 1
        return struck[0]

    def _draw(self, kind: str) -> bool:
        rate: float = getattr(self.rates, kind)
        return rate > 0.0 and self._draws[kind].random() < rate
