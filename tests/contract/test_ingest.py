"""Bulk API 2.0 ingest through the org client: `responses` plays Salesforce.

Call counts are exact: a job is create + upload + close + P polls + one call per
non-empty results file.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

import pytest
import responses

from syncd.errors import FatalSyncError, RetriableError
from syncd.salesforce import OrgClient
from syncd.salesforce.ingest import (
    UNPROCESSED,
    BulkIngestFailed,
    BulkIngestTimeout,
    IngestOptions,
    WriteJob,
    run,
)
from syncd.salesforce.ingest_csv import cell, chunks, columns, parse_error
from syncd.salesforce.results import RecordFailure
from syncd.salesforce.writes import write_records
from syncd.sfid import make_id
from tests.contract.fake_ingest import INGEST, FakeIngest
from tests.contract.fakeorg import TOKEN_URL, api_calls, sf_error

FAST = IngestOptions(poll_seconds=0)
VALIDATION = "FIELD_CUSTOM_VALIDATION_EXCEPTION:Close Date cannot be in the past:CloseDate --"


def deals(n: int) -> list[dict[str, Any]]:
    return [
        {"Id": make_id("006", i), "RoE_Status__c": "Compliant", "RoE_Comp_Eligible__c": True}
        for i in range(1, n + 1)
    ]


def refuse_ids(*ids: str) -> Any:
    return lambda row: VALIDATION if row["Id"] in ids else None


def ingest(client: OrgClient, records: list[dict[str, Any]], **job: Any) -> list[Any]:
    spec = WriteJob(job.pop("sobject", "Opportunity"), **job)
    return client.bulk_ingest(spec, records, FAST)


# -- the job, call by call ----------------------------------------------------------------


@pytest.mark.parametrize("polls", [1, 3])
def test_5000_updates_with_refusals_cost_3_plus_polls_plus_2_calls(
    client: OrgClient, org: responses.RequestsMock, polls: int
) -> None:
    records = deals(5000)
    refused = {7, 2500, 4999}
    fake = FakeIngest(org, polls=polls, refuse=refuse_ids(*(records[i]["Id"] for i in refused)))
    results = write_records(client, "Opportunity", records, ingest_options=FAST)
    assert fake.requests() == [
        "POST jobs/ingest",
        "PUT jobs/ingest/{id}/batches",
        "PATCH jobs/ingest/{id}",
        *["GET jobs/ingest/{id}"] * polls,
        "GET jobs/ingest/{id}/successfulResults",
        "GET jobs/ingest/{id}/failedResults",
    ]
    assert client.calls == {"bulk_ingest": 3 + polls + 2}
    assert [r.index for r in results] == list(range(5000))
    assert [r.id for r in results] == [r["Id"] for r in records]
    assert {i for i, r in enumerate(results) if not r.success} == refused
    failure = results[2500].errors
    assert failure == (
        RecordFailure(
            "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Close Date cannot be in the past", ("CloseDate",)
        ),
    )
    assert all(r.created is None for r in results)


def test_a_clean_job_reads_only_its_successful_results(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    fake = FakeIngest(org)
    results = ingest(client, deals(2000))
    assert all(r.success for r in results)
    assert fake.requests()[-1] == "GET jobs/ingest/{id}/successfulResults"
    assert client.calls == {"bulk_ingest": 5}


def test_the_job_is_created_for_the_operation_and_closed(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    FakeIngest(org)
    tasks = [{"RoE_Key__c": f"K-{n}", "Subject": "Poached deal"} for n in range(3)]
    ingest(client, tasks, sobject="Task", operation="upsert", external_id="RoE_Key__c")
    sent = api_calls(org)
    create, close = json.loads(sent[0].request.body), json.loads(sent[2].request.body)
    assert create == {
        "operation": "upsert",
        "object": "Task",
        "contentType": "CSV",
        "externalIdFieldName": "RoE_Key__c",
        "columnDelimiter": "COMMA",
        "lineEnding": "LF",
    }
    assert close == {"state": "UploadComplete"}
    assert sent[1].request.headers["Content-Type"] == "text/csv; charset=UTF-8"


def test_upsert_results_say_which_records_were_created(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    FakeIngest(org, created=lambda row: row["RoE_Key__c"] != "K-1")
    tasks = [{"RoE_Key__c": f"K-{n}", "Subject": f"Task {n}"} for n in range(3)]
    results = ingest(client, tasks, sobject="Task", operation="upsert", external_id="RoE_Key__c")
    assert [r.created for r in results] == [True, False, True]
    assert all(r.success and r.id and r.id.startswith("00T") for r in results)


def test_insert_matches_results_by_the_whole_row_duplicates_included(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    FakeIngest(
        org,
        refuse=lambda row: (
            "REQUIRED_FIELD_MISSING:Subject:Subject --" if row["Subject"] == "" else None
        ),
    )
    tasks = [{"Subject": "Same"}, {"Subject": "Same"}, {"Subject": None}, {"Status": "Open"}]
    results = ingest(client, tasks, sobject="Task", operation="insert")
    assert [r.success for r in results] == [True, True, True, False]
    assert results[3].errors[0].code == "REQUIRED_FIELD_MISSING"


# -- jobs that do not complete ----------------------------------------------------------


def test_a_failed_job_raises_with_every_record_unprocessed(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    fake = FakeIngest(
        org, end="Failed", processed=0, error="InvalidBatch : Field name not found : Foo__c"
    )
    with pytest.raises(BulkIngestFailed) as caught:
        ingest(client, deals(4))
    error = caught.value
    assert isinstance(error, FatalSyncError)
    assert "ended Failed: InvalidBatch : Field name not found : Foo__c" in str(error)
    assert [r.errors[0].code for r in error.results] == [UNPROCESSED] * 4
    assert "job 750000000000000001 ended Failed" in error.results[0].errors[0].message
    assert fake.requests()[-1] == "GET jobs/ingest/{id}/unprocessedrecords"
    assert client.calls == {"bulk_ingest": 5}


def test_an_aborted_job_reports_processed_refused_and_unprocessed_records(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    records = deals(5)
    FakeIngest(org, end="Aborted", processed=3, refuse=refuse_ids(records[1]["Id"]))
    with pytest.raises(BulkIngestFailed) as caught:
        ingest(client, records)
    results = caught.value.results
    assert [r.success for r in results] == [True, False, True, False, False]
    assert [r.errors[0].code for r in results if not r.success] == [
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        UNPROCESSED,
        UNPROCESSED,
    ]
    assert client.calls == {"bulk_ingest": 3 + 1 + 3}


def test_a_job_still_running_at_the_deadline_is_aborted(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    fake = FakeIngest(org, polls=10**6, processed=0)
    options = IngestOptions(poll_seconds=0, max_polls=3)
    with pytest.raises(BulkIngestTimeout) as caught:
        client.bulk_ingest(WriteJob("Opportunity"), deals(2), options)
    assert isinstance(caught.value, RetriableError)
    assert "aborted by syncd: still running after 3 polls" in str(caught.value)
    assert json.loads(org.calls[-4].request.body) == {"state": "Aborted"}
    assert fake.requests()[3:] == [
        *["GET jobs/ingest/{id}"] * 3,
        "PATCH jobs/ingest/{id}",
        "GET jobs/ingest/{id}/successfulResults",
        "GET jobs/ingest/{id}/failedResults",
        "GET jobs/ingest/{id}/unprocessedrecords",
    ]
    assert all(r.errors[0].code == UNPROCESSED for r in caught.value.results)


def test_a_record_no_result_names_is_unprocessed(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    FakeIngest(org, drop=1)
    results = ingest(client, deals(3))
    assert sorted(r.success for r in results) == [False, True, True]
    missing = next(r for r in results if not r.success)
    assert missing.errors[0].code == UNPROCESSED
    assert "no result of its job names it" in missing.errors[0].message


# -- uploads split by size ----------------------------------------------------------------


def test_more_data_than_one_upload_takes_several_jobs_submitted_before_waiting(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    records = deals(30)
    fake = FakeIngest(org, refuse=refuse_ids(records[25]["Id"]))
    size = len(fake_upload_of(records[:10]).encode())
    options = IngestOptions(poll_seconds=0, max_upload_bytes=size)
    results = client.bulk_ingest(WriteJob("Opportunity"), records, options)
    assert [len(u.splitlines()) - 1 for u in fake.uploads()] == [10, 10, 10]
    assert all(len(u.encode()) <= size for u in fake.uploads())
    assert (
        fake.requests()[:9]
        == ["POST jobs/ingest", "PUT jobs/ingest/{id}/batches", "PATCH jobs/ingest/{id}"] * 3
    )
    assert [r.id for r in results] == [r["Id"] for r in records]
    assert [i for i, r in enumerate(results) if not r.success] == [25]
    assert client.calls == {"bulk_ingest": 3 * 5 + 1}  # the third job also read failedResults


def fake_upload_of(records: list[dict[str, Any]]) -> str:
    header = columns(records, "Id")
    return next(chunks(records, header, 10**9)).text


def test_a_record_larger_than_an_upload_is_refused_before_any_call(client: OrgClient) -> None:
    options = IngestOptions(max_upload_bytes=40)
    with pytest.raises(ValueError, match="record #0 alone is larger than an upload"):
        client.bulk_ingest(WriteJob("Opportunity"), deals(1), options)
    assert client.calls == {}


# -- the client's machinery applies to every step ------------------------------------------


def test_an_expired_session_mid_job_reauthenticates_and_goes_on(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.get(f"{INGEST}/750000000000000001", status=401, json=sf_error("INVALID_SESSION_ID"))
    FakeIngest(org)
    assert all(r.success for r in ingest(client, deals(2)))
    assert len([c for c in org.calls if c.request.url == TOKEN_URL]) == 2
    assert client.calls == {"bulk_ingest": 6}


def test_a_5xx_on_upload_is_retried(client: OrgClient, org: responses.RequestsMock) -> None:
    org.put(f"{INGEST}/750000000000000001/batches", status=503, json=sf_error("SERVER_UNAVAILABLE"))
    FakeIngest(org)
    assert all(r.success for r in ingest(client, deals(2)))
    assert client.calls == {"bulk_ingest": 6}


def test_an_upload_answered_without_201_is_a_classified_error(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.put(f"{INGEST}/750000000000000001/batches", status=200, body="")
    FakeIngest(org)
    with pytest.raises(FatalSyncError, match="the upload failed"):
        ingest(client, deals(2))


def test_a_job_created_in_another_state_is_fatal(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.post(INGEST, json={"id": "750000000000000001", "state": "Failed"})
    with pytest.raises(FatalSyncError, match="is not Open"):
        ingest(client, deals(2))


def test_a_refused_job_creation_is_classified(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.post(INGEST, status=400, json=sf_error("INVALIDJOB", "Unable to find object: Foo"))
    with pytest.raises(FatalSyncError, match="INVALIDJOB: Unable to find object"):
        ingest(client, deals(2))
    assert client.calls == {"bulk_ingest": 1}


def test_results_with_other_columns_are_fatal(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.get(f"{INGEST}/750000000000000001/successfulResults", body='"sf__Id","Name"\n"x","y"\n')
    FakeIngest(org)
    with pytest.raises(FatalSyncError, match="not the uploaded"):
        ingest(client, deals(2))


def test_records_the_operation_cannot_write_are_refused_before_any_call(
    client: OrgClient,
) -> None:
    with pytest.raises(ValueError, match="record #1 has no Id"):
        ingest(client, [{"Id": make_id("006", 1)}, {"Name": "no id"}])
    with pytest.raises(ValueError, match="record #0, field Amount: a dict cannot be written"):
        ingest(client, [{"Id": make_id("006", 1), "Amount": {"x": 1}}])
    with pytest.raises(ValueError, match="an upsert needs external_id"):
        WriteJob("Task", "upsert")
    assert client.calls == {}


def test_polls_back_off_by_the_growth_factor_up_to_the_cap(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    FakeIngest(org, polls=6)
    waits: list[float] = []
    options = IngestOptions(poll_seconds=1, poll_growth=2, max_poll_seconds=5)
    run(client._call, WriteJob("Opportunity"), deals(1), options, sleep=waits.append)
    assert waits == [1, 2, 4, 5, 5]


# -- CSV -------------------------------------------------------------------------------------


class Lead(StrEnum):
    PARTNER = "Partner"


def test_values_are_encoded_exactly() -> None:
    moment = datetime(2026, 12, 1, 10, 30, 5, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert [cell(v) for v in (None, "", True, False, 7, 1e16, 0.1, 12500.5)] == [
        "#N/A",
        "#N/A",
        "true",
        "false",
        "7",
        "10000000000000000",
        "0.1",
        "12500.5",
    ]
    assert cell(date(2026, 12, 1)) == "2026-12-01"
    assert cell(moment) == "2026-12-01T09:30:05.123Z"
    assert cell('Line 1\n"Line 2", with a comma') == 'Line 1\n"Line 2", with a comma'
    assert type(cell(Lead.PARTNER)) is str and cell(Lead.PARTNER) == "Partner"
    for bad in (datetime(2026, 12, 1), float("nan"), [1], "#N/A"):
        with pytest.raises(ValueError):
            cell(bad)


def test_an_upload_round_trips_through_a_csv_reader() -> None:
    description = 'Partner "P1" was displaced,\nsee the deal.\r\nSecond paragraph: ünïcødé'
    records = [
        {
            "Id": make_id("006", 1),
            "RoE_Reason__c": None,
            "Amount": 1e16,
            "Description": description,
        },
        {"Id": make_id("006", 2), "RoE_Comp_Eligible__c": False, "CloseDate": date(2027, 1, 31)},
    ]
    header = columns(records, "Id")
    upload = next(chunks(records, header, 10**6)).text
    parsed = list(csv.reader(io.StringIO(upload, newline="")))
    assert parsed == [
        ["Id", "RoE_Reason__c", "Amount", "Description", "RoE_Comp_Eligible__c", "CloseDate"],
        [make_id("006", 1), "#N/A", "10000000000000000", description, "", ""],
        [make_id("006", 2), "", "", "", "false", "2027-01-31"],
    ]
    assert upload.count("\n") > 3  # the line breaks inside Description are quoted, not rows


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            VALIDATION,
            RecordFailure(
                "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                "Close Date cannot be in the past",
                ("CloseDate",),
            ),
        ),
        (
            "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
            RecordFailure(
                "REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ("Name",)
            ),
        ),
        (
            "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record: --",
            RecordFailure("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"),
        ),
        (
            "DUPLICATE_VALUE:duplicate value: a, b",
            RecordFailure("DUPLICATE_VALUE", "duplicate value: a, b"),
        ),
        ("something odd", RecordFailure("UNKNOWN", "something odd")),
    ],
)
def test_sf_error_cells_parse_into_code_message_and_fields(
    text: str, expected: RecordFailure
) -> None:
    assert parse_error(text) == expected


def test_a_utc_datetime_is_written_with_milliseconds_and_z() -> None:
    assert cell(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000Z"


def test_the_token_is_never_in_an_error(client: OrgClient, org: responses.RequestsMock) -> None:
    org.post(INGEST, status=500, json=sf_error("UNKNOWN_EXCEPTION"))
    with pytest.raises(RetriableError) as caught:
        ingest(client, deals(1))
    assert "very-secret-token" not in str(caught.value)
