"""The org client: every Salesforce call syncd makes goes through ``OrgClient``.

It authenticates lazily, retries the listed temporary failures (``retry.py``),
re-authenticates once on an expired session, classifies every other failure in one
place (``errors.py``), writes only through sObject Collections (≤ 200 records a call,
``allOrNone=false``) and keeps count of the API calls it made, by kind.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import urlencode

import requests
import structlog
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession

from syncd.errors import FatalSyncError
from syncd.salesforce import bulk
from syncd.salesforce.auth import Token, build_salesforce, obtain_token
from syncd.salesforce.config import SalesforceSettings
from syncd.salesforce.errors import classify, is_invalid_session
from syncd.salesforce.results import ApiLimits, ApiUsage, RecordFailure, RecordResult
from syncd.salesforce.retry import RetryPolicy
from syncd.salesforce.session import ApiMeter, SalesforceSession
from syncd.salesforce.soql import identifier

__all__ = ["ApiLimits", "ApiUsage", "OrgClient", "RecordFailure", "RecordResult"]

log = structlog.get_logger("syncd.salesforce")
T = TypeVar("T")

COLLECTION_SIZE = 200  # sObject Collections maximum per request
COMPOSITE_SIZE = 25  # Composite maximum subrequests
PAGE_SIZES = range(200, 2001)  # Sforce-Query-Options batchSize bounds


class OrgClient:
    """Talks to one org. Nothing happens on the network until the first call (or connect())."""

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008  # frozen, so sharing it is safe
        session: requests.Session | None = None,
    ) -> None:
        self.settings = settings
        self.retry = retry
        if session is None:
            session = SalesforceSession(
                ca_bundle=settings.ca_bundle, timeout=settings.timeout_seconds
            )
        self._session = session
        if isinstance(session, SalesforceSession):
            self._meter = session.meter
        else:
            self._meter = ApiMeter()
            self._meter.install(session)
        self._sf: Salesforce | None = None
        self._token: Token | None = None
        self._field_types: dict[str, dict[str, str]] = {}  # describe per object, kept for life

    # -- connection ---------------------------------------------------------------

    def connect(self) -> None:
        """Authenticate now (it otherwise happens on the first call)."""
        self._sf = self._authenticate()

    @property
    def org_id(self) -> str | None:
        """The organization's Id, from the login (None with a given token)."""
        self._connected()
        return self._token.org_id if self._token else None

    @property
    def user_id(self) -> str | None:
        """The integration user's Id, from the login (None with a given token)."""
        self._connected()
        return self._token.user_id if self._token else None

    @property
    def instance_url(self) -> str | None:
        """The org's instance URL, from the login (links to records are built on it)."""
        self._connected()
        return self._token.instance_url if self._token else None

    def _authenticate(self) -> Salesforce:
        try:
            token = self.retry.call("auth", partial(obtain_token, self.settings, self._session))
        except (SalesforceError, requests.RequestException) as exc:
            raise classify(exc, f"login at {self.settings.login_url}") from exc
        log.info("salesforce.authenticated", auth=self.settings.auth, instance=token.instance_url)
        self._token = token
        return build_salesforce(self.settings, self._session, token)

    def _connected(self) -> Salesforce:
        if self._sf is None:
            self._sf = self._authenticate()
        return self._sf

    def _call(self, operation: str, fn: Callable[[Salesforce], T]) -> T:
        """Run one API call: retries per policy, one re-authentication, classified errors."""
        reauthenticated = False
        while True:
            sf = self._connected()
            try:
                return self.retry.call(operation, partial(fn, sf))
            except SalesforceExpiredSession as exc:
                if reauthenticated or not is_invalid_session(exc) or self.settings.auth == "token":
                    raise classify(exc, operation) from exc
                reauthenticated = True
                log.info("salesforce.reauthenticate", operation=operation)
                self._sf = None
            except (SalesforceError, requests.RequestException) as exc:
                raise classify(exc, operation) from exc

    # -- accounting ---------------------------------------------------------------

    @property
    def server_time(self) -> datetime | None:
        """The org's clock at the last answer (its ``Date`` header; whole seconds)."""
        return self._meter.server_time

    @property
    def usage(self) -> ApiUsage | None:
        """Org-wide daily usage from the last ``Sforce-Limit-Info`` header seen."""
        return self._meter.usage

    @property
    def calls(self) -> Mapping[str, int]:
        """API calls this client made, by kind (logins excluded: they cost no allocation)."""
        return MappingProxyType({k: v for k, v in self._meter.counts.items() if k != "auth"})

    @property
    def auth_calls(self) -> int:
        return self._meter.counts["auth"]

    @property
    def api_calls(self) -> int:
        return sum(self.calls.values())

    # -- reads ----------------------------------------------------------------------

    def query_pages(
        self, soql: str, *, include_deleted: bool = False, page_size: int | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield the result one page at a time (``attributes`` removed); lazy by design."""
        kwargs: dict[str, Any] = {}
        if page_size is not None:
            if page_size not in PAGE_SIZES:
                raise ValueError(f"page_size must be between 200 and 2000; got {page_size}")
            kwargs["headers"] = {"Sforce-Query-Options": f"batchSize={page_size}"}
        result = self._call(
            "query", lambda sf: sf.query(soql, include_deleted=include_deleted, **kwargs)
        )
        yield from self._pages_from(result, kwargs)

    def open_query(self, soql: str) -> tuple[int, Generator[list[dict[str, Any]], None, None]]:
        """Run the first call now: (totalSize, the pages). Lets a reader size a result."""
        result = self._call("query", lambda sf: sf.query(soql))
        return int(result.get("totalSize") or 0), self._pages_from(result, {})

    def _pages_from(
        self, result: Mapping[str, Any], kwargs: dict[str, Any]
    ) -> Generator[list[dict[str, Any]], None, None]:
        """The pages of a query result, its first page given, the rest by query_more."""
        while True:
            records = [_strip(r) for r in result.get("records") or ()]
            if records:
                yield records
            next_url = result.get("nextRecordsUrl")
            if result.get("done", True) or not next_url:
                return
            result = self._call("query_more", partial(_query_more, url=next_url, kwargs=kwargs))

    def query(self, soql: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Records of ``soql``, page after page."""
        for page in self.query_pages(soql, **kwargs):
            yield from page

    def bulk_query_pages(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        page_records: int = 50_000,
        poll_seconds: float = 0.2,
        timeout_seconds: float = 3600.0,
    ) -> Iterator[list[dict[str, Any]]]:
        """Like ``query_pages`` through a Bulk API 2.0 job: one page per results call.

        Costs one describe per object (cached), one job, its status polls and one call per
        ``page_records`` rows. A Failed/Aborted job raises ``bulk.BulkJobFailed``.
        """
        if page_records < 1:
            raise ValueError(f"page_records must be at least 1; got {page_records}")
        sobject = bulk.sobject_of(soql)
        query = bulk.BulkQuery(
            soql=soql,
            sobject=sobject,
            types=self.field_types(sobject),
            include_deleted=include_deleted,
            page_records=page_records,
            poll_seconds=poll_seconds,
            timeout_seconds=timeout_seconds,
        )
        yield from bulk.run(self._call, query)

    def field_types(self, sobject: str) -> dict[str, str]:
        """Lower-case field name -> describe type; one describe per object per client."""
        key = sobject.lower()
        if key not in self._field_types:
            self._field_types[key] = bulk.field_types(self.describe(sobject))
        return self._field_types[key]

    def describe(self, sobject: str) -> dict[str, Any]:
        name = identifier(sobject, "object")
        body = self._call(f"describe {name}", partial(_restful, path=f"sobjects/{name}/describe"))
        if not isinstance(body, dict):
            raise FatalSyncError(f"Salesforce's describe of {name} is not an object")
        return body

    def limits(self) -> ApiLimits:
        body = self._call("limits", lambda sf: sf.limits())
        daily = body.get("DailyApiRequests") if isinstance(body, dict) else None
        if not isinstance(daily, dict) or "Max" not in daily or "Remaining" not in daily:
            raise FatalSyncError("Salesforce's limits/ answer lacks DailyApiRequests")
        return ApiLimits(daily_max=int(daily["Max"]), daily_remaining=int(daily["Remaining"]))

    # -- writes (sObject Collections) ----------------------------------------------

    def create(self, sobject: str, records: Sequence[Mapping[str, Any]]) -> list[RecordResult]:
        """Insert records. A retried chunk may duplicate rows if the first attempt landed
        unseen; anything that must not duplicate belongs in ``upsert`` with an external id."""
        name = identifier(sobject, "object")
        return self._collections(
            f"create {name}", "POST", "composite/sobjects", _typed(name, records)
        )

    def update(self, sobject: str, records: Sequence[Mapping[str, Any]]) -> list[RecordResult]:
        name = identifier(sobject, "object")
        for index, record in enumerate(records):
            if not record.get("Id"):
                raise ValueError(f"update {name}: record #{index} has no Id")
        return self._collections(
            f"update {name}", "PATCH", "composite/sobjects", _typed(name, records)
        )

    def upsert(
        self, sobject: str, external_id_field: str, records: Sequence[Mapping[str, Any]]
    ) -> list[RecordResult]:
        name, key = identifier(sobject, "object"), identifier(external_id_field)
        for index, record in enumerate(records):
            if record.get(key) in (None, ""):
                raise ValueError(f"upsert {name}: record #{index} has no {key}")
        path = f"composite/sobjects/{name}/{key}"
        return self._collections(f"upsert {name}", "PATCH", path, _typed(name, records))

    def delete(self, ids: Sequence[str]) -> list[RecordResult]:
        results: list[RecordResult] = []
        for start in range(0, len(ids), COLLECTION_SIZE):
            chunk = list(ids[start : start + COLLECTION_SIZE])
            params = {"ids": ",".join(chunk), "allOrNone": "false"}
            body = self._call(
                "delete",
                partial(_restful, path="composite/sobjects", method="DELETE", params=params),
            )
            results.extend(_results(body, start, len(chunk), "delete"))
        return results

    def _collections(
        self, operation: str, method: str, path: str, records: list[dict[str, Any]]
    ) -> list[RecordResult]:
        results: list[RecordResult] = []
        for start in range(0, len(records), COLLECTION_SIZE):
            chunk = records[start : start + COLLECTION_SIZE]
            payload = {"allOrNone": False, "records": chunk}
            body = self._call(operation, partial(_restful, path=path, method=method, json=payload))
            results.extend(_results(body, start, len(chunk), operation))
        return results

    # -- composite -----------------------------------------------------------------

    def composite(
        self, subrequests: list[dict[str, Any]], all_or_none: bool = False
    ) -> list[dict[str, Any]]:
        """POST composite (one API call for up to 25 subrequests); returns compositeResponse."""
        if not 0 < len(subrequests) <= COMPOSITE_SIZE:
            raise ValueError(f"composite takes 1 to 25 subrequests; got {len(subrequests)}")
        payload = {"allOrNone": all_or_none, "compositeRequest": subrequests}
        body = self._call(
            "composite", partial(_restful, path="composite", method="POST", json=payload)
        )
        if not isinstance(body, dict) or not isinstance(body.get("compositeResponse"), list):
            raise FatalSyncError("Salesforce's composite answer has no compositeResponse list")
        return list(body["compositeResponse"])

    def query_batch(
        self, queries: Mapping[str, tuple[str, bool]]
    ) -> dict[str, tuple[int, Generator[list[dict[str, Any]], None, None]]]:
        """Run up to 25 queries in ONE composite call: name -> (soql, include_deleted).

        Returns name -> (totalSize, pages), lazily: the first page of each came in the
        composite answer; later pages (results over 2,000 rows) cost a query_more each.
        This is what makes an idle incremental cycle a single API call.
        """
        if not 0 < len(queries) <= COMPOSITE_SIZE:
            raise ValueError(f"query_batch takes 1 to 25 queries; got {len(queries)}")
        version = str(self._connected().sf_version)
        subrequests = [
            {
                "method": "GET",
                "url": _query_url(version, soql, deleted=deleted),
                "referenceId": _reference(index),
            }
            for index, (soql, deleted) in enumerate(queries.values())
        ]
        answers = {a.get("referenceId"): a for a in self.composite(subrequests)}
        pages: dict[str, tuple[int, Generator[list[dict[str, Any]], None, None]]] = {}
        for index, name in enumerate(queries):
            answer = answers.get(_reference(index))
            if answer is None:
                raise FatalSyncError(f"Salesforce's composite answer lacks the query for {name}")
            status, body = answer.get("httpStatusCode"), answer.get("body")
            if status != 200 or not isinstance(body, dict):
                raise FatalSyncError(
                    f"the change query for {name} failed ({status}): {_first_error(body)}"
                )
            pages[name] = (int(body.get("totalSize") or 0), self._pages_from(body, {}))
        return pages


def _query_url(version: str, soql: str, *, deleted: bool) -> str:
    return (
        f"/services/data/v{version}/{'queryAll' if deleted else 'query'}?{urlencode({'q': soql})}"
    )


def _reference(index: int) -> str:
    return f"q{index}"


def _first_error(body: Any) -> str:
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return f"{body[0].get('errorCode', '')}: {body[0].get('message', '')}"
    return str(body)[:200]


def _restful(sf: Salesforce, *, path: str, method: str = "GET", **kwargs: Any) -> Any:
    return sf.restful(path, method=method, **kwargs)


def _query_more(sf: Salesforce, *, url: str, kwargs: dict[str, Any]) -> Any:
    return sf.query_more(url, identifier_is_url=True, **kwargs)


def _strip(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "attributes"}


def _typed(sobject: str, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Collections need ``attributes.type`` on every record."""
    return [{"attributes": {"type": sobject}, **_strip(r)} for r in records]


def _results(body: Any, start: int, expected: int, operation: str) -> list[RecordResult]:
    if not isinstance(body, list) or len(body) != expected:
        got = len(body) if isinstance(body, list) else type(body).__name__
        raise FatalSyncError(
            f"Salesforce answered {operation} with {got} results for {expected} records"
        )
    return [RecordResult.from_response(start + i, item) for i, item in enumerate(body)]
