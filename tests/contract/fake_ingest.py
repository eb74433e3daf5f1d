"""A fake Bulk API 2.0 ingest service on `responses`: it reads the uploaded CSV and answers
job states and results files the way Salesforce does (results in no particular order)."""

from __future__ import annotations

import csv
import io
import json
import random
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import responses

from tests.contract.fakeorg import DATA

INGEST = f"{DATA}/jobs/ingest"
_JOB = re.compile(rf"^{re.escape(INGEST)}/(?P<id>750\w+)$")
_UPLOAD = re.compile(rf"^{re.escape(INGEST)}/(?P<id>750\w+)/batches$")
_RESULTS = re.compile(
    rf"^{re.escape(INGEST)}/(?P<id>750\w+)/(?P<kind>successfulResults|failedResults|unprocessedrecords)$"
)
_ID = re.compile(r"750\w{15}")
Refuse = Callable[[dict[str, str]], str | None]  # a row -> its sf__Error, or None
Reply = tuple[int, dict[str, str], str]


@dataclass
class Job:
    id: str
    body: dict[str, Any]
    state: str = "Open"
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    polls: int = 0


@dataclass
class FakeIngest:
    """Knobs: ``polls`` (status calls up to the end), ``end`` (the final state),
    ``processed`` (records processed when the job fails or aborts), ``refuse``, ``drop``
    (success rows left out of the results, as when Salesforce records none)."""

    rsps: responses.RequestsMock
    polls: int = 1
    end: str = "JobComplete"
    processed: int | None = None
    error: str | None = None
    refuse: Refuse = lambda row: None
    drop: int = 0
    created: Callable[[dict[str, str]], bool] = lambda row: "Id" not in row
    jobs: dict[str, Job] = field(default_factory=dict)

    def __post_init__(self) -> None:
        add = self.rsps.add_callback
        add(responses.POST, INGEST, callback=self._create)
        add(responses.PUT, _UPLOAD, callback=self._upload)
        add(responses.PATCH, _JOB, callback=self._state)
        add(responses.GET, _JOB, callback=self._status)
        add(responses.GET, _RESULTS, callback=self._results)

    # -- what tests look at ----------------------------------------------------------------

    def requests(self) -> list[str]:
        """``METHOD path`` of every ingest request, the job id written as ``{id}``."""
        out = []
        for c in self.rsps.calls:
            if "/jobs/ingest" in c.request.url:
                path = _ID.sub("{id}", c.request.url.split("/v62.0/")[1])
                out.append(f"{c.request.method} {path}")
        return out

    def uploads(self) -> list[str]:
        return [
            c.request.body.decode() if isinstance(c.request.body, bytes) else c.request.body
            for c in self.rsps.calls
            if c.request.method == "PUT"
        ]

    # -- callbacks ----------------------------------------------------------------------------

    def _create(self, request: Any) -> Reply:
        body = json.loads(request.body)
        job = Job(id=f"750{len(self.jobs) + 1:015d}", body=body)
        self.jobs[job.id] = job
        return 200, {}, json.dumps({"id": job.id, "state": "Open", **body})

    def _upload(self, request: Any) -> Reply:
        job = self.jobs[_UPLOAD.match(request.url)["id"]]  # type: ignore[index]
        text = request.body.decode() if isinstance(request.body, bytes) else request.body
        reader = csv.reader(io.StringIO(text))
        job.header = next(reader)
        job.rows = list(reader)
        return 201, {}, ""

    def _state(self, request: Any) -> Reply:
        job = self.jobs[_JOB.match(request.url)["id"]]  # type: ignore[index]
        job.state = json.loads(request.body)["state"]
        return 200, {}, json.dumps({"id": job.id, "state": job.state})

    def _status(self, request: Any) -> Reply:
        job = self.jobs[_JOB.match(request.url)["id"]]  # type: ignore[index]
        job.polls += 1
        if job.polls < self.polls:
            return 200, {}, json.dumps({"id": job.id, "state": "InProgress"})
        job.state = self.end
        info: dict[str, Any] = {"id": job.id, "state": job.state}
        done, refused, _ = self._split(job)
        info.update(numberRecordsProcessed=len(done) + len(refused))
        info.update(numberRecordsFailed=len(refused))
        if self.error:
            info["errorMessage"] = self.error
        return 200, {}, json.dumps(info)

    def _results(self, request: Any) -> Reply:
        match = _RESULTS.match(request.url)
        assert match is not None
        job = self.jobs[match["id"]]
        done, refused, left = self._split(job)
        if match["kind"] == "successfulResults":
            header = ["sf__Id", "sf__Created", *job.header]
            rows = [[_id_of(job, r), self._created(job, r), *r] for r in done[self.drop :]]
        elif match["kind"] == "failedResults":
            header = ["sf__Id", "sf__Error", *job.header]
            rows = [[_id_of(job, r), error, *r] for r, error in refused]
        else:
            header, rows = job.header, left
        random.Random(7).shuffle(rows)  # Salesforce keeps no order
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerow(header)
        writer.writerows(rows)
        return 200, {"Content-Type": "text/csv"}, out.getvalue()

    def _created(self, job: Job, row: list[str]) -> str:
        return "true" if self.created(dict(zip(job.header, row, strict=True))) else "false"

    def _split(
        self, job: Job
    ) -> tuple[list[list[str]], list[tuple[list[str], str]], list[list[str]]]:
        limit = len(job.rows) if self.processed is None else self.processed
        done, refused = [], []
        for row in job.rows[:limit]:
            error = self.refuse(dict(zip(job.header, row, strict=True)))
            if error is None:
                done.append(row)
            else:
                refused.append((row, error))
        return done, refused, job.rows[limit:]


def _id_of(job: Job, row: list[str]) -> str:
    """The record's Id: the uploaded one, or one made from the row (for inserts/upserts)."""
    if "Id" in job.header:
        return row[job.header.index("Id")]
    return f"00T{zlib.crc32(chr(31).join(row).encode()):015d}"
