"""Targets as Apprise services, and one send with a timeout. The only module that sees secrets.

Apprise (https://github.com/caronc/apprise) speaks Slack incoming webhooks, Microsoft
Teams Workflows webhooks (the successor of the retired Office 365 connector webhooks),
generic JSON webhooks and SMTP (STARTTLS or implicit TLS, certificates verified), so
syncd hand-writes none of them. Services are built from parsed parts, never from a URL
string with the password pasted in. Apprise keeps its own log lines in the call's result
(nothing reaches syncd's logs from it); a failure is described by those lines, with every
registered secret masked.
"""

from __future__ import annotations

import warnings
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import apprise
from apprise.plugins.slack import NotifySlack
from apprise.plugins.workflows import NotifyWorkflows

with warnings.catch_warnings():
    # Apprise's email plugin imports the stdlib's imghdr, deprecated on 3.11+; loading it
    # once here keeps that warning out of every send (and out of filterwarnings=error).
    warnings.simplefilter("ignore", DeprecationWarning)
    import apprise.plugins.email

from syncd.logs import redact_text
from syncd.notify.message import KEY_HEADER
from syncd.notify.settings import NotificationSettings, SmtpSettings, Target

_ASSET = apprise.AppriseAsset(async_mode=False, app_id="syncd", app_desc="syncd RoE")
_SECURITY = {"starttls": "starttls", "ssl": "ssl", "none": "insecure"}
_NATIVE: dict[str, type] = {"slack": NotifySlack, "teams": NotifyWorkflows}
_EXPECTED = {
    "slack": "a Slack incoming webhook (https://hooks.slack.com/services/...)",
    "teams": "a Teams Workflows webhook (https://...logic.azure.com/workflows/... or "
    "https://...powerplatform.com/.../workflows/...)",
}


class NotConfigured(LookupError):
    """The message's target is no longer in the settings."""


def service(target: str, settings: NotificationSettings, key: str) -> Any:
    """The Apprise service for ``target`` (``target:<name>``, ``email:``/``partner:<addr>``)."""
    kind, _, name = target.partition(":")
    if kind in ("email", "partner"):
        return _instantiate(_email(_smtp(settings, target), (name,), settings))
    configured = settings.targets.get(name) if kind == "target" else None
    if configured is None:
        raise NotConfigured(f"{target} is not configured")
    if configured.kind == "email":
        return _instantiate(_email(_smtp(settings, target), configured.to, settings))
    if configured.kind == "webhook":
        return _instantiate(_webhook(configured, key, settings))
    return _native(configured, settings)


def check(settings: NotificationSettings) -> list[str]:
    """Problems with the targets that only Apprise can see (URLs it does not recognise)."""
    problems = []
    for name in settings.targets:
        try:
            service(f"target:{name}", settings, "check")
        except NotConfigured as exc:
            problems.append(f"notifications.targets.{name}.url: {exc}")
    return problems


def send(plugin: Any, title: str, body: str, timeout: float) -> str | None:
    """Send once; None when the service accepted it, else why not (secrets masked)."""
    notifier = apprise.Apprise(asset=_ASSET)
    notifier.add(plugin)
    # Each socket operation has ``timeout``; the whole call gets a little more.
    result = notifier.notify(
        body=body,
        title=title,
        body_format=apprise.NotifyFormat.MARKDOWN,
        timeout=timeout * 3,
    )
    if result:
        return None
    lines = [entry.message for entry in result.logs()]
    return redact_text("; ".join(lines)[:500] or f"{result.status.name.lower()} (no detail)")


def _native(target: Target, settings: NotificationSettings) -> Any:
    """Slack and Teams: the webhook URL exactly as Slack or Teams hands it out."""
    assert target.url is not None  # the settings guarantee it
    plugin = apprise.Apprise.instantiate(target.url.get_secret_value().strip(), asset=_ASSET)
    if plugin is None or not isinstance(plugin, _NATIVE[target.kind]):
        raise NotConfigured(f"the URL is not {_EXPECTED[target.kind]}")
    plugin.socket_connect_timeout = settings.timeout_seconds
    plugin.socket_read_timeout = settings.timeout_seconds
    return plugin


def _webhook(target: Target, key: str, settings: NotificationSettings) -> dict[str, Any]:
    assert target.url is not None
    parts = urlsplit(target.url.get_secret_value().strip())
    return {
        "schema": "jsons" if parts.scheme == "https" else "json",
        "host": parts.hostname,
        "port": parts.port,
        "user": parts.username,
        "password": parts.password,
        "fullpath": parts.path or "/",
        "params": dict(parse_qsl(parts.query)),
        "headers": {KEY_HEADER: key},
        **_timeouts(settings),
    }


def _email(
    smtp: SmtpSettings, to: tuple[str, ...], settings: NotificationSettings
) -> dict[str, Any]:
    security = _SECURITY[smtp.security]
    return {
        "schema": "mailto" if security == "insecure" else "mailtos",
        "host": smtp.host,
        "port": smtp.port,
        "smtp_host": smtp.host,
        "user": smtp.username,
        "password": smtp.password.get_secret_value() if smtp.password else None,
        "from_addr": f"{smtp.from_name} <{smtp.from_address}>",
        "targets": list(to),
        "secure_mode": security,
        **_timeouts(settings),
    }


def _smtp(settings: NotificationSettings, target: str) -> SmtpSettings:
    if settings.smtp is None:
        raise NotConfigured(f"{target} needs the smtp: settings")
    return settings.smtp


def _timeouts(settings: NotificationSettings) -> dict[str, float]:
    return {"cto": settings.timeout_seconds, "rto": settings.timeout_seconds}


def _instantiate(parts: dict[str, Any]) -> Any:
    plugin = apprise.Apprise.instantiate(
        {k: v for k, v in parts.items() if v is not None}, asset=_ASSET
    )
    if plugin is None:
        raise NotConfigured(f"Apprise cannot build a {parts['schema']} service from the settings")
    return plugin
