"""The HTTP session every Salesforce request goes through: CA bundle, timeout, accounting.

``requests`` lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` replace ``session.verify``
(it only consults ``session.verify`` when the request's own ``verify`` is unset), so a
configured CA bundle is passed as ``verify=`` on every single request: the setting wins
over the environment. simple-salesforce never sets a timeout, so the session supplies one.

The session also keeps the books: a request is counted when it is sent, whether an
answer comes back or not, because Salesforce counts what it received: a call that timed
out on our side still used the org's allowance. Only a request that never left (no
connection, a failed TLS handshake) is not counted.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests
from urllib3.exceptions import NewConnectionError

from syncd.salesforce.results import ApiUsage

_USAGE = re.compile(r"(?:^|[\s;,])api-usage=(\d+)/(\d+)")
_DATA_PATH = re.compile(r"^/services/data/v[\d.]+/(?P<rest>.*)$")


def parse_limit_info(header: str) -> ApiUsage | None:
    """``api-usage=18/5000[; api-bursts=1/500][; per-app-api-usage=...]`` -> ApiUsage."""
    match = _USAGE.search(header)
    return ApiUsage(used=int(match[1]), max=int(match[2])) if match else None


# Kinds that cost none of the org's API allocation: logins, and the list of API versions
# (``GET /services/data/``, which Salesforce answers without Sforce-Limit-Info).
UNMETERED_KINDS = frozenset({"auth", "versions"})


def request_kind(url: str) -> str:
    """What kind of API call a URL is, for accounting (see ``UNMETERED_KINDS``)."""
    path = urlparse(url).path
    if path.startswith("/services/oauth2/"):
        return "auth"
    if path.rstrip("/") == "/services/data":
        return "versions"
    match = _DATA_PATH.match(path)
    if not match:
        return "other"
    rest = match["rest"].rstrip("/")
    head, _, tail = rest.partition("/")
    if head in ("query", "queryAll"):
        return "query_more" if tail else "query"
    if rest.startswith("composite/sobjects"):
        return "collections"
    if head == "composite":
        return "composite"
    if head == "limits":
        return "limits"
    if head == "jobs":
        return _bulk_kind(tail)
    if head == "sobjects":
        return "describe" if not tail or rest.endswith("/describe") else "sobject"
    return head or "other"


def _bulk_kind(tail: str) -> str:
    """``jobs/query`` -> bulk_job, ``jobs/query/{id}`` -> bulk_status, ``.../results``."""
    kind, _, rest = tail.partition("/")
    if kind != "query":
        return "bulk_ingest" if kind == "ingest" else "bulk_other"
    if not rest:
        return "bulk_job"
    return "bulk_results" if rest.endswith("/results") else "bulk_status"


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else None


class ApiMeter:
    """Counts requests sent, by kind; remembers the last ``Sforce-Limit-Info`` usage and
    the org's clock (the ``Date`` header), which incremental watermarks are taken from."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.usage: ApiUsage | None = None
        self.server_time: datetime | None = None
        self._lock = threading.Lock()  # writes run on several threads at once

    def sent(self, url: str) -> None:
        kind = request_kind(url)
        with self._lock:
            self.counts[kind] += 1

    def answered(self, response: requests.Response) -> None:
        if request_kind(response.url) not in UNMETERED_KINDS:
            self.server_time = _http_date(response.headers.get("Date")) or self.server_time
        header = response.headers.get("Sforce-Limit-Info")
        if header:
            self.usage = parse_limit_info(header) or self.usage


def never_sent(exc: BaseException) -> bool:
    """True when the request cannot have reached the org: no connection, no TLS session."""
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.SSLError):
        return True  # the handshake comes before the request is written
    reason = exc.args[0] if isinstance(exc, requests.ConnectionError) and exc.args else None
    return isinstance(getattr(reason, "reason", None), NewConnectionError)


class SalesforceSession(requests.Session):
    """A session that pins the CA bundle and a default timeout on every request, counts
    every request it sends and remembers, per thread, the last answer it received."""

    def __init__(
        self,
        *,
        ca_bundle: Path | str | None = None,
        timeout: float = 30.0,
        meter: ApiMeter | None = None,
    ) -> None:
        super().__init__()
        self.ca_bundle = str(ca_bundle) if ca_bundle is not None else None
        if self.ca_bundle is not None:
            self.verify = self.ca_bundle  # also covers direct send() calls
        self.default_timeout = timeout
        self.meter = meter or ApiMeter()
        self._last = threading.local()

    def request(  # type: ignore[override]  # same call shape; only fills two kwargs
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if self.ca_bundle is not None:
            kwargs["verify"] = self.ca_bundle  # explicit verify= beats the environment
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        self._last.response = None
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException as exc:
            if not never_sent(exc):
                self.meter.sent(url)
            raise
        self.meter.sent(url)
        self.meter.answered(response)
        self._last.response = response
        return response

    def last_answer(self) -> str | None:
        """``PATCH composite/sobjects with 204``: this thread's last request and its answer
        (None when it got none), for messages about answers Salesforce never gives."""
        response: requests.Response | None = getattr(self._last, "response", None)
        if response is None or response.request is None:
            return None
        path = urlparse(response.request.path_url).path
        path = _DATA_PATH.sub(r"\g<rest>", path).rstrip("/") or path
        return f"{response.request.method} {path} with {response.status_code}"
