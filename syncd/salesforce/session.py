"""The HTTP session every Salesforce request goes through: CA bundle, timeout, accounting.

``requests`` lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` replace ``session.verify``
(it only consults ``session.verify`` when the request's own ``verify`` is unset), so a
configured CA bundle is passed as ``verify=`` on every single request: the setting wins
over the environment. simple-salesforce never sets a timeout, so the session supplies one.
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

from syncd.salesforce.results import ApiUsage

_USAGE = re.compile(r"(?:^|[\s;,])api-usage=(\d+)/(\d+)")
_DATA_PATH = re.compile(r"^/services/data/v[\d.]+/(?P<rest>.*)$")


def parse_limit_info(header: str) -> ApiUsage | None:
    """``api-usage=18/5000[; api-bursts=1/500][; per-app-api-usage=...]`` -> ApiUsage."""
    match = _USAGE.search(header)
    return ApiUsage(used=int(match[1]), max=int(match[2])) if match else None


def request_kind(url: str) -> str:
    """What kind of API call a URL is, for accounting (``auth`` costs no API allocation)."""
    path = urlparse(url).path
    if path.startswith("/services/oauth2/"):
        return "auth"
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
    """Counts responses by kind; remembers the last ``Sforce-Limit-Info`` usage and the
    org's clock (the ``Date`` header), which incremental watermarks are taken from.

    Installed as a ``requests`` response hook, so it sees every response, including
    error responses (they count against the allocation too) and retried attempts.
    """

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.usage: ApiUsage | None = None
        self.server_time: datetime | None = None
        self._lock = threading.Lock()  # writes run on several threads at once

    def record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        kind = request_kind(response.request.url or response.url)
        with self._lock:
            self.counts[kind] += 1
        if kind != "auth":
            self.server_time = _http_date(response.headers.get("Date")) or self.server_time
        header = response.headers.get("Sforce-Limit-Info")
        if header:
            self.usage = parse_limit_info(header) or self.usage

    def install(self, session: requests.Session) -> None:
        hooks = session.hooks.setdefault("response", [])
        if self.record not in hooks:
            hooks.append(self.record)


class SalesforceSession(requests.Session):
    """A session that pins the CA bundle and a default timeout on every request."""

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
        self.meter.install(self)

    def request(  # type: ignore[override]  # same call shape; only fills two kwargs
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if self.ca_bundle is not None:
            kwargs["verify"] = self.ca_bundle  # explicit verify= beats the environment
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().request(method, url, *args, **kwargs)
