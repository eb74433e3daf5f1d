"""Notifications of whole cycles on the demo org over HTTPS, to local receivers on 127.0.0.1.

The webhook receiver is syncd's own (Starlette, as the demo uses it); the SMTP server is
aiosmtpd with STARTTLS and AUTH, its certificate verified against the sandbox's CA.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from syncd.logs import configure_logging
from syncd.notify.message import EVENT_TARGET, Kind, State
from syncd.notify.receiver import LocalReceiver
from syncd.salesforce import OrgClient
from syncd.sandbox import SandboxServer
from syncd.sandbox.dataset import demo_dataset
from syncd.service.runtime import Runtime, open_runtime
from syncd.settings import load_settings
from syncd.sync.cycle import Cycle, CycleReport
from tests.integration.conftest import NO_WAIT
from tests.mailserver import LocalSmtp

pytestmark = pytest.mark.integration

TOKEN = "hook-s3cret-Token-0123456789abcdef"
PASSWORD = "smtp-S3cret-Passw0rd"
OPS_MAIL, VP_MAIL, PARTNER_MAIL = (
    "channel-ops@acme.example",
    "victoria.hale@acme.example",
    "alliances@northwind.example",
)
WAYNE = "0065g0000000035AAA"  # the 480,000 closed-won deal a services rep took
# The demo org's first cycle: 13 new violations (7 by reps of Victoria Hale, 6 by reps
# without an active manager), 1 remedy owed (Wayne), 1 exception request.
VIOLATIONS, BY_VP, BY_OTHERS, REMEDIES, EXCEPTIONS = 13, 7, 6, 1, 1


class Clock:
    """Real time plus an offset the test moves (backoff and digests without sleeping)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def receiver() -> Iterator[LocalReceiver]:
    with LocalReceiver() as running:
        yield running


@pytest.fixture
def smtp(cert_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalSmtp]:
    server = LocalSmtp(cert_dir, "syncd@acme.example", PASSWORD)
    monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_bundle))  # Apprise verifies the cert
    yield server
    server.stop()


def hook(receiver: LocalReceiver, path: str) -> str:
    return receiver.url(f"{path}/{TOKEN}")


def smtp_settings(smtp: LocalSmtp) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": smtp.port,
        "security": "starttls",
        "username": "syncd@acme.example",
        "password": PASSWORD,
        "from": "syncd@acme.example",
    }


@pytest.fixture
def make_runtime(
    server: SandboxServer, tmp_path: Path
) -> Iterator[Callable[[dict[str, Any]], Runtime]]:
    opened: list[Runtime] = []

    def make(notifications: dict[str, Any]) -> Runtime:
        sf = server.salesforce_settings()
        settings = load_settings(
            salesforce=sf, state_dir=tmp_path / "state", notifications=notifications
        )
        runtime = open_runtime(settings, OrgClient(sf, retry=NO_WAIT))
        assert runtime.notifier is not None
        runtime.notifier.clock = Clock()
        opened.append(runtime)
        return runtime

    yield make
    for runtime in opened:
        runtime.close()


def run(runtime: Runtime) -> CycleReport:
    cycle = Cycle(
        runtime.client, runtime.store, runtime.mapping, runtime.policy, notifier=runtime.notifier
    )
    return cycle.run()


def later(runtime: Runtime, **delta: float) -> None:
    assert runtime.notifier is not None
    clock = runtime.notifier.clock
    assert isinstance(clock, Clock)
    clock.offset += timedelta(**delta)


def deliver(runtime: Runtime) -> Any:
    assert runtime.notifier is not None
    report = runtime.notifier.deliver()
    assert report is not None
    return report


def every_route(receiver: LocalReceiver, smtp: LocalSmtp, vp_id: str, **extra: Any) -> dict:
    northwind = demo_dataset(datetime.now(UTC).date()).id("p.northwind")
    return {
        "targets": {
            "ops_hook": {"kind": "webhook", "url": hook(receiver, "channel-ops")},
            "ops_mail": {"kind": "email", "to": [OPS_MAIL]},
        },
        "smtp": smtp_settings(smtp),
        "new_violation": {
            "to": ["ops_hook"],
            "managers": {vp_id: VP_MAIL},
            "manager_default": "ops_mail",
        },
        "remedy_owed": {"to": ["ops_hook"], "partner_contacts": {northwind: PARTNER_MAIL}},
        "exception_request": {"to": ["ops_hook", "ops_mail"]},
        **extra,
    }


def vp() -> str:
    return demo_dataset(datetime.now(UTC).date()).id("user.vp")


def test_each_route_gets_exactly_its_messages_naming_deal_rep_partner_and_link(
    make_runtime: Callable[..., Runtime],
    receiver: LocalReceiver,
    smtp: LocalSmtp,
    server: SandboxServer,
) -> None:
    smtp.start()
    runtime = make_runtime(every_route(receiver, smtp, vp()))
    report = run(runtime)
    assert report.outcome == "success" and report.outbox is not None
    delivered = deliver(runtime)
    ops = VIOLATIONS + REMEDIES + EXCEPTIONS
    assert receiver.counts() == {f"/channel-ops/{TOKEN}": ops}
    keys = [r.key for r in receiver.accepted]
    assert len(set(keys)) == ops and all(k and k.endswith("|target:ops_hook") for k in keys)
    assert Counter(len(m.rcpt) for m in smtp.mails) == {1: len(smtp.mails)}
    assert (len(smtp.to(VP_MAIL)), len(smtp.to(OPS_MAIL)), len(smtp.to(PARTNER_MAIL))) == (
        BY_VP,
        BY_OTHERS + EXCEPTIONS,
        REMEDIES,
    )
    assert delivered.total_sent == ops + BY_VP + BY_OTHERS + EXCEPTIONS + REMEDIES

    link = f"{server.instance_url}/lightning/r/Opportunity/{WAYNE}/view"
    [violation] = [
        r
        for r in receiver.accepted
        if r.key == f"{WAYNE}:PARTNER_DISPLACED:1|violation|target:ops_hook"
    ]
    assert violation.title == "[RoE] Violation PARTNER_DISPLACED: Wayne Enterprises — Batcave DC"
    facts = ("Sven Larsen", "Northwind Solutions", "480,000.00 USD", link, "escalation level 1")
    for fact in (*facts, "referral fee 48000.00 to Northwind Solutions"):
        assert fact in violation.message, fact
    [mail] = [m for m in smtp.to(VP_MAIL) if "Batcave" in m.subject]
    assert "Sven Larsen" in mail.text and link in mail.text and "480,000.00 USD" in mail.text
    [partner] = smtp.to(PARTNER_MAIL)
    assert (
        partner.subject
        == "Referral fee owed to Northwind Solutions: Wayne Enterprises — Batcave DC"
    )
    assert "Sven Larsen" not in partner.text and "lightning" not in partner.text

    before = (len(receiver.requests), len(smtp.mails))
    again = run(runtime)  # the echo cycle: nothing new to say
    assert again.outbox is not None and not again.outbox.add
    deliver(runtime)
    assert (len(receiver.requests), len(smtp.mails)) == before


def test_a_receiver_that_answers_500_then_200_gets_each_message_once(
    make_runtime: Callable[..., Runtime],
) -> None:
    with LocalReceiver(fail_first=1) as flaky:
        runtime = make_runtime(
            {
                "targets": {"ops": {"kind": "webhook", "url": hook(flaky, "ops")}},
                "new_violation": {"to": ["ops"]},
                "remedy_owed": {"to": ["ops"]},
                "exception_request": {"to": ["ops"]},
            }
        )
        run(runtime)
        first = deliver(runtime)
        ops = VIOLATIONS + REMEDIES + EXCEPTIONS
        # The target failed once: the rest of its messages wait for the next run.
        assert (first.total_sent, first.retrying, first.deferred) == (0, 1, ops - 1)
        second = deliver(runtime)  # the failed one waits for its backoff; the others go
        later(runtime, seconds=30)
        third = deliver(runtime)
        assert (second.total_sent, third.total_sent) == (ops - 1, 1)
        assert deliver(runtime).total_sent == 0
    accepted = [r.key for r in flaky.accepted]
    assert len(accepted) == len(set(accepted)) == ops
    assert len(flaky.requests) == ops + 1 and flaky.requests[0].status == 500


def test_smtp_down_then_up_delivers_once(
    make_runtime: Callable[..., Runtime], smtp: LocalSmtp
) -> None:
    runtime = make_runtime(
        {
            "targets": {"ops_mail": {"kind": "email", "to": [OPS_MAIL]}},
            "smtp": smtp_settings(smtp),
            "exception_request": {"to": ["ops_mail"]},
        }
    )
    run(runtime)
    down = deliver(runtime)  # nothing listens on the port yet
    assert (down.total_sent, down.retrying) == (0, 1)
    [waiting] = [m for m in runtime.notifier.outbox.messages() if m.state is State.PENDING]  # type: ignore[union-attr]
    assert waiting.attempts == 1 and waiting.last_error
    smtp.start()
    assert deliver(runtime).total_sent == 0  # its backoff has not passed
    later(runtime, seconds=30)
    assert deliver(runtime).total_sent == 1
    later(runtime, hours=2)
    assert deliver(runtime).total_sent == 0
    [mail] = smtp.mails
    assert mail.rcpt == (OPS_MAIL,) and mail.subject.startswith("[RoE] Exception requested:")


def test_platform_events_are_published_by_the_cycle_in_one_counted_call(
    make_runtime: Callable[..., Runtime], server: SandboxServer
) -> None:
    runtime = make_runtime({"platform_events": True})
    server.reset_calls()
    report = run(runtime)
    assert report.outcome == "success"
    assert server.calls["collections_create"] == 1  # 13 events: one sObject Collections call
    assert report.api_calls == server.api_calls()
    assert report.api_calls_by_kind["collections"] == (
        server.calls["collections_update"] + server.calls["collections_upsert"] + 1
    )
    events = server.org.records("RoE_Violation__e")
    keys = {e["Occurrence_Key__c"] for e in events}
    ledger = {e.key for e in runtime.store.ledger() if e.kind == "violation"}
    assert len(events) == VIOLATIONS and keys == ledger
    [wayne] = [e for e in events if e["Opportunity_Id__c"] == WAYNE]
    assert (wayne["Amount__c"], wayne["Currency__c"], wayne["Rep_Name__c"]) == (
        480000.0,
        "USD",
        "Sven Larsen",
    )
    assert wayne["Link__c"] == f"{server.instance_url}/lightning/r/Opportunity/{WAYNE}/view"
    sent = [m for m in runtime.notifier.outbox.messages() if m.target == EVENT_TARGET]  # type: ignore[union-attr]
    assert {m.state for m in sent} == {State.SENT}
    server.reset_calls()
    run(runtime)
    assert server.calls.get("collections_create", 0) == 0


def test_events_that_fail_to_publish_are_published_by_the_next_cycle(
    make_runtime: Callable[..., Runtime], server: SandboxServer
) -> None:
    runtime = make_runtime({"platform_events": True})
    server.faults.fail_next(503, "SERVER_UNAVAILABLE", times=10, kind="collections_create")
    first = run(runtime)
    assert first.outcome == "success" and first.tasks_opened > 0  # the cycle went on
    assert server.org.records("RoE_Violation__e") == []
    server.faults.clear()
    server.reset_calls()
    run(runtime)
    assert server.calls["collections_create"] == 1
    assert len(server.org.records("RoE_Violation__e")) == VIOLATIONS


def test_budget_hold_publishes_no_events_and_owes_nothing(
    make_runtime: Callable[..., Runtime], server: SandboxServer
) -> None:
    runtime = make_runtime({"platform_events": True})
    server.consume_api(85_000)
    server.reset_calls()
    held = run(runtime)
    assert held.outcome == "budget-hold" and held.outbox is None
    assert server.calls.get("collections_create", 0) == 0
    assert runtime.notifier is not None and runtime.notifier.outbox.messages() == []


def test_a_cycle_that_dies_before_its_commit_announces_once_on_the_rerun(
    make_runtime: Callable[..., Runtime], receiver: LocalReceiver
) -> None:
    runtime = make_runtime(
        {
            "targets": {"ops": {"kind": "webhook", "url": hook(receiver, "ops")}},
            "new_violation": {"to": ["ops"]},
        }
    )

    def crash(_conn: Any) -> None:
        raise RuntimeError("killed before the commit")

    runtime.store.guard = crash
    with pytest.raises(RuntimeError):
        run(runtime)  # its Tasks landed in the org; nothing was committed
    runtime.store.guard = None
    report = run(runtime)
    assert report.tasks_adopted == VIOLATIONS + EXCEPTIONS
    deliver(runtime)
    keys = [r.key for r in receiver.accepted]
    assert len(keys) == len(set(keys)) == VIOLATIONS


def test_a_busy_day_goes_out_as_one_digest_per_target(
    make_runtime: Callable[..., Runtime], receiver: LocalReceiver
) -> None:
    runtime = make_runtime(
        {
            "targets": {
                "ops": {"kind": "webhook", "url": hook(receiver, "ops")},
                "vp": {"kind": "webhook", "url": hook(receiver, "vp")},
            },
            "new_violation": {"to": ["ops"], "managers": {vp(): "vp"}},
            "remedy_owed": {"to": ["ops"], "digest": True},
            "digest_threshold": 10,
        }
    )
    run(runtime)
    now = deliver(runtime)
    assert now.total_sent == BY_VP  # 7 for the VP: under the threshold, sent at once
    later(runtime, days=1)
    digest = deliver(runtime)
    assert (digest.digests, digest.total_sent) == (1, 1)
    [summary] = [r for r in receiver.accepted if r.path == f"/ops/{TOKEN}"]
    total = VIOLATIONS + REMEDIES
    assert summary.title.endswith(f": {total} notifications")
    assert f"**New violations ({VIOLATIONS})**" in summary.message
    assert "**Remedies owed (1)**" in summary.message
    assert "Wayne Enterprises — Batcave DC" in summary.message
    states = Counter(m.state for m in runtime.notifier.outbox.messages())  # type: ignore[union-attr]
    assert states == {State.DIGESTED: total, State.SENT: BY_VP + 1}


def test_no_webhook_url_or_password_reaches_logs_errors_or_the_store(
    make_runtime: Callable[..., Runtime], smtp: LocalSmtp, tmp_path: Path
) -> None:
    stream = io.StringIO()
    configure_logging("json", "debug", stream=stream)
    with LocalReceiver(fail_first=100) as down:  # answers 500 every time
        runtime = make_runtime(
            {
                "targets": {
                    "ops": {"kind": "webhook", "url": hook(down, "ops")},
                    "mail": {"kind": "email", "to": [OPS_MAIL]},
                },
                "smtp": smtp_settings(smtp),  # not started: connection refused
                "new_violation": {"to": ["ops", "mail"]},
            }
        )
        run(runtime)
        report = deliver(runtime)
    assert report.retrying == 2
    errors = [m.last_error or "" for m in runtime.notifier.outbox.messages()]  # type: ignore[union-attr]
    assert any("500" in e for e in errors) and any(e for e in errors if "500" not in e)
    logged = stream.getvalue()
    assert "notify.send_failed" in logged
    stored = b"".join(p.read_bytes() for p in (tmp_path / "state").glob("syncd.db*"))
    for secret in (TOKEN, PASSWORD):
        assert secret not in logged and secret not in json.dumps(errors)
        assert secret.encode() not in stored
    assert {m.kind for m in runtime.notifier.outbox.messages()} == {Kind.VIOLATION}  # type: ignore[union-attr]
