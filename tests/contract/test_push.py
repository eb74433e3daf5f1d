"""The results of one joint push, split between the flags and the Tasks."""

from __future__ import annotations

from syncd.salesforce.push import FailedRecord, Written
from syncd.salesforce.results import RecordResult


def test_taking_the_tasks_results_leaves_the_flags_results_in_place() -> None:
    written = Written(
        landed={
            "006A": RecordResult(0, "006A", True),
            "006B": RecordResult(1, "006B", True),
            "006A:ROE_POACH": RecordResult(0, "00T1", True, created=True),
        },
        failures=[
            FailedRecord("006C", 2, "UNABLE_TO_LOCK_ROW", "locked"),
            FailedRecord("006C:ROE_POACH", 1, "INVALID_FIELD", "no"),
        ],
        failed_refs={"006C", "006C:ROE_POACH"},
    )
    flags = written.landed
    tasks = written.take({"006A:ROE_POACH", "006C:ROE_POACH", "006Z:GONE"})
    assert set(tasks.landed) == {"006A:ROE_POACH"} and tasks.landed["006A:ROE_POACH"].id == "00T1"
    assert [f.record_id for f in tasks.failures] == ["006C:ROE_POACH"]
    assert tasks.failed_refs == {"006C:ROE_POACH"}
    assert written.landed is flags and set(flags) == {"006A", "006B"}  # not copied
    assert [f.record_id for f in written.failures] == ["006C"] and written.failed_refs == {"006C"}
    assert written.attempted == 3 and tasks.attempted == 2
