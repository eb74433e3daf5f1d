"""RoE_Reason__c and the Task's Description in words, read back from the org over HTTPS.

The demo's story: Sven closed the deal Northwind Solutions registered 25 days ago,
without Northwind. The reason and the Task name the partner and the registration's
dates; once Northwind is back, the deal is compliant but PARTNER_DISPLACED is sticky, and
the reason and the closed Task say why compensation is still withheld and what releases
it — an approved exception does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from syncd.engine.domain import Status
from syncd.sandbox import SandboxServer
from syncd.sandbox.dataset import demo_dataset
from syncd.sync.report import CycleReport

pytestmark = pytest.mark.integration

RunCycle = Callable[..., CycleReport]
STORY = "opp.story_displaced"


def story(server: SandboxServer, today: datetime) -> tuple[str, str]:
    """(the story deal's Id, Northwind's Id)."""
    ids = demo_dataset(today.date())
    return ids.id(STORY), ids.id("p.northwind")


def task_of(server: SandboxServer, deal: str) -> dict:
    (task,) = [t for t in server.org.records("Task") if t.get("WhatId") == deal]
    return task


def registration_words(today: datetime) -> str:
    approved = today.date() - timedelta(days=25)
    return (
        f"registered by Northwind Solutions, approved {approved}, valid through "
        f"{approved + timedelta(days=90)}"
    )


def test_a_registered_deal_violation_names_the_partner_and_the_dates(
    server: SandboxServer, run_cycle: RunCycle, today: datetime
) -> None:
    deal, _ = story(server, today)
    run_cycle()
    reason = server.org.get("Opportunity", deal)["RoE_Reason__c"]
    assert reason == (
        "PARTNER_DISPLACED, DEAL_REG_APPROVED: Northwind Solutions, the partner the rules "
        f"protect, is not on the deal; {registration_words(today)}"
    )
    description = task_of(server, deal)["Description"]
    assert "Deal: Wayne Enterprises — Batcave DC" in description
    assert "\nPartner: Northwind Solutions (" in description
    assert f"\nWhy: {reason}\n" in description
    assert (
        "PARTNER_DISPLACED is sticky: compensation stays withheld after the violation is "
        "resolved, until an admin override with a reason or an exception approved by channel "
        "operations exempts the deal."
    ) in description


def test_a_sticky_hold_after_compliance_says_why_and_what_releases_it(
    server: SandboxServer, run_cycle: RunCycle, today: datetime
) -> None:
    deal, northwind = story(server, today)
    run_cycle()
    server.org.update("Opportunity", deal, {"RoE_Partner__c": northwind})

    fixed = run_cycle()
    assert fixed.decisions.opportunities[deal].status is Status.COMPLIANT
    record = server.org.get("Opportunity", deal)
    assert record["RoE_Comp_Eligible__c"] is False
    assert record["RoE_Reason__c"] == (
        "DEAL_REG_APPROVED: compensation still withheld: PARTNER_DISPLACED is sticky; only an "
        f"override with a reason or an approved exception releases it; {registration_words(today)}"
    )
    task = task_of(server, deal)
    assert task["Status"] == "Completed"
    assert task["Description"].startswith(
        "Resolved: the deal is now Compliant (DEAL_REG_APPROVED: registered by Northwind"
    )
    assert (
        "\nCompensation stays withheld although the violation is resolved: PARTNER_DISPLACED "
        "holds are sticky, and only an admin override with a reason or an exception approved "
        "by channel operations releases them.\n\n"
    ) in task["Description"]
    assert run_cycle().written == 0  # the words are the same on the echo: nothing rewritten

    server.org.update(
        "Opportunity", deal,
        {"RoE_Exception_Decision__c": "Approved",
         "RoE_Exception_Decision_Reason__c": "Northwind agreed to the reseller swap"},
    )  # fmt: skip
    run_cycle()
    released = server.org.get("Opportunity", deal)
    assert released["RoE_Comp_Eligible__c"] is True
    assert released["RoE_Reason__c"] == (
        "EXCEPTION_APPROVED: Northwind agreed to the reseller swap; channel ops approved an "
        "exception"
    )
