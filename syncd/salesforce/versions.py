"""API version discovery: does the org serve the configured ``salesforce.api_version``?

``GET /services/data/`` lists the versions an instance serves. It needs no session and
Salesforce does not meter it (no ``Sforce-Limit-Info``), so the client asks once, right
after its first login, and an org that does not serve the configured version stops
syncd with the versions it does serve, instead of NOT_FOUND on every describe.
"""

from __future__ import annotations

from functools import partial
from typing import Any, cast

import requests
from simple_salesforce.exceptions import SalesforceGeneralError

from syncd.errors import FatalSyncError, SyncdError
from syncd.salesforce.config import setting_name
from syncd.salesforce.errors import MalformedAnswer, classify
from syncd.salesforce.retry import RetryPolicy


def checked_versions(
    session: requests.Session, retry: RetryPolicy, instance_url: str, wanted: str
) -> list[str]:
    """The versions the org serves, once ``wanted`` is known to be among them."""
    try:
        served = retry.call("versions", partial(served_versions, session, instance_url))
    except SyncdError:
        raise
    except Exception as exc:  # classify() names every kind
        raise classify(exc, f"GET {instance_url}/services/data/") from exc
    check_version(wanted, served, instance_url)
    return served


def served_versions(session: requests.Session, instance_url: str) -> list[str]:
    """The versions ``instance_url`` serves, oldest first.

    A 5xx raises ``SalesforceGeneralError`` and network failures propagate, so the
    caller's retry policy treats them like any other temporary failure.
    """
    url = f"{instance_url}/services/data/"
    response = session.get(url, headers={"Accept": "application/json"})
    body = _json(response)
    if response.status_code >= 500:
        raise SalesforceGeneralError(url, response.status_code, "versions", cast(bytes, body))
    versions = _versions(body) if response.status_code == 200 else None
    if versions is None:
        raise MalformedAnswer(
            f"the org at {instance_url} answered GET /services/data/ with "
            f"{response.status_code} and no list of API versions; is this a Salesforce API "
            "endpoint? (salesforce.login_url / salesforce.instance_url)"
        )
    return sorted(versions, key=_number)


def check_version(wanted: str, served: list[str], instance_url: str) -> None:
    """Raise unless ``wanted`` is among the versions served."""
    if wanted in served:
        return
    listed = ", ".join(served) if served else "none"
    raise FatalSyncError(
        f"the org at {instance_url} does not serve API version {wanted} "
        f"({setting_name('api_version')}); it serves: {listed}. Set api_version to one "
        "of them (syncd needs 46.0 or later for upserts through sObject Collections)."
    )


def _versions(body: Any) -> list[str] | None:
    if not isinstance(body, list):
        return None
    found = [
        str(entry["version"]) for entry in body if isinstance(entry, dict) and "version" in entry
    ]
    return found if found or not body else None


def _number(version: str) -> tuple[float, str]:
    try:
        return float(version), version
    except ValueError:
        return float("inf"), version


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
