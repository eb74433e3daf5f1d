"""A cycle killed (SIGKILL) at every statement of its commit ends where an unkilled one does.

The commit of a cycle — ledger, mirror, typed state with the watermarks, retry list, run
record — is one transaction. This test does not pick the dangerous instants by hand: it
counts the statements an uninterrupted commit runs, then, for each one in turn, runs the
same story in a fresh org with the cycle's process killed right before that statement,
reruns, and compares what ends up in the org (syncd's fields on every record, every
violation Task) and in the ledger with the uninterrupted run.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from syncd.salesforce import OrgClient
from syncd.sandbox import SandboxOrg, SandboxServer, serve_sandbox
from syncd.sandbox.dataset import demo_dataset
from syncd.service.runtime import Runtime, open_runtime
from syncd.settings import load_settings
from syncd.sync.cycle import Cycle
from tests.integration.conftest import NO_WAIT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TODAY = datetime.now(UTC).date()
ROE_FIELDS = {
    "Account": ("RoE_Engagement_Lead__c", "RoE_Lead_Partner__c", "RoE_Reason__c"),
    "Opportunity": (
        "RoE_Expected_Lead__c", "RoE_Protected_Partner__c", "RoE_Status__c", "RoE_Reason__c",
        "RoE_Comp_Eligible__c", "RoE_Remedy__c",
    ),
}  # fmt: skip


def _runtime(server: SandboxServer, state: Path) -> Runtime:
    sf = server.salesforce_settings()
    return open_runtime(load_settings(salesforce=sf, state_dir=state), OrgClient(sf, retry=NO_WAIT))


def _cycle(server: SandboxServer, state: Path) -> None:
    runtime = _runtime(server, state)
    try:
        Cycle(runtime.client, runtime.store, runtime.mapping, runtime.policy).run()
    finally:
        runtime.close()


def _change_the_org(org: SandboxOrg) -> None:
    """Between cycles: a violation fixed, one created, one deal's write refused."""
    ids = demo_dataset(TODAY)
    org.update(
        "Opportunity",
        ids.id("opp.direct_on_partner"),
        {"OwnerId": ids.id("user.paula"), "RoE_Partner__c": ids.id("p.northwind")},
    )
    org.update(
        "Opportunity",
        ids.id("opp.named_child"),
        {
            "OwnerId": ids.id("user.tina"),
            "LeadSource": "Outbound Telesales",
            "AccountId": ids.id("c.soylent"),
        },
    )
    org.update("Account", ids.id("c.hooli"), {"RoE_Named_Account__c": True})  # fmt: skip


def _killed_cycle(server: SandboxServer, state: Path, step: int) -> None:
    """In a child process: one cycle whose process dies before commit statement ``step``."""
    runtime = _runtime(server, state)
    committing = {"on": False, "count": 0}

    def before(*_args: Any) -> None:
        if committing["on"]:
            committing["count"] += 1
            if committing["count"] == step:
                os.kill(os.getpid(), signal.SIGKILL)

    event.listen(runtime.store.engine, "before_cursor_execute", before)
    commit = runtime.store.commit_cycle

    def counted(work: Any) -> None:
        committing["on"] = True
        commit(work)

    runtime.store.commit_cycle = counted  # type: ignore[method-assign]
    Cycle(runtime.client, runtime.store, runtime.mapping, runtime.policy).run()
    os._exit(0)


def _commit_statements(server: SandboxServer, state: Path) -> int:
    runtime = _runtime(server, state)
    counted = {"on": False, "count": 0}

    def before(*_args: Any) -> None:
        counted["count"] += counted["on"]

    event.listen(runtime.store.engine, "before_cursor_execute", before)
    commit = runtime.store.commit_cycle

    def watch(work: Any) -> None:
        counted["on"] = True
        commit(work)
        counted["on"] = False

    runtime.store.commit_cycle = watch  # type: ignore[method-assign]
    try:
        Cycle(runtime.client, runtime.store, runtime.mapping, runtime.policy).run()
    finally:
        runtime.close()
    return counted["count"]


def _outcome(org: SandboxOrg, state: Path, server: SandboxServer) -> dict[str, Any]:
    records = {
        (sobject, r["Id"]): tuple(r.get(f) for f in fields)
        for sobject, fields in ROE_FIELDS.items()
        for r in org.records(sobject)
    }
    tasks = {
        t["RoE_Key__c"]: (t["Status"], t["OwnerId"], t["Priority"], t["WhatId"])
        for t in org.records("Task")
        if t.get("RoE_Key__c")
    }
    runtime = _runtime(server, state)
    try:
        ledger = {
            e.key: (e.level, e.owner_id, e.resolved_at is None, e.task_id is not None)
            for e in runtime.store.ledger()
        }
    finally:
        runtime.close()
    return {"records": records, "tasks": tasks, "ledger": ledger, "count": len(org.records("Task"))}


def _story(cert_dir: Path, state: Path, second: Callable[[SandboxServer], None]) -> dict[str, Any]:
    org = SandboxOrg()
    org.load(demo_dataset(TODAY))
    with serve_sandbox(org, cert_dir=cert_dir) as server:
        _cycle(server, state)
        _change_the_org(org)
        refused = demo_dataset(TODAY).id("opp.named_child")  # its write fails once: a retry
        server.faults.fail_records([refused], "UNABLE_TO_LOCK_ROW", times=1)
        second(server)
        _cycle(server, state)  # the rerun
        _cycle(server, state)  # and the retry of the refused write
        return _outcome(org, state, server)


def test_a_cycle_killed_at_any_commit_statement_ends_like_an_uninterrupted_one(
    cert_dir: Path, tmp_path: Path
) -> None:
    steps: list[int] = []
    expected = _story(
        cert_dir, tmp_path / "reference",
        lambda server: steps.append(_commit_statements(server, tmp_path / "reference")),
    )  # fmt: skip
    assert steps[0] >= 8, "the commit touches the ledger, mirror, state, watermarks and run"
    fork = multiprocessing.get_context("fork")
    for step in range(1, steps[0] + 1):
        state = tmp_path / f"killed-{step}"

        def killed(server: SandboxServer, state: Path = state, step: int = step) -> None:
            child = fork.Process(target=_killed_cycle, args=(server, state, step))
            child.start()
            child.join(timeout=120)
            assert child.exitcode == -signal.SIGKILL, f"step {step}: not killed"

        assert _story(cert_dir, state, killed) == expected, f"killed before statement {step}"
