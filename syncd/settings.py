"""Configuration: an optional YAML file, overridden by ``SYNCD_*`` environment variables.

Nested keys use a double underscore in the environment: ``salesforce.client_secret`` is
``SYNCD_SALESFORCE__CLIENT_SECRET``. Secrets (client secret, password, access token) are
meant to come from the environment or from files in ``SYNCD_SECRETS_DIR`` (one file per
setting, named like the variable without the prefix, e.g. ``salesforce__client_secret``),
never from the YAML file that sits in version control.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from syncd.errors import ConfigError
from syncd.logs import register_secrets
from syncd.notify.settings import NotificationSettings
from syncd.salesforce.bounds import BULK_READ_THRESHOLD
from syncd.salesforce.config import SalesforceSettings
from syncd.settings_sources import FileValues, SecretsDir, env_name, given_secrets, origin
from syncd.validation import format_validation_error, read_yaml_mapping

# Where the source checkout keeps the default rules and mapping (editable installs, demo).
PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Settings whose values are secrets: only from the environment or SYNCD_SECRETS_DIR.
SECRET_SETTINGS = (
    ("salesforce", "client_secret"),
    ("salesforce", "password"),
    ("salesforce", "access_token"),
    ("admin_token",),
)


def _default_file(relative: str) -> Path:
    local = Path(relative)
    return local if local.exists() else PROJECT_ROOT / relative


class Settings(BaseSettings):
    """Every setting syncd reads. README.md lists them with their environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="SYNCD_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    # None until configured: commands that only read the state store work without it.
    salesforce: SalesforceSettings | None = None
    state_dir: Path = Path("state")
    database_url: str | None = None
    rules_file: Path = Field(default_factory=lambda: _default_file("config/rules.yaml"))
    mapping_file: Path = Field(default_factory=lambda: _default_file("mappings/default.yaml"))
    interval_seconds: int = Field(default=300, ge=10)
    # Below this share of the org's daily API allowance left, cycles read but do not write.
    api_reserve_percent: float = Field(default=20.0, ge=0, le=100)
    # Full reads of objects with more rows than this go through Bulk API 2.0.
    bulk_threshold: int = Field(default=BULK_READ_THRESHOLD, ge=0)
    # Writes of more records of an object than this go through a Bulk API 2.0 ingest job.
    bulk_write_threshold: int = Field(default=5_000, ge=201)
    # Write calls in flight at once (1 = one after another).
    write_concurrency: int = Field(default=4, ge=1, le=16)
    # Incremental reads start this long before each watermark (late-committing writes).
    overlap_seconds: int = Field(default=300, ge=0)
    # The admin HTTP API of `syncd run` (health, metrics, status, resync).
    admin_host: str = "127.0.0.1"
    admin_port: int = Field(default=8787, ge=0, le=65535)
    # Bearer token for POST /resync; unset = write endpoints disabled. Env or secrets dir only.
    admin_token: SecretStr | None = None
    # Nightly full reconcile (crontab syntax, UTC) and the daily escalation sweep.
    full_reconcile_cron: str = "0 2 * * *"
    # `syncd run` upserts the scorecards into RoE_Scorecard__c once a day, at the first
    # hourly check from this hour (UTC) on; a day skipped for the API reserve is retried.
    scorecard_publish: bool = True
    scorecard_publish_hour: int = Field(default=6, ge=0, le=23)
    # Days the decision history is kept (longer than the 365-day escalation window by default).
    history_retention_days: int = Field(default=400, ge=1)
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Slack, Teams, webhooks, email and platform events (README, Notifications).
    notifications: NotificationSettings = NotificationSettings()

    def require_salesforce(self) -> SalesforceSettings:
        if self.salesforce is None:
            raise ConfigError(
                "no Salesforce org is configured: set SYNCD_SALESFORCE__LOGIN_URL, "
                "SYNCD_SALESFORCE__CLIENT_ID and SYNCD_SALESFORCE__CLIENT_SECRET (or the "
                "`salesforce:` section of the settings file; see README, Connecting an org)"
            )
        return self.salesforce

    @field_validator("full_reconcile_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"not a crontab expression ({exc})") from None
        return value

    @field_validator("rules_file", "mapping_file")
    @classmethod
    def _exists(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError(
                f"{value} is not a file" if value.exists() else f"file {value} does not exist"
            )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        secrets_dir = os.environ.get("SYNCD_SECRETS_DIR")
        if secrets_dir:
            sources.append(SecretsDir(settings_cls, Path(secrets_dir)))
        return tuple(sources)


class SettingsError(ConfigError):
    """Invalid settings, every problem listed.

    ``fallback`` is what start-up can go on checking with (the keys that failed at their
    defaults, or None when even that fails) and ``failed`` the top-level keys that
    failed, so that the mapping, rules and store can be checked in the same run without
    checking a default file in place of the one the user meant.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str,
        problems: list[str],
        fallback: Settings | None,
        failed: frozenset[str],
    ):
        super().__init__(message, source=source, problems=problems)
        self.fallback = fallback
        self.failed = failed


def _with_file(values: dict[str, Any], lenient: bool = False) -> type[Settings]:
    """Settings whose lowest-precedence source is ``values`` (the settings file)."""
    config = {**Settings.model_config, "extra": "ignore" if lenient else "forbid"}

    class FileSettings(Settings):
        model_config = SettingsConfigDict(**config)  # type: ignore[typeddict-item]

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            chosen = super().settings_customise_sources(
                settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
            )
            return (*chosen, FileValues(settings_cls, values))

    return FileSettings


def _secrets_in_file(values: dict[str, Any]) -> list[str]:
    """Refuse secrets in the settings file (it sits in version control); drop them."""
    problems = []
    for path in SECRET_SETTINGS:
        section: Any = values
        for key in path[:-1]:
            section = section.get(key) if isinstance(section, dict) else None
        if isinstance(section, dict) and path[-1] in section:
            del section[path[-1]]
            problems.append(
                f"{'.'.join(path)}: secrets do not belong in the settings file; set "
                f"{env_name(path)} or put it in a file named {'__'.join(path)} in "
                "SYNCD_SECRETS_DIR"
            )
    return problems


def _known_variables() -> set[str]:
    names = {"SYNCD_CONFIG", "SYNCD_SECRETS_DIR"}
    names.update(env_name((name,)) for name in Settings.model_fields)
    names.update(env_name(("salesforce", name)) for name in SalesforceSettings.model_fields)
    return names


# Sections whose keys are open-ended (target names, routes): their own models refuse an
# unknown key, naming it, so their variables are not listed one by one here.
_OPEN_SECTIONS = ("notifications",)


def _unknown_variables() -> list[str]:
    known = _known_variables()
    nested = tuple(env_name((section,)) + "__" for section in _OPEN_SECTIONS)
    problems = []
    for name in sorted(n.upper() for n in os.environ if n.upper().startswith("SYNCD_")):
        if name not in known and not name.startswith(nested):
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            problems.append(f"{name}: not a syncd setting (README, Settings){hint}")
    return problems


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from (in order of precedence) overrides, env, secrets dir, YAML file.

    The YAML file is ``config_file`` or else ``$SYNCD_CONFIG``; without either, only the
    environment and defaults count. Every problem is listed at once (SettingsError).
    """
    if config_file is None and os.environ.get("SYNCD_CONFIG"):
        config_file = Path(os.environ["SYNCD_CONFIG"])
    values: dict[str, Any] = {}
    if config_file is not None:
        if not config_file.exists():
            raise ConfigError(
                f"settings file {config_file} does not exist", source=str(config_file)
            )
        values = read_yaml_mapping(config_file, "settings")
    source = f"{config_file} and SYNCD_* variables" if config_file else "SYNCD_* variables"
    register_secrets(given_secrets(SECRET_SETTINGS))  # masked in logs even if invalid
    problems = _secrets_in_file(values) + _unknown_variables()
    try:
        settings = _with_file(values)(**overrides)
    except ValidationError as exc:
        failed = frozenset(str(e["loc"][0]) for e in exc.errors() if e["loc"])
        problems += format_validation_error(exc, origin=origin)
        raise SettingsError(
            f"invalid settings (from {source})",
            source=source,
            problems=problems,
            fallback=_fallback(values, overrides, failed),
            failed=failed,
        ) from None
    if problems:
        raise SettingsError(
            f"invalid settings (from {source})",
            source=source,
            problems=problems,
            fallback=settings,
            failed=frozenset(),
        )
    return settings


def _fallback(
    values: dict[str, Any], overrides: dict[str, Any], failed: frozenset[str]
) -> Settings | None:
    """The settings with every failed key at its default (None for the org section)."""
    fields = Settings.model_fields
    defaults = {
        name: None if name == "salesforce" else fields[name].get_default(call_default_factory=True)
        for name in failed
        if name in fields
    }
    try:
        return _with_file(values, lenient=True)(**{**overrides, **defaults})
    except (ValidationError, ConfigError):
        return None
