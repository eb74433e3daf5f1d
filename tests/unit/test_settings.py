"""Settings: YAML file, SYNCD_* environment, a secrets directory, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.errors import ConfigError
from syncd.settings import load_settings

ORG_ENV = {
    "SYNCD_SALESFORCE__LOGIN_URL": "https://acme.my.salesforce.com",
    "SYNCD_SALESFORCE__CLIENT_ID": "3MVGclient",
    "SYNCD_SALESFORCE__CLIENT_SECRET": "s3cret-from-env",
}


def test_defaults_need_no_org_until_one_is_used() -> None:
    settings = load_settings()
    assert settings.salesforce is None
    assert settings.interval_seconds == 300
    with pytest.raises(ConfigError, match="SYNCD_SALESFORCE__CLIENT_ID"):
        settings.require_salesforce()


def test_nested_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ORG_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SYNCD_INTERVAL_SECONDS", "60")
    settings = load_settings()
    sf = settings.require_salesforce()
    assert sf.client_id == "3MVGclient"
    assert sf.client_secret is not None
    assert sf.client_secret.get_secret_value() == "s3cret-from-env"
    assert "s3cret" not in repr(settings)
    assert settings.interval_seconds == 60


def test_environment_beats_the_yaml_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "syncd.yaml"
    config.write_text("interval_seconds: 120\nlog_level: debug\n")
    monkeypatch.setenv("SYNCD_INTERVAL_SECONDS", "30")
    settings = load_settings(config)
    assert settings.interval_seconds == 30
    assert settings.log_level == "debug"


def test_secrets_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "salesforce__client_secret").write_text("from-a-file\n")
    monkeypatch.setenv("SYNCD_SECRETS_DIR", str(secrets))
    monkeypatch.setenv("SYNCD_SALESFORCE__CLIENT_ID", "3MVGclient")
    monkeypatch.setenv("SYNCD_SALESFORCE__LOGIN_URL", "https://acme.my.salesforce.com")
    sf = load_settings().require_salesforce()
    assert sf.client_secret is not None
    assert sf.client_secret.get_secret_value() == "from-a-file"


def test_every_problem_is_listed_with_its_key(tmp_path: Path) -> None:
    config = tmp_path / "syncd.yaml"
    config.write_text("interval_seconds: 3\nlog_level: loud\nrules_file: nowhere.yaml\ncolour: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    text = str(caught.value)
    assert str(config) in text
    for key in ("interval_seconds", "log_level", "rules_file", "colour"):
        assert key in text, key


def test_missing_settings_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"absent\.yaml"):
        load_settings(tmp_path / "absent.yaml")


def test_incomplete_org_settings_name_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCD_SALESFORCE__LOGIN_URL", "https://acme.my.salesforce.com")
    with pytest.raises(ConfigError, match="CLIENT_ID"):
        load_settings()


def test_the_example_settings_file_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "syncd.example.yaml"
    monkeypatch.chdir(example.parents[1])  # its rules/mapping paths are relative to the checkout
    monkeypatch.setenv("SYNCD_SALESFORCE__CLIENT_SECRET", "from-the-environment")
    settings = load_settings(example)
    assert settings.require_salesforce().login_url == "https://acme.my.salesforce.com"
    assert settings.admin_port == 8787 and settings.api_reserve_percent == 20
