"""Configuration: an optional YAML file, overridden by ``SYNCD_*`` environment variables.

Nested keys use a double underscore in the environment: ``salesforce.client_secret`` is
``SYNCD_SALESFORCE__CLIENT_SECRET``. Secrets (client secret, password, access token) are
meant to come from the environment or from files in ``SYNCD_SECRETS_DIR`` (one file per
setting, named like the variable without the prefix, e.g. ``salesforce__client_secret``),
never from the YAML file that sits in version control.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from syncd.errors import ConfigError
from syncd.salesforce.config import SalesforceSettings
from syncd.validation import format_validation_error

# Where the source checkout keeps the default rules and mapping (editable installs, demo).
PROJECT_ROOT = Path(__file__).resolve().parents[1]
SECRET_KEYS = ("client_secret", "password", "access_token", "admin_token")


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
    bulk_threshold: int = Field(default=50_000, ge=0)
    # sObject Collections calls in flight at once while writing (1 = one after another).
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
    # Days the decision history is kept (longer than the 365-day escalation window by default).
    history_retention_days: int = Field(default=400, ge=1)
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

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
            raise ValueError(f"file {value} does not exist")
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
            sources.append(_SecretsDir(settings_cls, Path(secrets_dir)))
        if settings_cls.model_config.get("yaml_file"):
            sources.append(YamlConfigSettingsSource(settings_cls))
        return tuple(sources)


class _SecretsDir(PydanticBaseSettingsSource):
    """Files named like ``salesforce__client_secret`` (Docker/Kubernetes secrets)."""

    def __init__(self, settings_cls: type[BaseSettings], directory: Path):
        super().__init__(settings_cls)
        self.directory = directory

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if not self.directory.is_dir():
            raise ConfigError(f"SYNCD_SECRETS_DIR={self.directory} is not a directory")
        values: dict[str, Any] = {}
        for path in sorted(self.directory.iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            keys = path.name.lower().removeprefix("syncd_").split("__")
            target = values
            for key in keys[:-1]:
                target = target.setdefault(key, {})
            target[keys[-1]] = path.read_text(encoding="utf-8").strip()
        return values


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from (in order of precedence) overrides, env, secrets dir, YAML file.

    The YAML file is ``config_file`` or else ``$SYNCD_CONFIG``; without either, only the
    environment and defaults count.
    """
    if config_file is None and os.environ.get("SYNCD_CONFIG"):
        config_file = Path(os.environ["SYNCD_CONFIG"])
    settings_cls: type[Settings] = Settings
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"settings file {config_file} does not exist")
        settings_cls = type(
            "FileSettings",
            (Settings,),
            {
                "model_config": SettingsConfigDict(
                    **{**Settings.model_config, "yaml_file": config_file}
                )
            },
        )
    source = str(config_file) if config_file else "environment"
    try:
        return settings_cls(**overrides)
    except ValidationError as exc:
        raise ConfigError(
            f"invalid settings (from {source} and SYNCD_* variables)",
            source=source,
            problems=format_validation_error(exc),
        ) from None
