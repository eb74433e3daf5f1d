"""A fake org for contract tests: constants and Salesforce-shaped response bodies."""

from __future__ import annotations

from typing import Any

import responses

from syncd.salesforce import RetryPolicy

LOGIN = "https://acme.my.salesforce.com"
INSTANCE = "https://acme-data.my.salesforce.com"
DATA = f"{INSTANCE}/services/data/v62.0"
TOKEN_URL = f"{LOGIN}/services/oauth2/token"
SECRET = "cs-Sup3rS3cret-value"
ACCESS_TOKEN = "00Dxx0000001gPL!AQ4AQ-very-secret-token"
NO_WAIT = RetryPolicy(initial_wait=0, max_wait=0, jitter=0)


def token_body(token: str = ACCESS_TOKEN) -> dict[str, Any]:
    return {"access_token": token, "instance_url": INSTANCE, "token_type": "Bearer"}


def sf_error(code: str, message: str = "", fields: list[str] | None = None) -> list[dict[str, Any]]:
    return [{"errorCode": code, "message": message or code, "fields": fields or []}]


def page(records: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"totalSize": len(records), "done": next_url is None}
    body["records"] = [{"attributes": {"type": "Account", "url": "/x"}, **r} for r in records]
    if next_url:
        body["nextRecordsUrl"] = next_url
    return body


def calls_to(rsps: responses.RequestsMock, fragment: str) -> list[Any]:
    return [c for c in rsps.calls if fragment in c.request.url]
