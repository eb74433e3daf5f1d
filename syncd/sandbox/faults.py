"""Fault injection: make the sandbox misbehave the way a real org sometimes does.

A test arms a fault, the server consults it once per call (before doing any work) and
answers the refusal in Salesforce's error shape. Per-record faults surface inside an
otherwise successful sObject Collections response, as they do in Salesforce.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from syncd.sfid import InvalidSalesforceId, to_18

MESSAGES = {
    "SERVER_UNAVAILABLE": "The server is temporarily unable to service your request.",
    "REQUEST_LIMIT_EXCEEDED": "TotalRequests Limit exceeded.",
    "UNKNOWN_EXCEPTION": "An unexpected error occurred. Please include this ErrorId if you "
    "contact support: 1234567890-12345 (-1234567890)",
    "INVALID_SESSION_ID": "Session expired or invalid",
    "UNABLE_TO_LOCK_ROW": "unable to obtain exclusive access to this record",
}


@dataclass(frozen=True)
class Refusal:
    """What the server answers instead of doing the call."""

    status: int
    code: str

    def body(self) -> list[dict[str, object]]:
        message = MESSAGES.get(self.code, f"sandbox fault: {self.code}")
        return [{"message": message, "errorCode": self.code, "fields": []}]


@dataclass
class _Next:
    refusal: Refusal
    remaining: int
    kind: str | None


@dataclass
class _RecordFault:
    code: str
    remaining: int


@dataclass
class _Rate:
    refusal: Refusal
    rate: float
    rng: random.Random
    kind: str | None


class Faults:
    """The faults armed on one server; thread-safe."""

    def __init__(self, on_expire: Callable[[], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._on_expire = on_expire or (lambda: None)
        self._next: list[_Next] = []
        self._rates: list[_Rate] = []
        self._records: dict[str, _RecordFault] = {}
        self._latency = 0.0

    # -- arming ------------------------------------------------------------------------

    def fail_next(self, status: int, code: str, times: int = 1, kind: str | None = None) -> None:
        """Refuse the next ``times`` calls (of ``kind`` if given; token calls only if asked)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._next.append(_Next(Refusal(status, code), times, kind))

    def fail_rate(
        self, rate: float, status: int, code: str, seed: int = 0, kind: str | None = None
    ) -> None:
        """Refuse each matching call with probability ``rate`` (seeded: reproducible)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be between 0 and 1; got {rate}")
        with self._lock:
            self._rates.append(_Rate(Refusal(status, code), rate, random.Random(seed), kind))

    def fail_records(self, ids: Iterable[str], code: str, times: int = 1) -> None:
        """Per-record ``code`` for these Ids in collection writes, ``times`` times each."""
        with self._lock:
            for record_id in ids:
                self._records[_key(record_id)] = _RecordFault(code, times)

    def latency(self, seconds: float) -> None:
        """Delay every call by ``seconds`` (0 turns it off)."""
        if seconds < 0:
            raise ValueError("latency cannot be negative")
        with self._lock:
            self._latency = seconds

    def expire_sessions(self) -> None:
        """Invalidate every token issued so far: the next data call gets 401."""
        self._on_expire()

    def clear(self) -> None:
        with self._lock:
            self._next.clear()
            self._rates.clear()
            self._records.clear()
            self._latency = 0.0

    # -- consulted by the server ---------------------------------------------------------

    @property
    def delay(self) -> float:
        with self._lock:
            return self._latency

    def refusal_for(self, kind: str) -> Refusal | None:
        """The refusal for this call, if a fault claims it (consuming one use)."""
        with self._lock:
            for armed in self._next:
                if _matches(armed.kind, kind):
                    armed.remaining -= 1
                    if armed.remaining <= 0:
                        self._next.remove(armed)
                    return armed.refusal
            for rate in self._rates:
                if _matches(rate.kind, kind) and rate.rng.random() < rate.rate:
                    return rate.refusal
        return None

    def record_fault(self, record_id: str) -> str | None:
        """The error code armed for this record, if any (consuming one use)."""
        with self._lock:
            armed = self._records.get(_key(record_id))
            if armed is None:
                return None
            armed.remaining -= 1
            if armed.remaining <= 0:
                del self._records[_key(record_id)]
            return armed.code


def _matches(wanted: str | None, kind: str) -> bool:
    # Logins are not API calls; a fault hits them only when aimed at them.
    return kind == wanted if wanted is not None else kind != "token"


def _key(record_id: str) -> str:
    try:
        return to_18(record_id)
    except InvalidSalesforceId:
        return record_id
