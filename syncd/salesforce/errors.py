"""The one place that turns simple-salesforce and ``requests`` failures into syncd errors.

Callers above the client only ever see ``syncd.errors``: ``ApiLimitExceeded`` stops the
cycle, ``AuthenticationError`` means the credentials or token were refused,
``RetriableError`` is a temporary failure that outlived its retries, and
``FatalSyncError`` means the request itself does not fit the org (usually a field name in
the mapping). Messages carry Salesforce's own error code and text, never a token: the
token travels in a header, and headers are never part of what we format here.
"""

from __future__ import annotations

from typing import Any

import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from syncd.errors import (
    ApiLimitExceeded,
    AuthenticationError,
    FatalSyncError,
    RetriableError,
    SyncdError,
)

# Error codes that say "try again later" even on a 4xx answer (facts sheet, retry table).
RETRIABLE_CODES = frozenset({"SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW"})
LIMIT_CODE = "REQUEST_LIMIT_EXCEEDED"
SESSION_CODE = "INVALID_SESSION_ID"


def error_entries(exc: BaseException) -> list[dict[str, Any]]:
    """Salesforce's error list (``[{"errorCode", "message", "fields"}]``) from an exception."""
    content = getattr(exc, "content", None)
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        return []
    return [entry for entry in content if isinstance(entry, dict)]


def error_codes(exc: BaseException) -> list[str]:
    return [str(e["errorCode"]) for e in error_entries(exc) if e.get("errorCode")]


def error_code(exc: BaseException) -> str:
    """A short code for logs: Salesforce's errorCode, else ``HTTP_<status>``, else the type."""
    codes = error_codes(exc)
    if codes:
        return codes[0]
    status = getattr(exc, "status", None)
    if isinstance(exc, SalesforceError) and isinstance(status, int):
        return f"HTTP_{status}"
    return type(exc).__name__


def is_retriable(exc: BaseException) -> bool:
    """True only for the explicit list of temporary failures; everything else fails fast."""
    if isinstance(exc, requests.exceptions.SSLError):
        return False  # a certificate problem does not fix itself in a few seconds
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return True
    if isinstance(exc, SalesforceAuthenticationFailed) or not isinstance(exc, SalesforceError):
        return False
    if LIMIT_CODE in error_codes(exc):
        return False
    return exc.status >= 500 or bool(RETRIABLE_CODES.intersection(error_codes(exc)))


def is_invalid_session(exc: BaseException) -> bool:
    return isinstance(exc, SalesforceExpiredSession) and (
        not error_codes(exc) or SESSION_CODE in error_codes(exc)
    )


def describe_errors(exc: BaseException) -> str:
    """``CODE: message (fields: A, B)`` for each error Salesforce returned."""
    parts = []
    for entry in error_entries(exc):
        text = f"{entry.get('errorCode', 'UNKNOWN')}: {entry.get('message', '')}".strip()
        fields = entry.get("fields")
        if fields:
            text += f" (fields: {', '.join(str(f) for f in fields)})"
        parts.append(text)
    if parts:
        return "; ".join(parts)
    content = getattr(exc, "content", None)
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return str(content)[:500] if content else f"HTTP {getattr(exc, 'status', '?')}"


def classify(exc: BaseException, operation: str) -> SyncdError:
    """Map a failure of ``operation`` (e.g. ``query``, ``update Account``) to a syncd error."""
    if isinstance(exc, SyncdError):
        return exc
    if isinstance(exc, requests.exceptions.SSLError):
        return FatalSyncError(
            f"TLS verification failed during {operation}: {exc}. "
            "Check salesforce.ca_bundle (env SYNCD_SALESFORCE__CA_BUNDLE)."
        )
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return RetriableError(f"network failure during {operation}: {type(exc).__name__}: {exc}")
    if isinstance(exc, SalesforceError):
        return _classify_salesforce(exc, operation)
    if isinstance(exc, requests.RequestException):
        return FatalSyncError(f"HTTP request for {operation} failed: {type(exc).__name__}: {exc}")
    return FatalSyncError(f"{operation} failed: {type(exc).__name__}: {exc}")


def _classify_salesforce(exc: SalesforceError, operation: str) -> SyncdError:
    detail = describe_errors(exc)
    codes = error_codes(exc)
    if LIMIT_CODE in codes:
        return ApiLimitExceeded(
            f"Salesforce refused {operation}: {detail}. The org's API allocation is used up; "
            "the cycle stops and the next one starts over once usage drops."
        )
    if isinstance(exc, SalesforceExpiredSession | SalesforceAuthenticationFailed):
        return AuthenticationError(f"Salesforce refused the session during {operation}: {detail}")
    if is_retriable(exc):
        return RetriableError(f"Salesforce failed {operation} (HTTP {exc.status}): {detail}")
    if isinstance(exc, SalesforceMalformedRequest):
        return FatalSyncError(
            f"Salesforce rejected {operation}: {detail}. The request does not fit this org: "
            "check the field and object names in the mapping file."
        )
    if isinstance(exc, SalesforceRefusedRequest):
        return FatalSyncError(
            f"Salesforce refused {operation}: {detail}. Check the integration user's "
            "permissions on these objects and fields."
        )
    if isinstance(exc, SalesforceResourceNotFound):
        return FatalSyncError(f"Salesforce found nothing for {operation}: {detail}")
    return FatalSyncError(f"Salesforce failed {operation} (HTTP {exc.status}): {detail}")
