"""Deleted and merged records: tombstones, query vs queryAll, cascade, merge, rollback."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce

from syncd.sandbox import (
    ADMIN_USER_ID,
    INTEGRATION_USER_ID,
    SandboxOrg,
    SandboxServer,
)
from syncd.sandbox.soql_eval import compile_query
from syncd.sfid import make_id

ACCT = make_id("001", 1)
OTHER = make_id("001", 2)
DUPE = make_id("001", 3)
DEAL = make_id("006", 1)
DUPE_DEAL = make_id("006", 2)
OTHER_DEAL = make_id("006", 3)
TASK = make_id("00T", 1)


def _deal(record_id: str, account: str) -> dict[str, Any]:
    return {"Id": record_id, "Name": f"Deal {record_id[-4:]}", "AccountId": account,
            "StageName": "Prospecting", "CloseDate": "2026-12-01"}  # fmt: skip


@pytest.fixture
def org() -> SandboxOrg:
    ticks = itertools.count()  # a clock that moves a second per write: stamps tell order
    org = SandboxOrg(
        clock=lambda: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=next(ticks))
    )
    org.load(
        {
            "Account": [
                {"Id": ACCT, "Name": "Acme"},
                {"Id": OTHER, "Name": "Other"},
                {"Id": DUPE, "Name": "Acme (dupe)", "ParentId": OTHER},
            ],
            "Opportunity": [_deal(DEAL, ACCT), _deal(DUPE_DEAL, DUPE), _deal(OTHER_DEAL, OTHER)],
            "Task": [{"Id": TASK, "Subject": "Call", "WhatId": DUPE, "RoE_Key__c": "k1"}],
        }
    )
    return org


def ids(org: SandboxOrg, soql: str, *, all_rows: bool = False) -> list[str]:
    return [r["Id"] for r in org.query(compile_query(soql), include_deleted=all_rows)]


def tomb(org: SandboxOrg, sobject: str, record_id: str) -> dict[str, Any]:
    soql = "SELECT Id, IsDeleted, SystemModstamp, LastModifiedDate, LastModifiedById FROM "
    soql += f"{sobject} WHERE Id = '{record_id}'"
    if sobject == "Account":
        soql = soql.replace("SELECT Id,", "SELECT Id, MasterRecordId, ParentId,")
    (row,) = org.query(compile_query(soql), include_deleted=True)
    return row


# -- the org API ----------------------------------------------------------------------------


def test_query_hides_tombstones_and_query_all_shows_them(org: SandboxOrg) -> None:
    newest = max(r["SystemModstamp"] for r in org.query(compile_query(
        "SELECT SystemModstamp FROM Opportunity")))  # fmt: skip
    org.delete("Opportunity", DEAL)
    assert org.get("Opportunity", DEAL) is None and org.was_deleted(DEAL)
    assert ids(org, "SELECT Id FROM Opportunity") == [DUPE_DEAL, OTHER_DEAL]
    assert sorted(ids(org, "SELECT Id FROM Opportunity", all_rows=True)) == [
        DEAL, DUPE_DEAL, OTHER_DEAL]  # fmt: skip
    assert ids(org, "SELECT Id FROM Opportunity WHERE IsDeleted = true", all_rows=True) == [DEAL]
    assert ids(org, "SELECT Id FROM Opportunity WHERE IsDeleted = true") == []
    dead = tomb(org, "Opportunity", DEAL)
    assert dead["IsDeleted"] is True and dead["SystemModstamp"] >= newest
    assert dead["LastModifiedDate"] == dead["SystemModstamp"]
    assert dead["LastModifiedById"] == ADMIN_USER_ID
    # a watermark at the last live write sees exactly the delete on queryAll
    soql = f"SELECT Id FROM Opportunity WHERE SystemModstamp > {newest}"
    assert ids(org, soql, all_rows=True) == [DEAL] and ids(org, soql) == []
    assert [r["IsDeleted"] for r in org.records("Opportunity")] == [False, False]


def test_writes_to_a_deleted_record_fail_and_its_id_is_never_reused(org: SandboxOrg) -> None:
    org.delete("Task", TASK)
    (result,) = org.write("update", "Task", [{"Id": TASK, "Subject": "again"}])
    assert result["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    (again,) = org.delete_ids([TASK])
    assert again["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    with pytest.raises(KeyError, match="no Task"):
        org.delete("Task", TASK)
    with pytest.raises(ValueError, match="already in the org"):
        org.load({"Task": [{"Id": TASK, "Subject": "back"}]})


def test_unique_values_are_free_again_after_a_delete(org: SandboxOrg) -> None:
    (dupe,) = org.write("create", "Task", [{"RoE_Key__c": "k1", "Subject": "x"}])
    assert dupe["errors"][0]["statusCode"] == "DUPLICATE_VALUE"
    (deleted,) = org.delete_ids([TASK])
    assert deleted["success"]
    (created,) = org.write("upsert", "Task", [{"RoE_Key__c": "k1", "Subject": "new"}],
                           external_id="RoE_Key__c")  # fmt: skip
    assert created["success"] and created["created"] is True and created["id"] != TASK
    assert tomb(org, "Task", TASK)["LastModifiedById"] == INTEGRATION_USER_ID


def test_deleting_an_account_deletes_its_opportunities(org: SandboxOrg) -> None:
    (result,) = org.delete_ids([DUPE])
    assert result == {"id": DUPE, "success": True, "errors": []}
    assert org.get("Opportunity", DUPE_DEAL) is None and org.was_deleted(DUPE_DEAL)
    assert org.get("Opportunity", DEAL) is not None  # another account's deal stays
    deleted = "SELECT Id FROM Opportunity WHERE IsDeleted = true"
    assert ids(org, deleted, all_rows=True) == [DUPE_DEAL]
    assert tomb(org, "Opportunity", DUPE_DEAL)["IsDeleted"] is True
    assert org.get("Task", TASK) is not None  # its open Task is left for syncd to close


def test_all_or_none_undoes_a_delete_and_its_cascade_fully(org: SandboxOrg) -> None:
    before = {o: org.records(o) for o in ("Account", "Opportunity")}
    results = org.delete_ids([DUPE, make_id("001", 999)], all_or_none=True)
    assert [r["success"] for r in results] == [False, False]
    assert {o: org.records(o) for o in ("Account", "Opportunity")} == before
    assert not org.was_deleted(DUPE) and not org.was_deleted(DUPE_DEAL)
    assert ids(org, "SELECT Id FROM Account WHERE IsDeleted = true", all_rows=True) == []
    assert ids(org, "SELECT Id FROM Opportunity WHERE IsDeleted = true", all_rows=True) == []


def test_merge_repoints_children_and_names_the_master(org: SandboxOrg) -> None:
    start = max(r["SystemModstamp"] for r in org.query(compile_query(
        "SELECT SystemModstamp FROM Opportunity")))  # fmt: skip
    org.update("Account", ACCT, {"ParentId": DUPE})  # the master points at the loser
    org.merge("Account", ACCT, [DUPE[:15]])
    assert org.get("Account", DUPE) is None and org.was_deleted(DUPE)
    dead = tomb(org, "Account", DUPE)
    assert dead["IsDeleted"] is True and dead["MasterRecordId"] == ACCT
    deal, task = org.get("Opportunity", DUPE_DEAL), org.get("Task", TASK)
    assert deal and deal["AccountId"] == ACCT and deal["SystemModstamp"] >= start
    assert task and task["WhatId"] == ACCT and task["SystemModstamp"] >= start
    master = org.get("Account", ACCT)
    assert master and master["ParentId"] is None  # never its own parent
    assert not org.was_deleted(DUPE_DEAL)  # re-pointed before the loser went
    assert tomb(org, "Account", ACCT)["MasterRecordId"] is None
    # a watermark sync sees the moved deal (query) and the merged-away account (queryAll)
    moved = f"SELECT Id FROM Opportunity WHERE SystemModstamp > {start}"
    assert ids(org, moved) == [DUPE_DEAL]
    gone = "SELECT Id, MasterRecordId FROM Account WHERE IsDeleted = true"
    assert org.query(compile_query(gone), include_deleted=True) == [
        {"Id": DUPE, "MasterRecordId": ACCT}]  # fmt: skip


def test_merge_moves_an_accounts_child_accounts(org: SandboxOrg) -> None:
    org.merge("Account", ACCT, [OTHER])
    dupe = org.get("Account", DUPE)
    assert dupe and dupe["ParentId"] == ACCT
    deal = org.get("Opportunity", OTHER_DEAL)
    assert deal and deal["AccountId"] == ACCT


@pytest.mark.parametrize(
    ("sobject", "master", "losers", "problem"),
    [
        ("Opportunity", DEAL, [DUPE_DEAL], "merges only Account"),
        ("Account", ACCT, [ACCT], "must be different"),
        ("Account", ACCT, [], "1 to 2"),
        ("Account", ACCT, [OTHER, DUPE, make_id("001", 4)], "no Account"),
    ],
)
def test_merge_refusals_name_the_problem(
    org: SandboxOrg, sobject: str, master: str, losers: list[str], problem: str
) -> None:
    before = org.records("Account")
    with pytest.raises((ValueError, KeyError), match=problem):
        org.merge(sobject, master, losers)
    assert org.records("Account") == before


def test_merge_of_too_many_losers_is_refused(org: SandboxOrg) -> None:
    extra = org.create("Account", {"Name": "Third"})
    with pytest.raises(ValueError, match="1 to 2 losing records, got 3"):
        org.merge("Account", ACCT, [OTHER, DUPE, extra])
    assert org.get("Account", OTHER) is not None


# -- over HTTPS ----------------------------------------------------------------------------


@pytest.fixture
def sf(server: SandboxServer) -> Iterator[Salesforce]:
    session = requests.Session()
    session.verify = str(server.ca_bundle)
    session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment wins over verify
    reply = session.post(
        f"{server.login_url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(server.client_id, server.client_secret),
        timeout=10,
    )
    token = reply.json()["access_token"]
    yield Salesforce(instance_url=server.instance_url, session_id=token, session=session,
                     version="62.0")  # fmt: skip
    session.close()


def test_rest_query_and_query_all_after_an_api_delete(
    sf: Salesforce, server: SandboxServer
) -> None:
    results = sf.restful("composite/sobjects", method="DELETE",
                         params={"ids": DUPE, "allOrNone": "true"})  # fmt: skip
    assert results == [{"id": DUPE, "success": True, "errors": []}]
    live = sf.query_all("SELECT Id FROM Opportunity")
    every = sf.query_all("SELECT Id, IsDeleted FROM Opportunity", include_deleted=True)
    assert live["totalSize"] == 2 and every["totalSize"] == 3
    deleted = sf.query_all("SELECT Id FROM Opportunity WHERE IsDeleted = true",
                           include_deleted=True)  # fmt: skip
    assert [r["Id"] for r in deleted["records"]] == [DUPE_DEAL]
    assert sf.query("SELECT Id FROM Opportunity WHERE IsDeleted = true")["totalSize"] == 0
    assert server.calls["query"] == 4
    dead = tomb(server.org, "Account", DUPE)
    assert dead["LastModifiedById"] == INTEGRATION_USER_ID


def test_rest_query_all_sees_a_merge_and_the_failed_delete_rolls_back(
    sf: Salesforce, server: SandboxServer
) -> None:
    server.org.merge("Account", ACCT, [DUPE])
    soql = "SELECT Id, MasterRecordId FROM Account WHERE IsDeleted = true"
    (row,) = sf.query_all(soql, include_deleted=True)["records"]
    assert row["Id"] == DUPE and row["MasterRecordId"] == ACCT
    ghost = make_id("001", 999)
    results = sf.restful("composite/sobjects", method="DELETE",
                         params={"ids": f"{OTHER},{ghost}", "allOrNone": "true"})  # fmt: skip
    assert [r["success"] for r in results] == [False, False]
    assert sf.query_all(soql, include_deleted=True)["totalSize"] == 1  # still just the merge
    assert sf.Account.get(OTHER)["Name"] == "Other"
