"""Slack and Teams webhooks through Apprise, against `responses`: what each service receives."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import responses
from structlog.testing import capture_logs

from syncd.logs import register_secrets
from syncd.notify import channels, render
from syncd.notify.message import Kind, Notice
from syncd.notify.settings import NotificationSettings

SLACK = "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/s3cretSlackToken0123456789"
WORKFLOW = "0123456789abcdef0123456789abcdef"
SIG = "s3cretTeamsSignature0123456789abcdefABCDEF"
TEAMS = (
    f"https://prod-42.westeurope.logic.azure.com:443/workflows/{WORKFLOW}/triggers/manual/"
    f"paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"
)
LINK = "https://acme.my.salesforce.com/lightning/r/Opportunity/0065g0000000035AAA/view"
NOTICE = Notice(
    kind=Kind.VIOLATION,
    key="0065g0000000035AAA:PARTNER_DISPLACED:1",
    opportunity_id="0065g0000000035AAA",
    deal="Wayne Enterprises — Batcave DC",
    account="Wayne Enterprises",
    code="PARTNER_DISPLACED",
    rule="protected partner displaced",
    reason="approved deal registration protects the partner",
    link=LINK,
    currency="USD",
    amount=Decimal("480000"),
    rep="Sven Larsen",
    partner="Northwind Solutions",
    level=1,
    action="warning",
    remedy="referral fee 48000.00 to Northwind Solutions",
    closed_won=True,
)
SETTINGS = NotificationSettings.model_validate(
    {"targets": {"ops": {"kind": "slack", "url": SLACK}, "sales": {"kind": "teams", "url": TEAMS}}}
)


def send(target: str) -> str | None:
    plugin = channels.service(target, SETTINGS, f"{NOTICE.key}|violation|{target}")
    return channels.send(plugin, render.title(NOTICE), render.body(NOTICE), 5.0)


@responses.activate
def test_slack_gets_the_message_with_the_deal_linked() -> None:
    hook = responses.post(SLACK, body="ok")
    assert send("target:ops") is None
    assert hook.call_count == 1
    payload = json.loads(hook.calls[0].request.body)
    text = json.dumps(payload, ensure_ascii=False)
    assert "[RoE] Violation PARTNER_DISPLACED: Wayne Enterprises" in text
    for fact in ("Sven Larsen", "Northwind Solutions", "480,000.00 USD", "referral fee 48000.00"):
        assert fact in text, fact
    assert f"<{LINK}|Wayne Enterprises — Batcave DC>" in text  # markdown link, in Slack's form


@responses.activate
def test_teams_workflows_webhook_gets_an_adaptive_card() -> None:
    hook = responses.post(
        re.compile(r"https://prod-42\.westeurope\.logic\.azure\.com.*"), status=202
    )
    assert send("target:sales") is None
    request = hook.calls[0].request
    assert f"/workflows/{WORKFLOW}/triggers/manual/paths/invoke" in request.url
    assert f"sig={SIG}" in request.url
    card = json.dumps(json.loads(request.body), ensure_ascii=False)
    assert "AdaptiveCard" in card and "Sven Larsen" in card and LINK in card


@responses.activate
def test_a_refusal_is_reported_without_the_webhook_url() -> None:
    register_secrets(SETTINGS.secret_values())
    responses.post(SLACK, status=500, body=f"upstream failed for {SLACK}")
    with capture_logs() as logs:
        error = send("target:ops")
    assert error is not None and "500" in error
    assert "s3cretSlackToken" not in error and "s3cretSlackToken" not in repr(logs)
