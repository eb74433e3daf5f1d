"""The decision history over HTTPS: a deal's story reads back in order, with who and when.

Bob asks for an exception on his violation, channel operations rejects it, Bob edits the
status by hand (syncd puts it back), the rules change, and channel operations overrides
the deal. The history then tells that story in order, each person's action with who and
when as Salesforce reported them, and idle cycles add nothing. `syncd history` and
`syncd explain --at` read it back from the store alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from typer.testing import CliRunner

from syncd.cli.main import app
from syncd.engine.domain import Status
from syncd.engine.history import Kind
from syncd.engine.policy import Policy
from syncd.sandbox import SandboxServer
from syncd.sandbox.dataset import Dataset, demo_dataset
from syncd.service.runtime import Runtime
from syncd.store.history import history_count, history_of
from syncd.sync.cycle import Cycle, CycleReport

pytestmark = pytest.mark.integration

RULES_CHANGED = "2026.12-na-later"


@dataclass
class Story:
    deal: str
    bob: str
    ops: str
    stamps: dict[str, datetime]  # what happened -> the org's SystemModstamp of the edit
    before_rules: datetime  # a moment between the hand edit and the rule change
    reports: list[CycleReport]


def later_rules(policy: Policy) -> Policy:
    """North America's enforcement moves to next year: its violations become Advisory."""
    enforcement = {**policy.regions.enforcement, "NA": date(2099, 1, 1)}
    regions = policy.regions.model_copy(update={"enforcement": enforcement})
    return policy.model_copy(update={"version": RULES_CHANGED, "regions": regions})


def run(runtime: Runtime, policy: Policy | None = None) -> CycleReport:
    policy = policy or runtime.policy
    return Cycle(runtime.client, runtime.store, runtime.mapping, policy).run()


def tell(server: SandboxServer, runtime: Runtime, ids: Dataset) -> Story:
    deal, bob, ops = ids.id("opp.direct_on_partner"), ids.id("user.bob"), ids.id("user.ops")
    story = Story(deal, bob, ops, {}, datetime.now(UTC), [])

    def edit(what: str, fields: dict[str, object], by: str) -> None:
        server.org.update("Opportunity", deal, fields, by=by)
        record = server.org.get("Opportunity", deal) or {}
        story.stamps[what] = datetime.fromisoformat(record["SystemModstamp"])

    def cycle(policy: Policy | None = None) -> int:
        before = history_count(runtime.store)
        story.reports.append(run(runtime, policy))
        return history_count(runtime.store) - before

    assert cycle() > 0  # the first full cycle records every flag it sets
    assert cycle() == 0  # the echo of syncd's own writes adds nothing
    edit("requested", {"RoE_Exception_Requested__c": True,
                       "RoE_Exception_Reason__c": "Customer insists"}, bob)  # fmt: skip
    cycle()
    edit("rejected", {"RoE_Exception_Decision__c": "Rejected",
                      "RoE_Exception_Decision_Reason__c": "no partner agreed"}, ops)  # fmt: skip
    cycle()
    assert cycle() == 0  # syncd cleared the request box: its echo is not Bob withdrawing
    edit("hand", {"RoE_Status__c": "Compliant", "RoE_Comp_Eligible__c": True}, bob)
    cycle()
    story.before_rules = datetime.now(UTC)
    changed = later_rules(runtime.policy)
    cycle(changed)
    edit("override", {"RoE_Override__c": "Partner",
                      "RoE_Override_Reason__c": "Northwind agreed to co-sell"}, ops)  # fmt: skip
    cycle(changed)
    assert cycle(changed) == 0  # idle
    return story


def test_a_deals_history_reads_back_in_order_with_who_and_when(
    server: SandboxServer, runtime: Runtime, today: datetime
) -> None:
    story = tell(server, runtime, demo_dataset(today.date()))
    events = history_of(runtime.store, story.deal)
    assert [e.kind for e in events] == [
        Kind.DECIDED,  # Violation, the first cycle
        Kind.OCCURRENCE_OPENED,
        Kind.EXCEPTION_REQUESTED,
        Kind.DECIDED,  # Violation -> Review
        Kind.OCCURRENCE_OPENED,  # the review for channel operations
        Kind.EXCEPTION_DECIDED,
        Kind.DECIDED,  # Review -> Violation
        Kind.OCCURRENCE_RESOLVED,  # the review closed
        Kind.EDITED_BY_HAND,
        Kind.RESTORED,
        Kind.DECIDED,  # the rule change: Violation -> Advisory
        Kind.OVERRIDE_SET,
        Kind.DECIDED,  # Advisory -> Exempt
        Kind.OCCURRENCE_RESOLVED,  # the override exempts the deal
    ]
    people = {e.kind: (e.actor_id, e.acted_at) for e in events if e.actor_id}
    assert people == {
        Kind.EXCEPTION_REQUESTED: (story.bob, story.stamps["requested"]),
        Kind.EXCEPTION_DECIDED: (story.ops, story.stamps["rejected"]),
        Kind.EDITED_BY_HAND: (story.bob, story.stamps["hand"]),
        Kind.OVERRIDE_SET: (story.ops, story.stamps["override"]),
    }
    statuses = [e.changes["status"] for e in events if "status" in e.changes]
    assert statuses == [
        (None, "Violation"),
        ("Violation", "Review"),
        ("Review", "Violation"),
        ("Violation", "Compliant"),  # by hand
        ("Compliant", "Violation"),  # restored
        ("Violation", "Advisory"),
        ("Advisory", "Exempt"),
    ]
    hand, restored = events[8:10]
    assert hand.changes["comp_eligible"] == (False, True)
    assert restored.changes["comp_eligible"] == (True, False)
    assert [e.policy_version for e in events[10:]] == [RULES_CHANGED] * 4
    assert "NOT_YET_ENFORCED" in events[10].codes
    assert events[-2].codes[0] == "OVERRIDE" and events[-1].data["kind"] == "violation"
    # Every event carries its cycle's run and clock, in the order the cycles ran.
    runs = [r.run_id for r in story.reports]
    assert [runs.index(e.run_id) for e in events] == sorted(runs.index(e.run_id) for e in events)
    assert all(e.at == story.reports[runs.index(e.run_id)].started_at for e in events)
    assert server.org.get("Opportunity", story.deal)["RoE_Status__c"] == Status.EXEMPT.value


def test_history_and_explain_at_read_the_story_from_the_store_alone(
    server: SandboxServer, runtime: Runtime, today: datetime
) -> None:
    story = tell(server, runtime, demo_dataset(today.date()))
    env = {"SYNCD_STATE_DIR": str(runtime.settings.state_dir)}
    cli = CliRunner()
    server.reset_calls()

    table = cli.invoke(app, ["history", story.deal], env=env)
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].startswith("Deal Soylent — Analytics Add-on (")
    assert "owner Bob Chen" in lines[0] and "account Soylent Foods" in lines[0]
    for words in ("exception requested", "Customer insists", "exception rejected",
                  "flags edited by hand", "status Violation → Compliant", "syncd restored",
                  "override set", "lead Partner: “Northwind agreed to co-sell”",
                  "Priya Raman (Channel Operations)", "violation resolved"):  # fmt: skip
        assert words in table.output, words
    assert max(len(line) for line in lines) > 80  # not wrapped: the output is piped

    rows = json.loads(cli.invoke(app, ["history", story.deal, "--format", "json"], env=env).output)
    assert [r["who"] for r in rows if r["kind"] == "exception_requested"] == ["Bob Chen"]
    assert rows[0]["record_name"] == "Soylent — Analytics Add-on"
    csv_out = cli.invoke(app, ["history", story.deal[:15], "--format", "csv"], env=env).output
    assert csv_out.splitlines()[0].startswith("at,record_id,record_name,kind,what,who")
    assert len(csv_out.splitlines()) == 1 + len(rows)  # a 15-character Id works too

    at = story.before_rules.isoformat()  # 2026-12-01T09:47:01.123456+00:00
    past = cli.invoke(app, ["explain", story.deal, "--at", at, "--format", "json"], env=env)
    assert past.exit_code == 0, past.output
    then = json.loads(past.output)
    assert then["flags_then"]["status"] == "Violation"  # restored, before the rule change
    assert then["flags_now"]["status"] == "Exempt"
    assert then["decided_by"]["policy_version"] == "2026.11-1"
    assert [r["kind"] for r in then["changed_since"]] == [
        "decided", "override_set", "decided", "occurrence_resolved"]  # fmt: skip
    words = cli.invoke(app, ["explain", story.deal, "--at", at], env=env).output
    assert "Decided" in words and "under policy 2026.11-1" in words and "Changed since (4)" in words
    assert sum(server.calls.values()) == 0  # the store alone: not one API call


def test_history_refuses_a_missing_state_directory(tmp_path: object) -> None:
    env = {"SYNCD_STATE_DIR": f"{tmp_path}/nothing-here"}
    for args in (["history", "0065g0000000016AAA"],
                 ["explain", "0065g0000000016AAA", "--at", "2026-12-01"]):  # fmt: skip
        result = CliRunner().invoke(app, args, env=env)
        assert result.exit_code == 2 and "no state database" in result.output


def test_history_of_a_record_syncd_never_saw_says_so(runtime: Runtime) -> None:
    run(runtime)
    env = {"SYNCD_STATE_DIR": str(runtime.settings.state_dir)}
    unknown = CliRunner().invoke(app, ["history", "006000000000009AAA"], env=env)
    assert unknown.exit_code == 1 and "mirror does not know it" in unknown.output
    bad = CliRunner().invoke(app, ["history", "not-an-id"], env=env)
    assert bad.exit_code == 2
    quiet = CliRunner().invoke(app, ["history", "0015g0000000001AAA"], env=env)  # a partner
    assert quiet.exit_code == 0 and "No change recorded" in quiet.output


def test_writes_of_a_cycle_killed_before_its_commit_are_syncd_s_decisions(
    server: SandboxServer, runtime: Runtime, today: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its writes landed, its history did not: the rerun reads them back as syncd's own."""
    ids = demo_dataset(today.date())
    deal = ids.id("opp.direct_on_partner")
    run(runtime)
    fixed = {"OwnerId": ids.id("user.paula"), "RoE_Partner__c": ids.id("p.northwind")}
    server.org.update("Opportunity", deal, fixed, by=ids.id("user.bob"))

    def killed(_commit: object) -> None:
        raise KeyboardInterrupt("killed after the writes, before the commit")

    with monkeypatch.context() as patched:
        patched.setattr(runtime.store, "commit_cycle", killed)
        with pytest.raises(KeyboardInterrupt):
            run(runtime)
    assert (server.org.get("Opportunity", deal) or {})["RoE_Status__c"] == "Compliant"
    run(runtime)
    events = history_of(runtime.store, deal)
    assert Kind.EDITED_BY_HAND not in {e.kind for e in events}
    (decided,) = [e for e in events[2:] if e.kind is Kind.DECIDED]
    assert decided.changes["status"] == ("Violation", "Compliant") and decided.actor_id is None
    assert events[-1].kind is Kind.OCCURRENCE_RESOLVED
