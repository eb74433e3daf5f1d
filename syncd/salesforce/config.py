"""Connection settings for one Salesforce org (the ``salesforce:`` block of syncd's settings).

Which fields are required depends on the auth mode; the validator lists every missing one
at once, each with the environment variable that sets it, so a first start-up tells the
admin everything to fix in one go. Secrets are ``SecretStr``: they print as ``**********``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

AuthMode = Literal["client_credentials", "jwt", "password", "token"]

# What each auth mode needs besides login_url (token mode never logs in).
REQUIRED_BY_MODE: dict[str, tuple[str, ...]] = {
    "client_credentials": ("client_id", "client_secret"),
    "password": ("client_id", "client_secret", "username", "password"),
    "jwt": ("client_id", "username", "private_key_file"),
    "token": ("access_token", "instance_url"),
}

_API_VERSION = re.compile(r"^\d{2,3}\.0$")


SECRETS = ("client_secret", "password", "access_token")


def setting_name(field: str) -> str:
    """How a user sets ``field``: its key in the settings file and its environment variable
    (secrets: the variable or a file in the secrets directory, never the settings file)."""
    variable = f"SYNCD_SALESFORCE__{field.upper()}"
    if field in SECRETS:
        return (
            f"salesforce.{field} (env {variable} or file salesforce__{field} in SYNCD_SECRETS_DIR)"
        )
    return f"salesforce.{field} (env {variable})"


def _https_base(value: str, key: str) -> str:
    parsed = urlparse(value)
    if parsed.username is not None or parsed.password is not None:
        # Never echoed: the part before the @ may be a password.
        raise ValueError(
            f"salesforce.{key} must not carry a user name or password (https://user:pass@...); "
            "credentials go in their own settings"
        )
    if parsed.scheme != "https" or not parsed.hostname:
        raise ValueError(
            f"salesforce.{key} must be an https:// URL such as https://acme.my.salesforce.com "
            f"(simple-salesforce only speaks HTTPS); got {value!r}"
        )
    if parsed.path not in ("", "/") or parsed.query:
        raise ValueError(f"salesforce.{key} must be a bare origin without a path; got {value!r}")
    return value.rstrip("/")


class SalesforceSettings(BaseModel):
    """How syncd reaches and authenticates to the org."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    auth: AuthMode = "client_credentials"
    # A My Domain URL (https://acme.my.salesforce.com) or the local sandbox.
    login_url: str = "https://login.salesforce.com"
    instance_url: str | None = None
    api_version: str = "62.0"
    client_id: str | None = None
    client_secret: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    private_key_file: Path | None = None
    access_token: SecretStr | None = None
    ca_bundle: Path | None = None
    timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("login_url")
    @classmethod
    def _login_url(cls, value: str) -> str:
        return _https_base(value, "login_url")

    @field_validator("instance_url")
    @classmethod
    def _instance_url(cls, value: str | None) -> str | None:
        return None if value is None else _https_base(value, "instance_url")

    @field_validator("api_version")
    @classmethod
    def _api_version(cls, value: str) -> str:
        value = value.removeprefix("v")
        if not _API_VERSION.match(value):
            raise ValueError(f"salesforce.api_version must look like '62.0'; got {value!r}")
        return value

    @field_validator("private_key_file", "ca_bundle")
    @classmethod
    def _file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file {value} does not exist")
        return value

    @model_validator(mode="after")
    def _required_for_mode(self) -> SalesforceSettings:
        missing = [
            name
            for name in REQUIRED_BY_MODE[self.auth]
            if getattr(self, name) is None or _blank(getattr(self, name))
        ]
        if missing:
            listed = "; ".join(setting_name(name) for name in missing)
            raise ValueError(f"auth mode {self.auth!r} needs settings that are not set: {listed}")
        return self


def _blank(value: object) -> bool:
    if isinstance(value, SecretStr):
        return not value.get_secret_value().strip()
    return isinstance(value, str) and not value.strip()
