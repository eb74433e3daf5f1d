"""Secrets (client secret, password, access token) never reach errors or log events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
import responses
from structlog.testing import capture_logs

from syncd.errors import SyncdError
from syncd.salesforce import OrgClient, SalesforceSettings
from tests.contract.fakeorg import (
    ACCESS_TOKEN,
    DATA,
    LOGIN,
    NO_WAIT,
    SECRET,
    TOKEN_URL,
    sf_error,
    token_body,
)

PASSWORD = "pw-Hunter2-secret"
QUERY = f"{DATA}/query/"


def _chain(exc: BaseException | None) -> str:
    """Every message in the exception chain, as a user or a traceback would see it."""
    texts = []
    while exc is not None:
        texts.append(f"{type(exc).__name__}: {exc} {exc!r}")
        exc = exc.__cause__ or exc.__context__
    return "\n".join(texts)


def _expired_twice(org: responses.RequestsMock) -> None:
    org.post(TOKEN_URL, json=token_body())
    org.get(QUERY, status=401, json=sf_error("INVALID_SESSION_ID"))


def _refused_echoing(org: responses.RequestsMock) -> None:
    desc = f"authentication failure for {PASSWORD} / {SECRET}"
    org.post(TOKEN_URL, status=400, json={"error": "invalid_grant", "error_description": desc})


def _flaky_then_limit(org: responses.RequestsMock) -> None:
    org.post(TOKEN_URL, json=token_body())
    org.get(QUERY, body=requests.ConnectionError("reset"))
    org.get(QUERY, status=503, json=sf_error("SERVER_UNAVAILABLE"))
    org.get(QUERY, status=403, json=sf_error("REQUEST_LIMIT_EXCEEDED"))


def _bad_field(org: responses.RequestsMock) -> None:
    org.post(TOKEN_URL, json=token_body())
    org.get(QUERY, status=400, json=sf_error("INVALID_FIELD", "No such column 'X__c'"))


@pytest.mark.parametrize(
    "scenario", [_expired_twice, _refused_echoing, _flaky_then_limit, _bad_field]
)
def test_no_secret_in_errors_or_logs(
    mocked: responses.RequestsMock, scenario: Callable[[responses.RequestsMock], Any]
) -> None:
    scenario(mocked)
    settings = SalesforceSettings(
        auth="password",
        login_url=LOGIN,
        client_id="app",
        client_secret=SECRET,
        username="u@acme.com",
        password=PASSWORD,
    )
    with capture_logs() as logs, pytest.raises(SyncdError) as caught:
        list(OrgClient(settings, retry=NO_WAIT).query("SELECT Id FROM Account"))
    seen = _chain(caught.value) + "\n" + "\n".join(repr(e) for e in logs)
    for secret in (SECRET, PASSWORD, ACCESS_TOKEN):
        assert secret not in seen
    assert mocked.calls  # the scenario did run against the mock
