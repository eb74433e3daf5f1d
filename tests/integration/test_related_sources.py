"""A related child object declared purely in the mapping reaches the domain (issue 14).

The sandbox org has a ``Deal_Registration__c`` object of its own (one row per
registration, the current one flagged). No code knows it: a mapping entry declares it as
a related source filling the registration read keys, and the full read, the change read,
the org state a new process rebuilds from the store, ``explain``'s fetch and ``syncd
check`` all follow — at the cost OpportunityPartner has always had.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from syncd.cli.check import CheckReport, check_org
from syncd.sandbox import SandboxServer
from syncd.service.runtime import Runtime
from syncd.sfid import make_id
from syncd.sync.cycle import Cycle, CycleReport
from syncd.sync.mapping import FieldMapping, load_mapping
from syncd.sync.orgstate import OrgState
from syncd.sync.related import read_related

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
S03_DEAL = make_id("006", 16)  # a field rep on a partner-led account, no partner
NORTHWIND, CONTOSO = make_id("001", 1), make_id("001", 2)
DECLARED = """\
  related:
    - name: current
      sobject: Deal_Registration__c
      parent_field: Opportunity__c
      where: {Is_Current__c: true}
      fills:
        registration_partner_id: Partner__c
        registration_status: Status__c
        registration_approved_on: Approved_On__c
        registration_expires_on: Expires_On__c
"""


def declared_mapping(tmp_path: Path, source: str = DECLARED) -> FieldMapping:
    text = (ROOT / "mappings" / "default.yaml").read_text()
    assert "  related: []\n" in text
    path = tmp_path / "mapping.yaml"
    path.write_text(text.replace("  related: []\n", source))
    return load_mapping(path)


def calls(server: SandboxServer) -> dict[str, int]:
    return {kind: n for kind, n in server.calls.items() if n and kind != "token"}


@pytest.fixture
def mapping(tmp_path: Path) -> FieldMapping:
    return declared_mapping(tmp_path)


@pytest.fixture
def run(
    runtime: Runtime, server: SandboxServer, mapping: FieldMapping
) -> Callable[[], tuple[CycleReport, dict[str, int]]]:
    cycle = Cycle(runtime.client, runtime.store, mapping, runtime.policy)

    def once() -> tuple[CycleReport, dict[str, int]]:
        server.reset_calls()
        report = cycle.run()
        assert report.outcome == "success", report.failures
        return report, calls(server)

    return once


def registration_rows(server: SandboxServer, today: datetime) -> str:
    """A current approved registration by Northwind and an older, superseded one."""
    approved = today.date() - timedelta(days=10)
    server.org.create(
        "Deal_Registration__c",
        {"Opportunity__c": S03_DEAL, "Partner__c": CONTOSO, "Status__c": "Rejected",
         "Approved_On__c": (approved - timedelta(days=30)).isoformat(), "Is_Current__c": False},
    )  # fmt: skip
    return server.org.create(
        "Deal_Registration__c",
        {"Opportunity__c": S03_DEAL, "Partner__c": NORTHWIND, "Status__c": "Approved",
         "Approved_On__c": approved.isoformat(), "Is_Current__c": True},
    )  # fmt: skip


def test_a_declared_registration_object_reaches_the_domain_and_follows_its_changes(
    server: SandboxServer, run: Callable[[], tuple[CycleReport, dict[str, int]]],
    runtime: Runtime, mapping: FieldMapping, today: datetime,
) -> None:  # fmt: skip
    row = registration_rows(server, today)
    first, _ = run()
    assert first.mode == "full" and first.read["Deal_Registration__c"] == 1  # the current one
    registration = first.snapshot.opportunities[S03_DEAL].registration
    assert registration is not None and registration.approved
    assert (registration.partner_id, registration.approved_on) == (
        NORTHWIND, today.date() - timedelta(days=10)
    )  # fmt: skip
    decision = first.decisions.opportunities[S03_DEAL]
    assert {"DEAL_REG_APPROVED", "PARTNER_DISPLACED"} <= set(decision.reasons)
    assert "registered by Northwind Solutions" in decision.reason_text

    # The echo: the rows changed within the overlap window come back in the composite, and
    # their deals' rows are read again (one query), as OpportunityPartner's always were.
    echo, echo_calls = run()
    assert echo.changed == 0 and echo.plan.total == 0
    assert echo_calls == {"composite": 1, "query": 1}

    server.org.update("Deal_Registration__c", row, {"Status__c": "Rejected"})
    rejected, used = run()
    reads = {kind: n for kind, n in used.items() if not kind.startswith("collections")}
    assert reads == {"composite": 1, "query": 1}  # the change read, the touched deals' rows
    assert rejected.changed == 1 and S03_DEAL in rejected.decisions.opportunities
    assert not rejected.snapshot.opportunities[S03_DEAL].registration.approved  # type: ignore[union-attr]
    assert "DEAL_REG_APPROVED" not in rejected.decisions.opportunities[S03_DEAL].reasons
    # A new process rebuilds the same deal from the store's mirror, no API call.
    rebuilt = OrgState.from_store(runtime.store, mapping).snapshot.opportunities[S03_DEAL]
    assert rebuilt == rejected.snapshot.opportunities[S03_DEAL]

    server.org.delete("Deal_Registration__c", row)
    gone, _ = run()
    assert gone.snapshot.opportunities[S03_DEAL].registration is None


def test_explain_fetches_the_declared_rows_and_check_checks_their_fields(
    server: SandboxServer, runtime: Runtime, mapping: FieldMapping, today: datetime,
    tmp_path: Path,
) -> None:  # fmt: skip
    registration_rows(server, today)
    related = read_related(runtime.client, mapping, S03_DEAL)
    registration = related.opportunities[S03_DEAL].registration
    assert registration is not None and registration.partner_id == NORTHWIND

    report = CheckReport()
    check_org(runtime.client, mapping, report)
    assert report.ok, report.problems
    wrong = declared_mapping(tmp_path, DECLARED.replace("Partner__c", "Partner_X__c"))
    report = CheckReport()
    check_org(runtime.client, wrong, report)
    where = "Deal_Registration__c.Partner_X__c (mapping opportunity.registration_partner_id)"
    assert any(p.startswith(where) for p in report.problems), report.problems
