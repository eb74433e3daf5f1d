"""The notifications: section: YAML plus secrets from the environment, checked at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.errors import ConfigError
from syncd.notify.notifier import Notifier
from syncd.settings import load_settings
from syncd.sfid import make_id
from syncd.store.store import Store

SLACK = "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/s3cretSlackToken0123456789"
TEAMS = (
    "https://prod-42.westeurope.logic.azure.com:443/workflows/0123456789abcdef0123456789abcdef"
    "/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0"
    "&sig=s3cretTeamsSignature0123456789abcdefABCDEF"
)
YAML = """
notifications:
  targets:
    ops_slack: {kind: slack}
    sales_teams: {kind: teams}
    ops_mail: {kind: email, to: [channel-ops@acme.example]}
  smtp: {host: smtp.acme.example, port: 587, security: starttls,
         username: syncd@acme.example, from: syncd@acme.example}
  new_violation:
    to: [ops_slack]
    managers: {%s: sales_teams, gordon.pike@acme.example: gordon.pike@acme.example}
    manager_default: ops_mail
  remedy_owed:
    to: [ops_slack]
    partner_contacts: {%s: alliances@northwind.example}
  exception_request: {to: [ops_slack, ops_mail]}
  digest_threshold: 10
"""
MANAGER_15 = make_id("005", 4)[:15]
PARTNER_15 = make_id("001", 7)[:15]


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "syncd.yaml"
    path.write_text(YAML % (MANAGER_15, PARTNER_15))
    monkeypatch.setenv("SYNCD_NOTIFICATIONS__TARGETS__OPS_SLACK__URL", SLACK)
    monkeypatch.setenv("SYNCD_NOTIFICATIONS__TARGETS__SALES_TEAMS__URL", TEAMS)
    monkeypatch.setenv("SYNCD_NOTIFICATIONS__SMTP__PASSWORD", "smtp-Pa55word!")
    return path


def test_yaml_routes_and_secrets_from_the_environment(config: Path) -> None:
    notify = load_settings(config).notifications
    assert notify.targets["ops_slack"].url is not None
    assert notify.targets["ops_slack"].url.get_secret_value() == SLACK
    assert notify.new_violation.managers == {
        make_id("005", 4): "sales_teams",  # 15-character Ids become 18
        "gordon.pike@acme.example": "gordon.pike@acme.example",
    }
    assert notify.remedy_owed.partner_contacts == {make_id("001", 7): "alliances@northwind.example"}
    assert notify.smtp is not None and notify.smtp.from_address == "syncd@acme.example"
    shown = repr(notify)
    assert "s3cret" not in shown and "Pa55word" not in shown
    assert set(notify.secret_values()) >= {SLACK, TEAMS, "smtp-Pa55word!"}


def test_secrets_directory_files_fill_the_webhook_urls(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNCD_NOTIFICATIONS__TARGETS__OPS_SLACK__URL")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "notifications__targets__ops_slack__url").write_text(SLACK + "\n")
    monkeypatch.setenv("SYNCD_SECRETS_DIR", str(secrets))
    url = load_settings(config).notifications.targets["ops_slack"].url
    assert url is not None and url.get_secret_value() == SLACK


def test_a_missing_webhook_url_names_the_target_and_never_echoes_secrets(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNCD_NOTIFICATIONS__TARGETS__OPS_SLACK__URL")
    monkeypatch.setenv("SYNCD_NOTIFICATIONS__TARGETS__SALES_TEAMS__URL", "ftp://x/" + "s3cret" * 3)
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    text = str(caught.value)
    assert "notifications.targets.ops_slack" in text and "needs its webhook URL" in text
    assert "notifications.targets.sales_teams" in text and "must start with https://" in text
    assert "s3cret" not in text and "Pa55word" not in text


@pytest.mark.parametrize(
    ("yaml", "expected"),
    [
        ("new_violation: {to: [nowhere]}", "new_violation.to names target 'nowhere'"),
        ("targets: {m: {kind: email, to: [a@b.example]}}", "need the `smtp:` section"),
        ("targets: {Ops-Slack: {kind: webhook, url: 'https://x.example/h'}}", "target names"),
        ("new_violation: {managers: {bob: x}}", "'bob' is neither a User Id nor an email"),
        (f"remedy_owed: {{partner_contacts: {{{PARTNER_15}: nobody}}}}", "not an email address"),
        ("smtp: {host: h, from: nobody}", "smtp.from must be an email address"),
        ("digest_hour: 24", "digest_hour"),
    ],
)
def test_bad_notification_settings_fail_at_start_up_naming_the_key(
    tmp_path: Path, yaml: str, expected: str
) -> None:
    path = tmp_path / "syncd.yaml"
    path.write_text("notifications:\n  " + yaml + "\n")
    with pytest.raises(ConfigError, match="invalid settings") as caught:
        load_settings(path)
    assert expected in str(caught.value)


def test_a_url_that_is_not_the_kind_it_claims_is_refused_when_syncd_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "syncd.yaml"
    path.write_text("notifications:\n  targets: {ops: {kind: slack}, team: {kind: teams}}\n")
    monkeypatch.setenv("SYNCD_NOTIFICATIONS__TARGETS__OPS__URL", TEAMS)  # a Teams URL
    monkeypatch.setenv("SYNCD_NOTIFICATIONS__TARGETS__TEAM__URL", TEAMS)
    notify = load_settings(path).notifications
    store = Store.open(None, tmp_path / "state")
    try:
        with pytest.raises(ConfigError) as caught:
            Notifier.configured(notify, store)
    finally:
        store.close()
    text = str(caught.value)
    assert "notifications.targets.ops.url: the URL is not a Slack incoming webhook" in text
    assert "targets.team" not in text and "s3cret" not in text


def test_nothing_configured_means_no_notifier(tmp_path: Path) -> None:
    store = Store.open(None, tmp_path / "state")
    try:
        assert Notifier.configured(load_settings().notifications, store) is None
    finally:
        store.close()
