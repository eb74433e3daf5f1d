"""Settings: YAML file, SYNCD_* environment, a secrets directory, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.errors import ConfigError
from syncd.logs import redact_text
from syncd.settings import SettingsError, load_settings

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


def test_duplicate_keys_are_errors_naming_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "syncd.yaml"
    config.write_text("interval_seconds: 60\nlog_level: info\ninterval_seconds: 30\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    text = str(caught.value)
    assert str(config) in text and "duplicate key 'interval_seconds'" in text
    assert "line 3" in text


@pytest.mark.parametrize("content", ["- state_dir\n", "just words\n", "42\n"])
def test_the_settings_file_must_be_a_mapping(tmp_path: Path, content: str) -> None:
    config = tmp_path / "syncd.yaml"
    config.write_text(content)
    with pytest.raises(ConfigError, match=r"settings file .*syncd\.yaml: expected a mapping"):
        load_settings(config)


def test_a_settings_file_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory, not a file"):
        load_settings(tmp_path)


@pytest.mark.parametrize(
    ("yaml", "key", "variable", "file"),
    [
        ("salesforce:\n  client_secret: {v}\n", "salesforce.client_secret",
         "SYNCD_SALESFORCE__CLIENT_SECRET", "salesforce__client_secret"),
        ("salesforce:\n  password: {v}\n", "salesforce.password",
         "SYNCD_SALESFORCE__PASSWORD", "salesforce__password"),
        ("salesforce:\n  access_token: {v}\n", "salesforce.access_token",
         "SYNCD_SALESFORCE__ACCESS_TOKEN", "salesforce__access_token"),
        ("admin_token: {v}\n", "admin_token", "SYNCD_ADMIN_TOKEN", "admin_token"),
    ],
)  # fmt: skip
def test_a_secret_in_the_settings_file_is_refused_saying_where_it_belongs(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    yaml: str,
    key: str,
    variable: str,
    file: str,
) -> None:
    for name, value in ORG_ENV.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "syncd.yaml"
    config.write_text(yaml.format(v="Planted-Secret-991") + "interval_seconds: 3\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    text = str(caught.value)
    assert f"{key}: secrets do not belong in the settings file" in text
    assert variable in text and file in text and "SYNCD_SECRETS_DIR" in text
    assert "interval_seconds" in text  # the rest of the file is checked in the same run
    assert "Planted-Secret-991" not in text


def test_unknown_environment_variables_are_refused_with_a_suggestion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYNCD_INTERVAL_SECOND", "60")
    monkeypatch.setenv("SYNCD_SALESFORCE__CLIENT_SECRE", "x")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    text = str(caught.value)
    assert "SYNCD_INTERVAL_SECOND: not a syncd setting" in text
    assert "did you mean SYNCD_INTERVAL_SECONDS?" in text
    assert "did you mean SYNCD_SALESFORCE__CLIENT_SECRET?" in text


def test_a_bad_value_names_the_variable_it_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCD_WRITE_CONCURRENCY", "99")
    monkeypatch.setenv("SYNCD_SALESFORCE__TIMEOUT_SECONDS", "fast")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    text = str(caught.value)
    assert "write_concurrency (from SYNCD_WRITE_CONCURRENCY): " in text
    assert "salesforce.timeout_seconds (from SYNCD_SALESFORCE__TIMEOUT_SECONDS): " in text


def test_the_fallback_keeps_what_was_valid(tmp_path: Path) -> None:
    config = tmp_path / "syncd.yaml"
    config.write_text("interval_seconds: 3\nlog_level: debug\ncolour: blue\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert caught.value.failed == {"interval_seconds", "colour"}
    fallback = caught.value.fallback
    assert fallback is not None
    assert (fallback.interval_seconds, fallback.log_level) == (300, "debug")


def test_secrets_dir_files_that_are_not_utf8_are_named_not_shown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "salesforce__client_secret").write_bytes(b"\xffSecret-Bytes-77")
    monkeypatch.setenv("SYNCD_SECRETS_DIR", str(secrets))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    text = str(caught.value)
    assert str(secrets / "salesforce__client_secret") in text and "not UTF-8" in text
    assert "Secret-Bytes-77" not in text


def test_secrets_are_masked_in_logs_even_when_their_section_is_invalid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYNCD_SALESFORCE__CLIENT_SECRET", "Masked-Even-So-123")
    monkeypatch.setenv("SYNCD_ADMIN_TOKEN", "Admin-Token-Masked-456")
    with pytest.raises(SettingsError):
        load_settings()  # no client_id: the section is invalid
    text = redact_text("failed with Masked-Even-So-123 and Admin-Token-Masked-456")
    assert "Masked-Even-So" not in text and "Admin-Token-Masked" not in text


def test_a_misspelled_notification_key_in_the_environment_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYNCD_NOTIFICATIONS__DIGEST_HOURS", "7")
    with pytest.raises(ConfigError, match="digest_hours"):
        load_settings()
