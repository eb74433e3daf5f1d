"""The sandbox org's data: records per sObject, Ids, audit fields, unique external ids.

One lock guards everything (the HTTP server runs handlers on several threads and tests
edit the org "in the UI" at the same time). Records are stored in Salesforce's JSON
form with every schema field present. ``SystemModstamp`` never goes backwards and, as in
Salesforce, writes in the same millisecond share it (so watermark queries use ``>=``).

Deleting keeps a tombstone (IsDeleted=true, audit fields moved) in a table of its own:
``query`` never sees tombstones, ``query(include_deleted=True)`` (queryAll) does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from syncd.sandbox.org_support import (
    CASCADE,
    Transaction,
    UndoLog,
    check_merge,
    failed,
    fault_error,
    given_value,
    id18,
    load_id,
    merge_references,
    raise_on,
    tombstone,
)
from syncd.sandbox.records import (
    SYSTEM_NAMES,
    RecordErrors,
    blank_record,
    clean_fields,
    error,
    missing_required,
)
from syncd.sandbox.schema import CLOSED_TASK_STATUSES, SCHEMA, ObjectSchema
from syncd.sandbox.schema import object_schema as find_object
from syncd.sandbox.soql_eval import CompiledQuery
from syncd.sandbox.values import format_datetime
from syncd.sfid import make_id

# Who the org says made a change: the API (syncd's integration user) or an admin in the UI.
INTEGRATION_USER_ID = make_id("005", 999_000_001)
ADMIN_USER_ID = make_id("005", 999_000_002)
ORG_ID = make_id("00D", 1)
_GENERATED_BASE = 5_000_000_000  # far from the counters the datasets use

Forced = Callable[[str], str | None]  # id -> an error code a fault injects, or None
Result = dict[str, Any]


class DatasetLike(Protocol):
    @property
    def records(self) -> Mapping[str, Sequence[Mapping[str, Any]]]: ...


def _no_fault(record_id: str) -> str | None:
    return None


class SandboxOrg:
    """An in-memory org holding Account, Opportunity, User, Task and OpportunityPartner."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._data: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in SCHEMA}
        self._where: dict[str, str] = {}  # id -> sobject, live records only
        self._tombs: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in SCHEMA}
        self._deleted: dict[str, str] = {}  # id -> sobject, tombstones only
        self._arrival: dict[str, int] = {}  # id -> first-stored order, kept across rollback
        self._unique: dict[tuple[str, str], dict[Any, str]] = {
            (o.name, f): {} for o in SCHEMA.values() for f in o.unique_fields
        }
        self._next_number: dict[str, int] = {}
        self._last_stamp = datetime(2000, 1, 1, tzinfo=UTC)
        self._undo: UndoLog | None = None

    # -- admin / test API ---------------------------------------------------------------

    def load(self, dataset: DatasetLike | Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        """Add a dataset's records (``Id`` kept or generated, audit fields set)."""
        records = dataset.records if hasattr(dataset, "records") else dataset
        with self._lock:
            for sobject, rows in records.items():
                obj = self._schema(sobject)
                for index, row in enumerate(rows):
                    self._load_one(obj, row, f"{obj.name} record #{index}")

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        obj = self._schema(sobject)
        with self._lock:
            record = self._data[obj.name].get(id18(record_id) or "")
            return dict(record) if record is not None else None

    def records(self, sobject: str) -> list[dict[str, Any]]:
        obj = self._schema(sobject)
        with self._lock:
            return [dict(r) for r in self._data[obj.name].values()]

    def create(self, sobject: str, fields: Mapping[str, Any]) -> str:
        """Create a record as an admin would; returns its new 18-char Id."""
        obj = self._schema(sobject)
        with self._lock:
            return self._load_one(obj, fields, f"new {obj.name}", admin_edit=True)

    def update(
        self, sobject: str, record_id: str, fields: Mapping[str, Any], *, by: str = ADMIN_USER_ID
    ) -> None:
        """A person's edit in the UI (an admin unless ``by`` says who): audit fields move."""
        obj = self._schema(sobject)
        with self._lock:
            current = self._require(obj, record_id)
            cleaned, errors = clean_fields(obj, fields, creating=False, admin=True)
            if "Id" in fields or "id" in fields:
                errors.append(error("INVALID_FIELD_FOR_INSERT_UPDATE", "Id cannot change"))
            raise_on(errors, f"update of {obj.name} {record_id}")
            errors = self._unique_errors(obj, cleaned, current["Id"])
            raise_on(errors, f"update of {obj.name} {record_id}")
            self._put(obj, {**current, **cleaned}, by, created=False)

    def delete(self, sobject: str, record_id: str) -> None:
        """An admin delete in the UI: leaves a tombstone; an Account takes its deals along."""
        obj = self._schema(sobject)
        with self._lock:
            self._remove(obj.name, self._require(obj, record_id)["Id"], ADMIN_USER_ID)

    def merge(self, sobject: str, master_id: str, losing_ids: Sequence[str]) -> None:
        """Merge Accounts as an admin would: related records move to the master, then the
        losers are deleted, their tombstones naming the master in MasterRecordId."""
        obj = self._schema(sobject)
        with self._lock:
            master = self._require(obj, master_id)["Id"]
            losers = [self._require(obj, raw)["Id"] for raw in losing_ids]
            check_merge(obj.name, master, losers)
            for name, field in merge_references(obj.name):
                self._repoint(name, field, set(losers), master)
            # Salesforce stamps the master too: a merge is an edit of it.
            self._put(obj, dict(self._data[obj.name][master]), ADMIN_USER_ID)
            for loser in losers:
                self._remove(obj.name, loser, ADMIN_USER_ID, master=master)

    def sobject_of(self, record_id: str) -> str | None:
        """Which object holds this Id now (None when absent or malformed)."""
        with self._lock:
            return self._where.get(id18(record_id) or "")

    def was_deleted(self, record_id: str) -> bool:
        with self._lock:
            return (id18(record_id) or "") in self._deleted

    # -- API operations -------------------------------------------------------------------

    def query(self, compiled: CompiledQuery, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Run a compiled query; the result is a snapshot (fresh dicts of scalars).

        ``include_deleted`` is queryAll: tombstones match the WHERE clause like live rows.
        """
        with self._lock:
            rows: Iterable[dict[str, Any]] = self._data[compiled.sobject].values()
            if include_deleted:
                rows = [*rows, *self._tombs[compiled.sobject].values()]
            return compiled.run(rows)

    def write(
        self,
        operation: str,
        sobject: str | None,
        records: Sequence[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
        forced: Forced = _no_fault,
        external_id: str | None = None,
    ) -> list[Result]:
        """create / update / upsert records; one result per record, in request order.

        ``sobject`` None takes each record's type from its ``attributes.type`` (a
        Collections request may mix objects).
        """
        fixed = self._schema(sobject) if sobject else None
        step = {"create": self._create_one, "update": self._update_one}.get(operation)
        with self._lock, self._transaction(all_or_none) as results:
            for record in records:
                obj = fixed or self._schema(str(record.get("attributes", {}).get("type")))
                if operation == "upsert":
                    results.append(self._upsert_one(obj, record, external_id or "", forced))
                else:
                    assert step is not None, operation
                    results.append(step(obj, record, forced))
        return results

    def delete_ids(
        self, ids: Sequence[str], *, all_or_none: bool = False, forced: Forced = _no_fault
    ) -> list[Result]:
        with self._lock, self._transaction(all_or_none) as results:
            for raw in ids:
                results.append(self._delete_one(raw, forced))
        return results

    # -- one record -------------------------------------------------------------------------

    def _create_one(self, obj: ObjectSchema, values: Mapping[str, Any], forced: Forced) -> Result:
        if values.get("Id") or values.get("id"):
            return failed(
                None,
                [error("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call")],
            )
        cleaned, errors = clean_fields(obj, values, creating=True)
        record = blank_record(obj)
        if "OwnerId" in record:
            record["OwnerId"] = INTEGRATION_USER_ID  # the running user owns what it creates
        record.update(cleaned)
        errors = errors or missing_required(obj, record) or self._unique_errors(obj, cleaned, None)
        if errors:
            return failed(None, errors)
        record["Id"] = self._new_id(obj)
        self._put(obj, record, INTEGRATION_USER_ID, created=True)
        return {"id": record["Id"], "success": True, "errors": []}

    def _update_one(self, obj: ObjectSchema, values: Mapping[str, Any], forced: Forced) -> Result:
        raw = values.get("Id") or values.get("id")
        record_id = id18(raw) if isinstance(raw, str) else None
        if record_id is None:
            return failed(raw, [error("MALFORMED_ID", f"malformed id {raw!r}", ["Id"])])
        missing = self._missing(obj, record_id)
        if missing:
            return failed(record_id, missing)
        code = forced(record_id)
        if code:
            return failed(record_id, [fault_error(code, record_id)])
        cleaned, errors = clean_fields(obj, values, creating=False)
        errors = errors or self._unique_errors(obj, cleaned, record_id)
        if errors:
            return failed(record_id, errors)
        self._put(obj, {**self._data[obj.name][record_id], **cleaned}, INTEGRATION_USER_ID)
        return {"id": record_id, "success": True, "errors": []}

    def _upsert_one(
        self, obj: ObjectSchema, values: Mapping[str, Any], key: str, forced: Forced
    ) -> Result:
        value = values.get(key)
        existing = self._unique[(obj.name, key)].get(value) if value not in (None, "") else None
        code = forced(str(value)) if existing is None and value not in (None, "") else None
        if value in (None, ""):
            result = failed(None, [error("REQUIRED_FIELD_MISSING", f"missing {key}", [key])])
        elif code:  # a fault armed for this key: the create is refused (a validation rule)
            result = failed(None, [fault_error(code, str(value))])
        elif existing is None:
            result = self._create_one(obj, values, forced)
        else:
            result = self._update_one(obj, {**values, "Id": existing}, forced)
        result["created"] = existing is None and result["success"]
        return result

    def _delete_one(self, raw: str, forced: Forced) -> Result:
        record_id = id18(raw)
        if record_id is None:
            return failed(raw, [error("MALFORMED_ID", f"malformed id {raw!r}")])
        sobject = self._where.get(record_id)
        if sobject is None:
            return failed(record_id, self._missing(None, record_id))
        code = forced(record_id)
        if code:
            return failed(record_id, [fault_error(code, record_id)])
        self._remove(sobject, record_id, INTEGRATION_USER_ID)
        return {"id": record_id, "success": True, "errors": []}

    # -- storage primitives ---------------------------------------------------------------

    def _transaction(self, all_or_none: bool) -> Transaction:
        return Transaction(self, all_or_none)

    def _put(
        self, obj: ObjectSchema, record: dict[str, Any], user: str, *, created: bool = False
    ) -> None:
        stamp = self._stamp()
        if created:
            record.setdefault("CreatedDate", stamp)
            record["CreatedDate"] = record["CreatedDate"] or stamp
            record["CreatedById"] = record.get("CreatedById") or user
        record.update(SystemModstamp=stamp, LastModifiedDate=stamp, LastModifiedById=user)
        if obj.name == "Task":
            record["IsClosed"] = record.get("Status") in CLOSED_TASK_STATUSES
        self._store(obj.name, record["Id"], record)

    def _store(self, sobject: str, record_id: str, record: dict[str, Any] | None) -> None:
        """The one place live records change, so the undo log and indexes stay in step."""
        table = self._data[sobject]
        previous = table.get(record_id)
        if self._undo is not None:
            self._undo.append(("live", sobject, record_id, previous))
        for (name, field), index in self._unique.items():
            if name != sobject:
                continue
            if previous is not None and previous.get(field) is not None:
                index.pop(previous[field], None)
            if record is not None and record.get(field) is not None:
                index[record[field]] = record_id
        if record is None:
            table.pop(record_id, None)
            self._where.pop(record_id, None)
        else:
            table[record_id] = record
            self._where[record_id] = sobject
            self._arrival.setdefault(record_id, len(self._arrival))

    def _bury(self, sobject: str, record_id: str, tomb: dict[str, Any] | None) -> None:
        """The one place tombstones change (None: the record is not deleted)."""
        table = self._tombs[sobject]
        if self._undo is not None:
            self._undo.append(("dead", sobject, record_id, table.get(record_id)))
        if tomb is None:
            table.pop(record_id, None)
            self._deleted.pop(record_id, None)
        else:
            table[record_id] = tomb
            self._deleted[record_id] = sobject

    def _remove(
        self, sobject: str, record_id: str, user: str, *, master: str | None = None
    ) -> None:
        """Delete a live record and its cascade, children first; each leaves a tombstone."""
        for child, field in CASCADE.get(sobject, ()):
            doomed = [i for i, r in self._data[child].items() if r.get(field) == record_id]
            for child_id in doomed:
                self._remove(child, child_id, user)
        record = self._data[sobject][record_id]
        self._store(sobject, record_id, None)  # also frees its unique values
        self._bury(sobject, record_id, tombstone(record, self._stamp(), user, master))

    def _repoint(self, sobject: str, field: str, losers: set[str], master: str) -> None:
        obj = self._schema(sobject)
        moving = [r for r in self._data[sobject].values() if r.get(field) in losers]
        for record in moving:
            # The master's own link to a loser (its ParentId) would point it at itself.
            value = None if record["Id"] == master else master
            self._put(obj, {**record, field: value}, ADMIN_USER_ID)

    def _rollback(self, log: UndoLog) -> None:
        revived: set[str] = set()
        for table, sobject, record_id, previous in reversed(log):
            if table == "dead":
                self._bury(sobject, record_id, previous)
                continue
            if previous is not None and record_id not in self._data[sobject]:
                revived.add(sobject)
            self._store(sobject, record_id, previous)
        for sobject in revived:  # an undone delete goes back to its place, not the end
            rows = self._data[sobject]
            self._data[sobject] = dict(sorted(rows.items(), key=lambda i: self._arrival[i[0]]))

    def _stamp(self) -> str:
        now = self._clock().astimezone(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        # Never backwards, and like Salesforce's, many writes may share a millisecond: a
        # strictly increasing stamp would run ahead of the clock under a bulk load.
        self._last_stamp = max(now, self._last_stamp)
        return format_datetime(self._last_stamp)

    def _new_id(self, obj: ObjectSchema) -> str:
        number = self._next_number.get(obj.key_prefix, _GENERATED_BASE)
        # Tombstone Ids stay taken: Salesforce never reuses an Id.
        while (candidate := make_id(obj.key_prefix, number)) in self._where or (
            candidate in self._deleted
        ):
            number += 1
        self._next_number[obj.key_prefix] = number + 1
        return make_id(obj.key_prefix, number)

    def _load_one(
        self, obj: ObjectSchema, row: Mapping[str, Any], what: str, *, admin_edit: bool = False
    ) -> str:
        given = {k: v for k, v in row.items() if k in SYSTEM_NAMES}
        fields = {k: v for k, v in row.items() if k not in SYSTEM_NAMES}
        cleaned, errors = clean_fields(obj, fields, creating=True, admin=True)
        raise_on(errors, what)
        record = {**blank_record(obj), **cleaned}
        record_id = load_id(obj, given.get("Id"), what) or self._new_id(obj)
        if record_id in self._where or record_id in self._deleted:
            raise ValueError(f"{what}: Id {record_id} is already in the org (or its recycle bin)")
        record["Id"] = record_id
        raise_on(self._unique_errors(obj, cleaned, None), what)
        if not admin_edit:  # a dataset may say when and by whom a record was made
            for name in ("CreatedDate", "CreatedById"):
                if given.get(name):
                    record[name] = given_value(obj, name, given[name], what)
        self._put(obj, record, ADMIN_USER_ID, created=True)
        return record_id

    # -- checks -----------------------------------------------------------------------------

    def _schema(self, sobject: str) -> ObjectSchema:
        obj = find_object(sobject)
        if obj is None:
            known = ", ".join(SCHEMA)
            raise ValueError(f"the sandbox org has no object {sobject!r} (it holds {known})")
        return obj

    def _require(self, obj: ObjectSchema, record_id: str) -> dict[str, Any]:
        record = self._data[obj.name].get(id18(record_id) or "")
        if record is None:
            raise KeyError(f"the sandbox org has no {obj.name} with Id {record_id!r}")
        return record

    def _missing(self, obj: ObjectSchema | None, record_id: str) -> RecordErrors:
        holder = self._where.get(record_id)
        if obj is not None and holder == obj.name:
            return []
        if record_id in self._deleted:
            return [error("ENTITY_IS_DELETED", "entity is deleted")]
        if holder is not None or (obj is not None and record_id[:3] != obj.key_prefix):
            return [error("MALFORMED_ID", f"{record_id} is not an Id of {obj and obj.name}")]
        return [error("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id {record_id}")]

    def _unique_errors(
        self, obj: ObjectSchema, cleaned: Mapping[str, Any], own_id: str | None
    ) -> RecordErrors:
        errors: RecordErrors = []
        for field in obj.unique_fields:
            value = cleaned.get(field)
            holder = self._unique[(obj.name, field)].get(value) if value is not None else None
            if holder is not None and holder != own_id:
                errors.append(
                    error(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {field} duplicates value on record with id: "
                        f"{holder}",
                        [field],
                    )
                )
        return errors
