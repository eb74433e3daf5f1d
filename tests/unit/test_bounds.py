"""The true call bound of a cycle (``syncd.salesforce.bounds``): one formula per API."""

from __future__ import annotations

import pytest

from syncd.salesforce.bounds import (
    INGEST_UPLOAD_BYTES,
    cycle_bound,
    ingest_jobs,
    read_bound,
)


@pytest.mark.parametrize(
    ("csv_bytes", "jobs"),
    [(0, 1), (1, 1), (INGEST_UPLOAD_BYTES, 1), (INGEST_UPLOAD_BYTES + 1, 2), (300_000_000, 3)],
)
def test_an_ingest_job_takes_one_upload_of_at_most_150_mb_base64(csv_bytes: int, jobs: int) -> None:
    assert ingest_jobs(csv_bytes) == jobs


def test_a_write_set_too_big_for_one_upload_needs_a_job_per_upload() -> None:
    read = {"Opportunity": 1}  # the first pages: one composite call
    assert read_bound(read) == 1
    # 900,000 updates: Bulk is cheapest (5 a job); 120 MB of CSV needs two jobs
    assert cycle_bound(read, [900_000]) == 1 + 5
    assert cycle_bound(read, [900_000], upload_bytes=[120_000_000]) == 1 + 10
    # sizes given for the first sets only: the rest count as one job each
    assert cycle_bound(read, [900_000, 600], upload_bytes=[120_000_000]) == 1 + 10 + 1
    # a set small enough for Collections ignores its upload size
    assert cycle_bound(read, [150], upload_bytes=[500_000_000]) == 1 + 1
