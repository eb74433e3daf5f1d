"""The one place that turns simple-salesforce and ``requests`` failures into syncd errors.

Callers above the client only ever see ``syncd.errors``: ``ApiLimitExceeded`` stops the
cycle, ``AuthenticationError`` means the credentials or token were refused,
``RetriableError`` is a temporary failure that outlived its retries, and
``FatalSyncError`` means the request itself does not fit the org (usually a field name in
the mapping) or the answer is not one Salesforce gives. Messages carry Salesforce's own
error code and text, never a token: the token travels in a header, and headers are never
part of what we format here.

The same classifier judges a Composite sub-response: ``sub_response_error`` turns one into
the simple-salesforce exception its status would have raised at the top level.
"""

from __future__ import annotations

import errno
import ssl
from collections.abc import Iterator, Mapping
from typing import Any

import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
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
RETRIABLE_CODES = frozenset({"SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW", "QUERY_TIMEOUT"})
LIMIT_CODE = "REQUEST_LIMIT_EXCEEDED"
SESSION_CODE = "INVALID_SESSION_ID"
# Running out of descriptors, buffers or memory passes; a missing CA bundle does not.
_RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
# OpenSSL libraries that fail when the CA bundle itself is unusable (not PEM, no certs).
_BUNDLE_LIBRARIES = frozenset({"PEM", "X509"})
_VERIFY_FAILED = "CERTIFICATE_VERIFY_FAILED"  # OpenSSL's reason, in every wrapper's text
_NO_BUNDLE = "Could not find a suitable TLS CA certificate bundle"  # requests' own check
_STATUS_ERRORS: Mapping[int, type[SalesforceError]] = {
    300: SalesforceMoreThanOneRecord,
    400: SalesforceMalformedRequest,
    401: SalesforceExpiredSession,
    403: SalesforceRefusedRequest,
    404: SalesforceResourceNotFound,
}  # simple-salesforce's own mapping (util.exception_handler), for sub-responses


class MalformedAnswer(FatalSyncError):
    """The org answered, but not the way Salesforce answers: a fake or a proxy in between."""


def sub_response_error(answer: Mapping[str, Any], name: str) -> SalesforceError | None:
    """The exception a Composite sub-response would have raised as a call of its own.

    None for a 2xx. ``name`` (``change query for Account``) is kept on each error entry,
    so the message says which sub-request failed.
    """
    status = answer.get("httpStatusCode")
    if isinstance(status, int) and 200 <= status < 300:
        return None
    code = status if isinstance(status, int) else 0
    body = answer.get("body")
    entries = body if isinstance(body, list) else [body] if isinstance(body, dict) else []
    content = [{**e, "subrequest": name} for e in entries if isinstance(e, dict)]
    if not content:
        content = [{"errorCode": f"HTTP_{code}", "message": str(body)[:200], "subrequest": name}]
    error_class = _STATUS_ERRORS.get(code, SalesforceGeneralError)
    return error_class(str(answer.get("referenceId", "")), code, name, content)  # type: ignore[arg-type]


def _links(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps (requests -> urllib3 -> ssl/socket)."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        link = stack.pop()
        if not isinstance(link, BaseException) or id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        stack.extend([link.__cause__, link.__context__, getattr(link, "reason", None)])
        stack.extend(link.args)


def is_certificate_failure(exc: BaseException) -> bool:
    """The server's certificate failed verification, or the CA bundle cannot be used.

    Only these are fatal transport failures: a reset or EOF during the TLS handshake, or
    running out of file descriptors while loading the bundle, also arrive as
    ``requests.exceptions.SSLError`` but pass by themselves.
    """
    for link in _links(exc):
        if isinstance(link, ssl.SSLCertVerificationError) or _VERIFY_FAILED in str(link):
            return True
        if isinstance(link, ssl.SSLError) and getattr(link, "library", None) in _BUNDLE_LIBRARIES:
            return True
        if type(link) is OSError and str(link).startswith(_NO_BUNDLE):
            return True
    return False


def is_transport_failure(exc: BaseException) -> bool:
    """A network failure that may pass: resets, timeouts, handshake EOFs, EMFILE."""
    if is_certificate_failure(exc):
        return False
    if isinstance(
        exc,
        requests.ConnectionError
        | requests.Timeout
        | requests.exceptions.ChunkedEncodingError
        | requests.exceptions.ContentDecodingError
        | ConnectionError
        | TimeoutError,
    ):
        return True
    return isinstance(exc, OSError) and exc.errno in _RESOURCE_ERRNOS


def is_concurrency_limit(exc: BaseException) -> bool:
    """REQUEST_LIMIT_EXCEEDED for concurrent long requests: back off and retry (facts B)."""
    return any(
        e.get("errorCode") == LIMIT_CODE and "concurrent" in str(e.get("message", "")).lower()
        for e in error_entries(exc)
    )


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
    """A short code for logs: Salesforce's errorCode, else ``HTTP_<status>``, else the type.

    A classified error gives the code of the Salesforce error behind it, if there is one.
    """
    cause = exc.__cause__
    if isinstance(exc, SyncdError) and cause is not None and error_codes(cause):
        return error_codes(cause)[0]
    codes = error_codes(exc)
    if codes:
        return codes[0]
    status = getattr(exc, "status", None)
    if isinstance(exc, SalesforceError) and isinstance(status, int):
        return f"HTTP_{status}"
    return type(exc).__name__


def is_retriable(exc: BaseException) -> bool:
    """True only for the explicit list of temporary failures; everything else fails fast."""
    if is_transport_failure(exc):
        return True
    if isinstance(exc, SalesforceAuthenticationFailed) or not isinstance(exc, SalesforceError):
        return False
    if LIMIT_CODE in error_codes(exc):
        return is_concurrency_limit(exc)
    return exc.status >= 500 or bool(RETRIABLE_CODES.intersection(error_codes(exc)))


def stops_cycle(exc: SyncdError) -> bool:
    """Errors no other way of reading can get around: the allowance, the credentials."""
    return isinstance(exc, ApiLimitExceeded | AuthenticationError)


def is_invalid_session(exc: BaseException) -> bool:
    return isinstance(exc, SalesforceExpiredSession) and (
        not error_codes(exc) or SESSION_CODE in error_codes(exc)
    )


def describe_errors(exc: BaseException) -> str:
    """``CODE: message (fields: A, B)`` for each error Salesforce returned."""
    parts = []
    for entry in error_entries(exc):
        text = f"{entry.get('errorCode', 'UNKNOWN')}: {entry.get('message', '')}".strip()
        if entry.get("subrequest"):
            text = f"{entry['subrequest']}: {text}"
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


def malformed(operation: str, answered: str | None, what: str) -> MalformedAnswer:
    """The org answered in a way Salesforce never does; say what came back and what to check.

    ``answered`` is the request and its status (``PATCH composite/sobjects with 204``).
    """
    said = f"answered {answered} and" if answered else "answered with"
    return MalformedAnswer(
        f"the org {said} {what} (syncd asked for: {operation}); "
        "is this a Salesforce API endpoint? Check salesforce.login_url / instance_url."
    )


def classify(exc: BaseException, operation: str, answered: str | None = None) -> SyncdError:
    """Map a failure of ``operation`` (e.g. ``query``, ``update Account``) to a syncd error.

    ``answered`` (the request and its status, when one came back) sharpens the message of
    an answer Salesforce would never give.
    """
    if isinstance(exc, SyncdError):
        return exc
    if is_certificate_failure(exc):
        return FatalSyncError(
            f"TLS verification failed during {operation}: {exc}. "
            "Check salesforce.ca_bundle (env SYNCD_SALESFORCE__CA_BUNDLE)."
        )
    if is_transport_failure(exc):
        return RetriableError(f"network failure during {operation}: {type(exc).__name__}: {exc}")
    if isinstance(exc, SalesforceError):
        return _classify_salesforce(exc, operation)
    if isinstance(exc, ValueError | LookupError | TypeError):
        # A JSON body that does not parse, a header or key Salesforce always sends that is
        # missing (simple-salesforce indexes them blindly), a value of the wrong type.
        return malformed(
            operation,
            answered,
            f"an answer Salesforce never gives ({type(exc).__name__}: {str(exc)[:200]})",
        )
    if isinstance(exc, requests.RequestException):
        return FatalSyncError(f"HTTP request for {operation} failed: {type(exc).__name__}: {exc}")
    return FatalSyncError(f"{operation} failed: {type(exc).__name__}: {exc}")


def _classify_salesforce(exc: SalesforceError, operation: str) -> SyncdError:
    detail = describe_errors(exc)
    codes = error_codes(exc)
    if LIMIT_CODE in codes and is_concurrency_limit(exc):
        return RetriableError(
            f"Salesforce refused {operation}: {detail}. Too many long requests ran at once "
            "in the org; the retries ran out, the next cycle tries again."
        )
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
