"""The ``notifications:`` section of the settings: targets, routes, SMTP, digest, events.

A *target* is a named place a message can go: a Slack incoming webhook, a Microsoft
Teams Workflows webhook, a generic JSON webhook, or email addresses reached through the
``smtp:`` server. *Routes* say which targets hear which event. Webhook URLs and the SMTP
password are secrets (``SecretStr``): set them in the environment or the secrets
directory (``SYNCD_NOTIFICATIONS__TARGETS__OPS_SLACK__URL``), never in the YAML file.
Every cross-reference (a route naming a target, an email target without SMTP) is checked
at start-up, naming the key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from syncd.sfid import InvalidSalesforceId, to_18

TargetKind = Literal["slack", "teams", "webhook", "email"]
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")  # usable in SYNCD_* variable names
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Target(_Model):
    """One destination. ``url``: the webhook (a secret); ``to``: addresses (email)."""

    kind: TargetKind
    url: SecretStr | None = None
    to: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _complete(self) -> Target:
        # Messages never echo the URL: it is the secret.
        if self.kind == "email":
            if not self.to:
                raise ValueError("an email target needs `to:` (one or more addresses)")
            bad = [a for a in self.to if not is_email(a)]
            if bad:
                raise ValueError(f"not email addresses: {', '.join(bad)}")
            if self.url is not None:
                raise ValueError("an email target takes `to:`, not `url:`")
            return self
        if self.url is None or not self.url.get_secret_value().strip():
            raise ValueError(
                f"a {self.kind} target needs its webhook URL (a secret: set it in the "
                "environment or the secrets directory, see README Notifications)"
            )
        url = self.url.get_secret_value().strip()
        allowed = ("https://", "http://") if self.kind == "webhook" else ("https://",)
        if not url.startswith(allowed):
            raise ValueError(f"a {self.kind} target's URL must start with {' or '.join(allowed)}")
        return self


class SmtpSettings(_Model):
    host: str
    port: int | None = Field(default=None, ge=1, le=65535)  # default: by security
    # starttls: plain then STARTTLS (587); ssl: TLS from the first byte (465); none: plain (25)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    from_address: str = Field(alias="from")
    from_name: str = "syncd"

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @field_validator("from_address")
    @classmethod
    def _from(cls, value: str) -> str:
        if not is_email(value):
            raise ValueError("smtp.from must be an email address")
        return value


class Route(_Model):
    to: tuple[str, ...] = ()  # target names: channel operations
    digest: bool = False  # always collect into the daily digest


class ViolationRoute(Route):
    # The rep's manager: manager User Id or email -> a target name or an email address.
    managers: dict[str, str] = {}
    # Managers not listed (and reps without an active manager); None: nothing.
    manager_default: str | None = None

    @field_validator("managers")
    @classmethod
    def _manager_keys(cls, value: dict[str, str]) -> dict[str, str]:
        return {_manager_key(k): v for k, v in value.items()}


class RemedyRoute(Route):
    # The displaced partner's contact: partner Account Id -> email address.
    partner_contacts: dict[str, str] = {}

    @field_validator("partner_contacts")
    @classmethod
    def _contacts(cls, value: dict[str, str]) -> dict[str, str]:
        out = {}
        for key, address in value.items():
            if not is_email(address):
                raise ValueError(f"{key}: {address!r} is not an email address")
            out[_account_id(key)] = address
        return out


class NotificationSettings(_Model):
    targets: dict[str, Target] = {}
    smtp: SmtpSettings | None = None
    new_violation: ViolationRoute = ViolationRoute()
    remedy_owed: RemedyRoute = RemedyRoute()
    exception_request: Route = Route()
    # A target that would get more than this many messages from one cycle gets them in
    # its next daily digest instead (0: never by volume).
    digest_threshold: int = Field(default=20, ge=0)
    digest_hour: int = Field(default=7, ge=0, le=23)  # UTC
    # Publish RoE_Violation__e per new violation (for orgs that notify with Flow).
    platform_events: bool = False
    # The currency of Amount when the mapping reads no CurrencyIsoCode.
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)  # per send
    delivery_interval_seconds: int = Field(default=30, ge=5)  # the daemon's delivery job
    retry_base_seconds: int = Field(default=30, ge=1)  # first retry; doubles, capped at 1 h
    max_attempts: int = Field(default=20, ge=1)  # then the message is marked failed

    @field_validator("targets")
    @classmethod
    def _target_names(cls, value: dict[str, Target]) -> dict[str, Target]:
        bad = [name for name in value if not _NAME.match(name)]
        if bad:
            raise ValueError(
                f"target names must be lower-case letters, digits and _ (they appear in "
                f"SYNCD_* variable names): {', '.join(bad)}"
            )
        return value

    @model_validator(mode="after")
    def _references(self) -> NotificationSettings:
        problems = list(self._dangling())
        emails = any(t.kind == "email" for t in self.targets.values()) or self._direct_emails()
        if emails and self.smtp is None:
            problems.append("email targets or addresses need the `smtp:` section")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _dangling(self) -> Iterator[str]:
        for key, name in self._named_references():
            if not is_email(name) and name not in self.targets:
                yield f"{key} names target {name!r}, which is not under `targets:`"

    def _named_references(self) -> Iterator[tuple[str, str]]:
        for route_name in ("new_violation", "remedy_owed", "exception_request"):
            route: Route = getattr(self, route_name)
            for name in route.to:
                yield f"{route_name}.to", name
        for manager, name in self.new_violation.managers.items():
            yield f"new_violation.managers.{manager}", name
        if self.new_violation.manager_default:
            yield "new_violation.manager_default", self.new_violation.manager_default

    def _direct_emails(self) -> bool:
        names = [n for _, n in self._named_references()]
        return any(is_email(n) for n in names) or bool(self.remedy_owed.partner_contacts)

    @property
    def active(self) -> bool:
        """Anything to do at all (plain installs pay nothing for notifications)."""
        return bool(self.platform_events or self.targets)

    def secret_values(self) -> list[str]:
        """Every secret here, for log redaction: URLs, their paths, the SMTP password."""
        values: list[str] = []
        for target in self.targets.values():
            if target.url is not None:
                values.extend(_url_secrets(target.url.get_secret_value()))
        if self.smtp is not None and self.smtp.password is not None:
            values.append(self.smtp.password.get_secret_value())
        return values


def _url_secrets(url: str) -> list[str]:
    """The URL, and its path and query: error texts of HTTP clients quote those alone."""
    url = url.strip()
    _scheme, _, rest = url.partition("://")
    _host, slash, tail = rest.partition("/")
    found = [url]
    if slash and len(tail) >= 4:
        found.append("/" + tail)
        # Long path or query parts are the tokens (Slack's, a Workflows signature).
        found.extend(part for part in re.split(r"[/?&=]", tail) if len(part) >= 16)
    return found


def _manager_key(key: str) -> str:
    if is_email(key):
        return key.lower()
    try:
        return to_18(key)
    except InvalidSalesforceId:
        raise ValueError(f"{key!r} is neither a User Id nor an email address") from None


def _account_id(key: str) -> str:
    try:
        return to_18(key)
    except InvalidSalesforceId:
        raise ValueError(f"{key!r} is not an Account Id") from None
