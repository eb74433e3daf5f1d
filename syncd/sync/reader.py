"""Read the org: all of it (a full cycle) or what changed since the watermarks.

A full read streams Users, Accounts and Opportunities page by page — REST query pages,
or Bulk API 2.0 result pages for objects above the bulk threshold — into the domain
snapshot and, through ``sink``, into the store's mirror staging; the raw JSON of the org
is never held whole. The first page of every object (and of syncd's Tasks) comes in ONE
composite call, whose totalSize says which objects are big enough for Bulk. It also
keeps the values each record holds now in the fields syncd writes (for the diff) and the
newest SystemModstamp per object (the watermarks).

A change read asks for every object's changes since its watermark (minus the overlap)
in ONE composite call, deleted rows included (queryAll); only results over 2,000 rows
cost more calls.

When the cheaper way fails, ``fallback.py`` reads the same rows another way for that
cycle: one query per object instead of the composite, REST paging instead of Bulk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from syncd.engine.domain import Snapshot
from syncd.salesforce import OrgClient, pull_soql
from syncd.salesforce.bulk import csv_row_bytes
from syncd.salesforce.soql import identifier, soql_format
from syncd.sync.children import Children, Rows, mirror_rows, read_rows
from syncd.sync.fallback import Pages, bulk_or_rest, change_pages, lazy
from syncd.sync.mapping import (
    WATERMARK,
    FieldMapping,
    task_fields,
    to_account,
    to_user,
    written_values,
)

log = structlog.get_logger("syncd.reader")


Page = list[dict[str, Any]]
Sink = Callable[[str, Page], None]  # (mirror key, records) for each page read


class ProgressSink(Protocol):
    """Told how long work advances (the CLI draws a bar on a terminal)."""

    def update(self, phase: str, done: int, total: int | None = None) -> None: ...


class NoProgress:
    def update(self, phase: str, done: int, total: int | None = None) -> None:
        return None


@dataclass(frozen=True)
class ReadOptions:
    """How to read: which objects go through Bulk API 2.0, and the incremental overlap."""

    bulk_objects: frozenset[str] = frozenset()  # known to be big (the last cycle said so)
    small_objects: frozenset[str] = frozenset()  # known to be small: never described
    # Objects of unknown size switch to Bulk when the first REST page says they are bigger.
    bulk_threshold: int | None = None
    bulk_page_records: int | None = None  # None: a page holds what its bytes allow
    overlap: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class TaskRead:
    """Which of syncd's violation Tasks to read (by their key field).

    ``since`` None: every one (a store that never saw the org's Tasks adopts them all);
    else changes since then, leaving out the integration user's own writes
    (``exclude_user``) unless a cycle that wrote Tasks died before committing.
    """

    since: datetime | None = None
    exclude_user: str | None = None


@dataclass
class OrgRead:
    snapshot: Snapshot
    current: dict[str, Mapping[str, Any]]  # record Id -> values of the fields syncd writes
    read: dict[str, int]  # records read per object
    watermarks: dict[str, datetime] = field(default_factory=dict)
    related: Rows = field(default_factory=dict)  # the related sources' rows, by deal
    tasks: list[dict[str, Any]] = field(default_factory=list)  # violation Tasks read


def account_written_fields(mapping: FieldMapping) -> list[str]:
    fields = list(mapping.account.write.model_dump().values())
    if mapping.account.read.resync_requested:  # syncd clears the box once it has resynced
        fields.append(mapping.account.read.resync_requested)
    return fields


def opportunity_written_fields(mapping: FieldMapping) -> list[str]:
    fields = list(mapping.opportunity.write.model_dump().values())
    if mapping.opportunity.read.exception_requested:  # cleared once a request is rejected
        fields.append(mapping.opportunity.read.exception_requested)
    return fields


def read_org(
    client: OrgClient,
    mapping: FieldMapping,
    progress: ProgressSink,
    *,
    options: ReadOptions = ReadOptions(),  # frozen, so a shared default is safe
    sink: Sink | None = None,
    tasks: TaskRead | None = None,
) -> OrgRead:
    read: dict[str, int] = {}
    marks: dict[str, datetime] = {}
    current: dict[str, Mapping[str, Any]] = {}

    started: list[datetime] = []  # the org's clock when the read began
    fields = {
        mapping.user.sobject: mapping.user_fields(),
        mapping.account.sobject: mapping.account_fields(),
        mapping.opportunity.sobject: mapping.opportunity_fields(),
    }
    opened, asked_at = _first_pages(client, mapping, fields, options, tasks)
    if asked_at is not None:
        started.append(asked_at)

    def records(sobject: str, fields: list[str]) -> Iterable[dict[str, Any]]:
        count = 0
        for page in _pages(client, sobject, fields, options, opened.pop(sobject, None)):
            if not started and client.server_time is not None:
                started.append(client.server_time)
            for record in page:
                note_watermark(marks, sobject, record.get(WATERMARK))
            if sink is not None:
                sink(sobject, page)
            yield from page
            count += len(page)
            progress.update(f"pull {sobject}", count)
        read[sobject] = count
        log.info("pull.done", sobject=sobject, records=count)

    users = {}
    for record in records(mapping.user.sobject, fields[mapping.user.sobject]):
        user = to_user(record, mapping)
        users[user.id] = user

    account_writes = account_written_fields(mapping)
    accounts = {}
    for record in records(mapping.account.sobject, fields[mapping.account.sobject]):
        account = to_account(record, mapping)
        accounts[account.id] = account
        current[account.id] = written_values(record, account_writes)

    related: Rows = {}
    for source in mapping.opportunity.sources:  # one query each (OpportunityPartner, ...)
        rows = related[source.key] = read_rows(client, source, None)
        read[source.sobject] = len(rows)
        if sink is not None:
            sink(source.key, mirror_rows(source, rows))
    children = Children(mapping)
    opp_writes = opportunity_written_fields(mapping)
    opportunities = {}
    for record in records(mapping.opportunity.sobject, fields[mapping.opportunity.sobject]):
        opp = children.opportunity(record, related)
        opportunities[opp.id] = opp
        current[opp.id] = written_values(record, opp_writes)

    snapshot = Snapshot(accounts=accounts, opportunities=opportunities, users=users)
    if started:  # a change made while a long read ran is newer than its start: next cycle
        marks = {name: started[0] for name in watched_objects(mapping)}
    found: list[dict[str, Any]] = []
    if tasks is not None:  # its first page came with the others: changes from then on
        found = [task for page in opened.pop(mapping.task.sobject)[1] for task in page]
        read[mapping.task.sobject] = len(found)
        if asked_at is not None:
            marks[mapping.task.sobject] = asked_at
    return OrgRead(snapshot, current, read, marks, related, found)


def _first_pages(
    client: OrgClient,
    mapping: FieldMapping,
    fields: Mapping[str, list[str]],
    options: ReadOptions,
    tasks: TaskRead | None,
) -> tuple[dict[str, tuple[int, Pages]], datetime | None]:
    """The first page of every object not known to be big, and of syncd's Tasks, in ONE
    composite call: its totalSize tells which objects to read through Bulk instead."""
    queries = {
        name: (pull_soql(name, names, watermark_field=WATERMARK), False)
        for name, names in fields.items()
        if name not in options.bulk_objects
    }
    if tasks is not None:
        queries[mapping.task.sobject] = (task_soql(mapping, tasks, options.overlap), False)
    if not queries:
        return {}, None
    return change_pages(client, queries, describe=_may_go_bulk(fields, options))


def _may_go_bulk(objects: Iterable[str], options: ReadOptions) -> list[str]:
    """The objects a full read may read through Bulk: their describes (which type the CSV
    cells) ride along with the first pages instead of costing a call each later."""
    if options.bulk_threshold is None:
        return []
    return [name for name in objects if name not in options.small_objects]


def task_soql(mapping: FieldMapping, tasks: TaskRead, overlap: timedelta) -> str:
    """The query for syncd's violation Tasks: all of them, or people's changes since."""
    where = soql_format(f"{identifier(mapping.task.key_field)} != {{}}", None)
    if tasks.since is not None and tasks.exclude_user:
        where += " AND " + soql_format("LastModifiedById != {}", tasks.exclude_user)
    return pull_soql(
        mapping.task.sobject,
        task_fields(mapping),
        since=tasks.since,
        overlap=overlap,
        watermark_field=WATERMARK,
        where=where,
    )


def watched_objects(mapping: FieldMapping) -> list[str]:
    """The objects whose changes syncd follows (each has a watermark)."""
    names = [mapping.user.sobject, mapping.account.sobject, mapping.opportunity.sobject]
    return [*names, *(s.sobject for s in mapping.opportunity.sources)]


def _pages(
    client: OrgClient,
    sobject: str,
    fields: list[str],
    options: ReadOptions,
    opened: tuple[int, Pages] | None = None,
) -> Iterator[Page]:
    """The object's pages: REST (its first page ``opened`` already), or Bulk if big."""
    soql = pull_soql(sobject, fields, watermark_field=WATERMARK)
    rest: Pages | None = None
    if sobject not in options.bulk_objects:
        total, rest = opened or client.open_query(soql)
        threshold = options.bulk_threshold
        if threshold is None or total <= threshold:
            return rest
    log.info("pull.bulk", sobject=sobject)
    sample: Page = []
    if rest is not None:
        sample, rest = sampled(rest)
    bulk = client.bulk_query_pages(
        soql, page_records=options.bulk_page_records, row_bytes=csv_row_bytes(sample)
    )
    return bulk_or_rest(sobject, bulk, rest or lazy(lambda: client.open_query(soql)[1]))


def sampled(pages: Pages) -> tuple[Page, Pages]:
    """The first page of a REST read (its rows size a Bulk read's first results page),
    and the read, that page still first."""
    first = next(pages, [])

    def again() -> Pages:
        if first:
            yield first
        yield from pages

    return first, again()


# -- changes since the watermarks ------------------------------------------------------


@dataclass
class ChangeRead:
    """What a change read saw; the records themselves went to the page sink."""

    read: dict[str, int]
    watermarks: dict[str, datetime]
    # source key -> deal -> its row's values now (None: it has none any more), for the
    # deals whose rows changed
    related: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: list[dict[str, Any]] = field(default_factory=list)  # violation Tasks read


# (sobject, live changed rows, deleted Id -> merged into) for each page of a change read
ChangeSink = Callable[[str, Page, dict[str, "str | None"]], None]


def read_changes(
    client: OrgClient,
    mapping: FieldMapping,
    since: Mapping[str, datetime],
    sink: ChangeSink,
    options: ReadOptions = ReadOptions(),  # frozen, so a shared default is safe
    tasks: TaskRead | None = None,
) -> ChangeRead:
    """Changes since each object's watermark minus the overlap, in one composite call.

    Each page goes to ``sink`` as it arrives; nothing here keeps the records.
    """

    def change(sobject: str, fields: list[str]) -> str:
        return pull_soql(
            sobject,
            fields,
            since=since[sobject],
            overlap=options.overlap,
            watermark_field=WATERMARK,
        )

    account_fields = [*mapping.account_fields(), *_merge(mapping)]
    opportunity_fields = [*mapping.opportunity_fields(), "IsDeleted"]
    queries = {
        mapping.user.sobject: (change(mapping.user.sobject, mapping.user_fields()), False),
        mapping.account.sobject: (change(mapping.account.sobject, account_fields), True),
        mapping.opportunity.sobject: (
            change(mapping.opportunity.sobject, opportunity_fields),
            True,
        ),
    }
    sources = {s.sobject: s for s in mapping.opportunity.sources}
    for name, source in sources.items():  # which deals' rows changed (deletes included)
        queries[name] = (change(name, [source.parent_field]), True)
    task_object = mapping.task.sobject
    if tasks is not None:
        queries[task_object] = (task_soql(mapping, tasks, options.overlap), False)
    pages, asked_at = change_pages(client, queries)
    out = ChangeRead(read={}, watermarks={})
    changed, deleted = 0, 0
    touched: dict[str, set[str]] = {name: set() for name in sources}
    for name, (total, first) in pages.items():
        answer: Iterator[Page] = first
        if options.bulk_threshold is not None and total > options.bulk_threshold:
            # A burst of changes (the echo of a first cycle, a mass update) is a full
            # load in all but name: Bulk API reads it in far fewer calls.
            log.info("pull.changes_bulk", sobject=name, records=total)
            sample, rest = sampled(first)
            bulk = client.bulk_query_pages(
                queries[name][0],
                include_deleted=queries[name][1],
                page_records=options.bulk_page_records,
                row_bytes=csv_row_bytes(sample),
            )
            answer = bulk_or_rest(name, bulk, rest)
        count = 0
        for page in answer:
            count += len(page)
            live: Page = []
            gone: dict[str, str | None] = {}
            if name == task_object:
                out.tasks.extend(page)
                continue
            for record in page:
                note_watermark(out.watermarks, name, record.get(WATERMARK))
                if name in sources:
                    touched[name].add(str(record.get(sources[name].parent_field)))
                elif record.get("IsDeleted") is True:
                    gone[str(record["Id"])] = record.get("MasterRecordId")
                else:
                    live.append(_without(record, "IsDeleted", "MasterRecordId"))
            changed, deleted = changed + len(live), deleted + len(gone)
            sink(name, live, gone)
        out.read[name] = count
    if asked_at is not None:
        # Next time from when this read ran (less the overlap), not from the newest row:
        # rows changed just before it are then re-read once, not at every idle cycle.
        for name in queries:
            mark = out.watermarks.get(name)
            out.watermarks[name] = max(mark, asked_at) if mark else asked_at
    for name, deals in touched.items():  # their rows now: one query per chunk of deals
        if deals:
            found = read_rows(client, sources[name], sorted(deals))
            out.related[sources[name].key] = {deal: found.get(deal) for deal in deals}
    log.info("pull.changes", read=out.read, changed=changed, deleted=deleted)
    return out


def _merge(mapping: FieldMapping) -> list[str]:
    # Salesforce marks an account lost in a merge with the winner's Id.
    return (
        ["IsDeleted", "MasterRecordId"] if mapping.account.sobject == "Account" else ["IsDeleted"]
    )


def _without(record: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in names}


# -- helpers ----------------------------------------------------------------------------


def note_watermark(marks: dict[str, datetime], sobject: str, value: Any) -> None:
    if not isinstance(value, str):
        return
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return
    if stamp.tzinfo is not None and (sobject not in marks or stamp > marks[sobject]):
        marks[sobject] = stamp
