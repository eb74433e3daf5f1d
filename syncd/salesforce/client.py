"""The org client: every Salesforce call syncd makes goes through ``OrgClient``.

It authenticates lazily (checking once that the org serves the configured API version),
retries the listed temporary failures (``retry.py``), re-authenticates on an expired
session, classifies every other failure in one place (``errors.py``) — nothing but
``syncd.errors`` leaves it —, writes only through sObject Collections (≤ 200 records a
call, ``allOrNone=false``) and keeps count of the API calls it sent, by kind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from types import MappingProxyType
from typing import Any, TypeVar

import structlog
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession

from syncd.errors import SyncdError
from syncd.salesforce import bulk, endpoints, ingest
from syncd.salesforce.auth import Token, build_salesforce, obtain_token
from syncd.salesforce.config import SalesforceSettings
from syncd.salesforce.errors import MalformedAnswer, classify, is_invalid_session, malformed
from syncd.salesforce.results import ApiLimits, ApiUsage, RecordFailure, RecordResult
from syncd.salesforce.retry import RetryPolicy
from syncd.salesforce.session import UNMETERED_KINDS, SalesforceSession
from syncd.salesforce.soql import identifier
from syncd.salesforce.versions import checked_versions

__all__ = ["ApiLimits", "ApiUsage", "OrgClient", "RecordFailure", "RecordResult"]

log = structlog.get_logger("syncd.salesforce")
T = TypeVar("T")

COLLECTION_SIZE = 200  # sObject Collections maximum per request
COMPOSITE_SIZE = 25  # Composite maximum subrequests
PAGE_SIZES = range(200, 2001)  # Sforce-Query-Options batchSize bounds
# A token refused right after a fresh login happens in a flaky org or behind a flaky
# proxy; a revoked user or app fails at the login itself, so a few re-logins never loop.
REAUTH_LIMIT = 3


class OrgClient:
    """Talks to one org. Nothing happens on the network until the first call (or connect())."""

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008  # frozen, so sharing it is safe
        session: SalesforceSession | None = None,
    ) -> None:
        self.settings = settings
        self.retry = retry
        if session is None:
            session = SalesforceSession(
                ca_bundle=settings.ca_bundle, timeout=settings.timeout_seconds
            )
        self._session = session
        self._meter = session.meter
        self._sf: Salesforce | None = None
        self._token: Token | None = None
        self._versions: list[str] | None = None  # what the org serves, asked once per client
        self._field_types: dict[str, dict[str, str]] = {}  # describe per object, kept for life
        self._bulk_bytes: Counter[str] = Counter()
        self._upload_bytes: Counter[tuple[str, str]] = Counter()
        self._row_bytes: dict[str, float] = {}  # CSV width of the last Bulk page, by object

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
        except SyncdError:
            raise
        except Exception as exc:  # classify() names every kind
            raise classify(exc, f"login at {self.settings.login_url}") from exc
        log.info("salesforce.authenticated", auth=self.settings.auth, instance=token.instance_url)
        self._token = token
        if self._versions is None:  # once per client: the org does not change its mind
            self._versions = checked_versions(
                self._session, self.retry, token.instance_url, self.settings.api_version
            )
        return build_salesforce(self.settings, self._session, token)

    @property
    def api_versions(self) -> list[str]:
        """The API versions the org serves (known after the first login)."""
        return list(self._versions or ())

    def _connected(self) -> Salesforce:
        if self._sf is None:
            self._sf = self._authenticate()
        return self._sf

    def _call(self, operation: str, fn: Callable[[Salesforce], T]) -> T:
        """Run one API call: retries per policy, re-authentication, classified errors."""
        logins = 0
        while True:
            sf = self._connected()
            try:
                return self.retry.call(operation, partial(fn, sf))
            except SalesforceExpiredSession as exc:
                if logins >= REAUTH_LIMIT or not self._may_reauthenticate(exc):
                    raise classify(exc, operation) from exc
                logins += 1
                log.info("salesforce.reauthenticate", operation=operation, attempt=logins)
                self._sf = None
            except SyncdError:
                raise
            except Exception as exc:  # nothing but syncd errors leaves
                raise classify(exc, operation, answered=self._session.last_answer()) from exc

    def _may_reauthenticate(self, exc: SalesforceExpiredSession) -> bool:
        return is_invalid_session(exc) and self.settings.auth != "token"

    def _malformed(self, operation: str, what: str) -> MalformedAnswer:
        return malformed(operation, self._session.last_answer(), what)

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
        """API calls this client sent, by kind. Logins and the version list are left out:
        they cost none of the org's allocation (``session.UNMETERED_KINDS``)."""
        counts = self._meter.counts.items()
        return MappingProxyType({k: v for k, v in counts if k not in UNMETERED_KINDS})

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
        fetch = partial(endpoints.query, soql=soql, include_deleted=include_deleted, kwargs=kwargs)
        yield from self._pages_from(self._call("query", fetch), kwargs)

    def open_query(
        self, soql: str, *, include_deleted: bool = False
    ) -> tuple[int, Generator[list[dict[str, Any]], None, None]]:
        """Run the first call now: (totalSize, the pages). Lets a reader size a result."""
        fetch = partial(endpoints.query, soql=soql, include_deleted=include_deleted, kwargs={})
        result = self._call("query", fetch)
        return result["totalSize"], self._pages_from(result, {})

    def _pages_from(
        self, result: Mapping[str, Any], kwargs: dict[str, Any]
    ) -> Generator[list[dict[str, Any]], None, None]:
        """The pages of a query result, its first page given, the rest by query_more."""
        while True:
            records = [endpoints.strip(r) for r in result["records"]]
            if records:
                yield records
            next_url = result.get("nextRecordsUrl")
            if result.get("done", True) or not next_url:
                return
            result = self._call(
                "query_more", partial(endpoints.query_more, url=next_url, kwargs=kwargs)
            )

    def query(self, soql: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Records of ``soql``, page after page."""
        for page in self.query_pages(soql, **kwargs):
            yield from page

    def bulk_query_pages(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        page_records: int | None = None,
        row_bytes: float | None = None,
        poll_seconds: float = 0.2,
        timeout_seconds: float = 3600.0,
    ) -> Iterator[list[dict[str, Any]]]:
        """Like ``query_pages`` through a Bulk API 2.0 job, the next results page fetched
        while the caller works on this one (``bulk.run``).

        Costs one describe per object (cached), one job, its status polls and one call
        per results page: about ``bounds.BULK_PAGE_BYTES`` of CSV (and at most
        ``page_records`` rows). The first page is sized by ``row_bytes`` (a row's CSV
        width from a sample, ``bulk.csv_row_bytes``), else by the width this client's
        last Bulk read of the object had. A Failed/Aborted job raises
        ``bulk.BulkJobFailed``.
        """
        if page_records is not None and page_records < 1:
            raise ValueError(f"page_records must be at least 1; got {page_records}")
        sobject = bulk.sobject_of(soql)
        query = bulk.BulkQuery(
            soql=soql,
            sobject=sobject,
            types=self.field_types(sobject),
            include_deleted=include_deleted,
            page_records=page_records,
            row_bytes=row_bytes or self._row_bytes.get(sobject.lower()),
            poll_seconds=poll_seconds,
            timeout_seconds=timeout_seconds,
        )

        def counted(size: int, rows: int) -> None:
            self._bulk_bytes[sobject] += size
            if rows:
                self._row_bytes[sobject.lower()] = size / rows

        yield from bulk.run(self._call, query, on_page=counted)

    @property
    def bulk_read_bytes(self) -> Mapping[str, int]:
        """CSV bytes read through Bulk queries, by object (for the call bound's pages)."""
        return MappingProxyType(dict(self._bulk_bytes))

    @property
    def bulk_upload_bytes(self) -> Mapping[tuple[str, str], int]:
        """CSV bytes uploaded to Bulk ingest jobs, by (object, operation): the call bound's
        job count (an upload holds at most ``bounds.INGEST_UPLOAD_BYTES``)."""
        return MappingProxyType(dict(self._upload_bytes))

    def field_types(self, sobject: str) -> dict[str, str]:
        """Lower-case field name -> describe type; one describe per object per client."""
        key = sobject.lower()
        if key not in self._field_types:
            self._field_types[key] = bulk.field_types(self.describe(sobject))
        return self._field_types[key]

    def describe(self, sobject: str) -> dict[str, Any]:
        name = identifier(sobject, "object")
        body = self._call(
            f"describe {name}", partial(endpoints.restful, path=f"sobjects/{name}/describe")
        )
        if not isinstance(body, dict):
            raise self._malformed(f"describe {name}", "no describe object")
        return body

    def limits(self) -> ApiLimits:
        body = self._call("limits", lambda sf: sf.limits())
        daily = body.get("DailyApiRequests") if isinstance(body, dict) else None
        daily_max, remaining = (daily.get(k) for k in ("Max", "Remaining")) if daily else (0, 0)
        if not (isinstance(daily_max, int) and isinstance(remaining, int)):
            raise self._malformed("limits", "no DailyApiRequests Max and Remaining")
        return ApiLimits(daily_max=daily_max, daily_remaining=remaining)

    # -- writes (sObject Collections) ----------------------------------------------

    def create(self, sobject: str, records: Sequence[Mapping[str, Any]]) -> list[RecordResult]:
        """Insert records. A retried chunk may duplicate rows if the first attempt landed
        unseen; anything that must not duplicate belongs in ``upsert`` with an external id."""
        name = identifier(sobject, "object")
        return self._collections(
            f"create {name}", "POST", "composite/sobjects", endpoints.typed(name, records)
        )

    def update(self, sobject: str, records: Sequence[Mapping[str, Any]]) -> list[RecordResult]:
        name = identifier(sobject, "object")
        for index, record in enumerate(records):
            if not record.get("Id"):
                raise ValueError(f"update {name}: record #{index} has no Id")
        return self._collections(
            f"update {name}", "PATCH", "composite/sobjects", endpoints.typed(name, records)
        )

    def upsert(
        self, sobject: str, external_id_field: str, records: Sequence[Mapping[str, Any]]
    ) -> list[RecordResult]:
        name, key = identifier(sobject, "object"), identifier(external_id_field)
        for index, record in enumerate(records):
            if record.get(key) in (None, ""):
                raise ValueError(f"upsert {name}: record #{index} has no {key}")
        path = f"composite/sobjects/{name}/{key}"
        return self._collections(f"upsert {name}", "PATCH", path, endpoints.typed(name, records))

    def delete(self, ids: Sequence[str]) -> list[RecordResult]:
        results: list[RecordResult] = []
        for start in range(0, len(ids), COLLECTION_SIZE):
            chunk = list(ids[start : start + COLLECTION_SIZE])
            params = {"ids": ",".join(chunk), "allOrNone": "false"}
            body = self._call(
                "delete",
                partial(
                    endpoints.restful, path="composite/sobjects", method="DELETE", params=params
                ),
            )
            results.extend(self._results(body, start, len(chunk), "delete"))
        return results

    def _collections(
        self, operation: str, method: str, path: str, records: list[dict[str, Any]]
    ) -> list[RecordResult]:
        results: list[RecordResult] = []
        for start in range(0, len(records), COLLECTION_SIZE):
            chunk = records[start : start + COLLECTION_SIZE]
            payload = {"allOrNone": False, "records": chunk}
            body = self._call(
                operation, partial(endpoints.restful, path=path, method=method, json=payload)
            )
            results.extend(self._results(body, start, len(chunk), operation))
        return results

    def bulk_ingest(
        self,
        job: ingest.WriteJob,
        records: Sequence[Mapping[str, Any]],
        options: ingest.IngestOptions = ingest.IngestOptions(),  # noqa: B008  # frozen
    ) -> list[RecordResult]:
        """Write through Bulk API 2.0 ingest jobs; one result per record (see ingest.py)."""

        def counted(size: int) -> None:
            self._upload_bytes[(job.sobject, job.operation)] += size

        return ingest.run(self._call, job, records, options, on_upload=counted)

    def _results(self, body: Any, start: int, expected: int, operation: str) -> list[RecordResult]:
        """One result per record, in order; any other answer is said plainly."""
        if body is None:  # a 204, or an empty body: simple-salesforce hands back None
            raise self._malformed(operation, "no per-record results")
        if not isinstance(body, list) or len(body) != expected:
            got = f"{len(body)} results" if isinstance(body, list) else "no list of results"
            raise self._malformed(operation, f"{got} for {expected} records")
        if not all(isinstance(item, dict) for item in body):
            raise self._malformed(operation, "per-record results that are not objects")
        return [RecordResult.from_response(start + i, item) for i, item in enumerate(body)]

    # -- composite -----------------------------------------------------------------

    def composite(
        self, subrequests: list[dict[str, Any]], all_or_none: bool = False
    ) -> list[dict[str, Any]]:
        """POST composite (one API call for up to 25 subrequests); returns compositeResponse.

        Sub-responses come back as they are: the caller judges them (with
        ``errors.sub_response_error``), since a failed write must not redo the others.
        """
        if not 0 < len(subrequests) <= COMPOSITE_SIZE:
            raise ValueError(f"composite takes 1 to 25 subrequests; got {len(subrequests)}")
        payload = {"allOrNone": all_or_none, "compositeRequest": subrequests}
        return self._call("composite", partial(endpoints.composite, payload=payload))

    def query_batch(
        self, queries: Mapping[str, tuple[str, bool]], *, describe: Iterable[str] = ()
    ) -> dict[str, tuple[int, Generator[list[dict[str, Any]], None, None]]]:
        """Run up to 25 queries in ONE composite call: name -> (soql, include_deleted).

        Returns name -> (totalSize, pages), lazily: the first page of each came in the
        composite answer; later pages (results over 2,000 rows) cost a query_more each.
        This is what makes an idle incremental cycle a single API call. A failed query
        inside the answer is judged like a failed top-level call: a transient one
        (SERVER_UNAVAILABLE, UNABLE_TO_LOCK_ROW, QUERY_TIMEOUT, 5xx) retries the whole
        composite, an expired session re-authenticates, the rest is a classified error.

        The objects in ``describe`` not described yet ride along as describe
        subrequests (they count against the 25, not against the 5 queries), so a Bulk
        read of them later needs no describe call of its own.
        """
        version = str(self._connected().sf_version)
        subrequests = [
            {
                "method": "GET",
                "url": endpoints.query_url(version, soql, deleted=deleted),
                "referenceId": endpoints.reference(index),
            }
            for index, (soql, deleted) in enumerate(queries.values())
        ]
        wanted = [
            identifier(name, "object")
            for name in dict.fromkeys(describe)
            if name.lower() not in self._field_types
        ]
        subrequests += [
            {
                "method": "GET",
                "url": endpoints.describe_url(version, name),
                "referenceId": endpoints.describe_reference(index),
            }
            for index, name in enumerate(wanted)
        ]
        if not queries or len(subrequests) > COMPOSITE_SIZE:
            raise ValueError(
                f"query_batch takes 1 to {COMPOSITE_SIZE} queries and describes together; "
                f"got {len(queries)} queries and {len(wanted)} describes"
            )
        payload = {"allOrNone": False, "compositeRequest": subrequests}
        fetch = partial(
            endpoints.query_bodies, payload=payload, names=list(queries), described=wanted
        )
        bodies, described = self._call("composite", fetch)
        for name, body in described.items():
            self._field_types[name.lower()] = bulk.field_types(body)
        return {
            name: (body["totalSize"], self._pages_from(body, {})) for name, body in bodies.items()
        }
