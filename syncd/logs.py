"""Logging: structlog, JSON lines off a terminal, readable console on one; secrets redacted.

Every line logged inside a cycle carries its ``run_id`` (bound with contextvars by the
cycle). Redaction is a processor, so it covers every event, whoever logs it: keys that
name secrets are masked, and any registered secret value is replaced wherever it appears.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, Literal

import structlog

_SECRET_KEY_PARTS = ("password", "secret", "token", "authorization", "private_key", "session_id")
_REDACTED = "***"
_known_secrets: set[str] = set()


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember secret values so they are masked even inside free text (error messages)."""
    _known_secrets.update(v for v in values if v and len(v) >= 4)


def scrub(text: str) -> str:
    """``text`` with every registered secret masked (for errors kept or shown)."""
    return str(_scrub(text))


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        for secret in _known_secrets:
            if secret in value:
                value = value.replace(secret, _REDACTED)
        return value
    if isinstance(value, dict):
        return {k: _redact_pair(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v) for v in value)
    return value


def _redact_pair(key: str, value: Any) -> Any:
    if any(part in str(key).lower() for part in _SECRET_KEY_PARTS) and value:
        return _REDACTED
    return _scrub(value)


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key != "event":
            event_dict[key] = _redact_pair(key, event_dict[key])
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def configure_logging(
    log_format: Literal["auto", "json", "console"] = "auto",
    level: str = "info",
    stream: Any = None,
) -> None:
    stream = stream or sys.stderr
    use_json = log_format == "json" or (log_format == "auto" and not stream.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
