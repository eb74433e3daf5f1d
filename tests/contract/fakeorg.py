"""A fake org for contract tests: constants and Salesforce-shaped response bodies."""

from __future__ import annotations

from typing import Any

import requests
import responses
import urllib3.exceptions

from syncd.salesforce import RetryPolicy

LOGIN = "https://acme.my.salesforce.com"
INSTANCE = "https://acme-data.my.salesforce.com"
DATA = f"{INSTANCE}/services/data/v62.0"
TOKEN_URL = f"{LOGIN}/services/oauth2/token"
VERSIONS_URL = f"{INSTANCE}/services/data/"  # unmetered; asked once per client
SERVED = ("60.0", "61.0", "62.0")
SECRET = "cs-Sup3rS3cret-value"
ACCESS_TOKEN = "00Dxx0000001gPL!AQ4AQ-very-secret-token"
NO_WAIT = RetryPolicy(initial_wait=0, max_wait=0, jitter=0)


def token_body(token: str = ACCESS_TOKEN) -> dict[str, Any]:
    return {"access_token": token, "instance_url": INSTANCE, "token_type": "Bearer"}


def versions_body(served: tuple[str, ...] = SERVED) -> list[dict[str, str]]:
    return [{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in served]


def sf_error(code: str, message: str = "", fields: list[str] | None = None) -> list[dict[str, Any]]:
    return [{"errorCode": code, "message": message or code, "fields": fields or []}]


def page(records: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"totalSize": len(records), "done": next_url is None}
    body["records"] = [{"attributes": {"type": "Account", "url": "/x"}, **r} for r in records]
    if next_url:
        body["nextRecordsUrl"] = next_url
    return body


def ssl_error(cause: BaseException) -> requests.exceptions.SSLError:
    """What requests raises for a TLS failure: SSLError(MaxRetryError(urllib3 SSLError(cause)))."""
    reason = urllib3.exceptions.SSLError(cause)
    return requests.exceptions.SSLError(urllib3.exceptions.MaxRetryError(None, INSTANCE, reason))


def calls_to(rsps: responses.RequestsMock, fragment: str) -> list[Any]:
    return [c for c in rsps.calls if fragment in c.request.url]


def api_calls(rsps: responses.RequestsMock) -> list[Any]:
    """The calls that count against the org's allowance: not logins, not the version list."""
    return [
        c for c in rsps.calls if "/oauth2/" not in c.request.url and c.request.url != VERSIONS_URL
    ]
