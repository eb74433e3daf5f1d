"""Fault injection: make the sandbox misbehave the way a real org sometimes does.

A test arms a fault, the server consults it once per call (before doing any work) and
answers the refusal in Salesforce's error shape. Per-record faults surface inside an
otherwise successful sObject Collections response, as they do in Salesforce. A fault
campaign (``campaign.py``) arms every kind at once, each at its own seeded rate.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from syncd.sandbox.campaign import (
    BULK_JOB_ERROR,
    SERVER_ERRORS,
    SUB_RESPONSE_ERRORS,
    Campaign,
    FaultRates,
)
from syncd.sfid import InvalidSalesforceId, to_18

# Calls no fault hits unless aimed at them: logins and the version list are not API calls.
UNAIMED = frozenset({"token", "versions"})
CONCURRENT_LIMIT = "ConcurrentPerOrgLongTxn Limit exceeded."

MESSAGES = {
    "SERVER_UNAVAILABLE": "The server is temporarily unable to service your request.",
    "REQUEST_LIMIT_EXCEEDED": "TotalRequests Limit exceeded.",
    "UNKNOWN_EXCEPTION": "An unexpected error occurred. Please include this ErrorId if you "
    "contact support: 1234567890-12345 (-1234567890)",
    "INVALID_SESSION_ID": "Session expired or invalid",
    "UNABLE_TO_LOCK_ROW": "unable to obtain exclusive access to this record",
    "QUERY_TIMEOUT": "Your query request was running for too long.",
}


@dataclass(frozen=True)
class Refusal:
    """What the server answers instead of doing the call."""

    status: int
    code: str
    message: str | None = None  # else the code's usual message

    def body(self) -> list[dict[str, object]]:
        message = self.message or MESSAGES.get(self.code, f"sandbox fault: {self.code}")
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
        self._campaign: Campaign | None = None

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

    def campaign(self, rates: FaultRates, seed: int = 0) -> None:
        """Arm every kind of fault at its rate (``FaultRates.every(0.1)``: all at 10 %)."""
        with self._lock:
            self._campaign = Campaign(rates, seed)

    @property
    def fired(self) -> dict[str, int]:
        """The campaign's faults that struck so far, by kind."""
        with self._lock:
            return dict(self._campaign.fired) if self._campaign else {}

    def expire_sessions(self) -> None:
        """Invalidate every token issued so far: the next data call gets 401."""
        self._on_expire()

    def clear(self) -> None:
        with self._lock:
            self._next.clear()
            self._rates.clear()
            self._records.clear()
            self._latency = 0.0
            self._campaign = None

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
            campaign = self._aimed(kind)
            struck = campaign.call_fault() if campaign else None
            refusal = _campaign_refusal(campaign, struck)
        if struck == "expired_session":
            self._on_expire()  # as when Salesforce ends a session: every token is refused
        return refusal

    def resets(self, kind: str) -> bool:
        """Whether the connection carrying this call is to be cut, unanswered."""
        with self._lock:
            campaign = self._aimed(kind)
            return campaign is not None and campaign.strikes("reset")

    def handshake_fails(self) -> bool:
        """Whether this new TLS connection's handshake is to fail."""
        with self._lock:
            return self._campaign is not None and self._campaign.strikes("tls_handshake")

    def sub_response(self) -> Refusal | None:
        """The transient failure a Composite sub-request answers instead, if any."""
        with self._lock:
            if self._campaign is None or not self._campaign.strikes("composite_sub"):
                return None
            return Refusal(*self._campaign.pick("composite_sub", SUB_RESPONSE_ERRORS))

    def bulk_job_error(self) -> str | None:
        """The errorMessage of a Bulk query job the campaign fails, if it fails this one."""
        with self._lock:
            failed = self._campaign is not None and self._campaign.strikes("bulk_job")
            return BULK_JOB_ERROR if failed else None

    def record_fault(self, record_id: str) -> str | None:
        """The error code armed for this record, if any (consuming one use)."""
        with self._lock:
            armed = self._records.get(_key(record_id))
            if armed is None:
                return self._campaign.record_fault() if self._campaign else None
            armed.remaining -= 1
            if armed.remaining <= 0:
                del self._records[_key(record_id)]
            return armed.code

    def _aimed(self, kind: str) -> Campaign | None:
        """The campaign, if it may strike this kind of call."""
        return self._campaign if kind not in UNAIMED else None


def _campaign_refusal(campaign: Campaign | None, struck: str | None) -> Refusal | None:
    if campaign is None or struck is None:
        return None
    if struck == "server_error":
        return Refusal(*campaign.pick("server_error", SERVER_ERRORS))
    if struck == "expired_session":
        return Refusal(401, "INVALID_SESSION_ID")
    return Refusal(403, "REQUEST_LIMIT_EXCEEDED", CONCURRENT_LIMIT)


def _matches(wanted: str | None, kind: str) -> bool:
    # Logins are not API calls; a fault hits them only when aimed at them.
    return kind == wanted if wanted is not None else kind != "token"


def _key(record_id: str) -> str:
    try:
        return to_18(record_id)
    except InvalidSalesforceId:
        return record_id
