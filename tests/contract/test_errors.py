"""Retries, re-authentication and error classification (errors.py, retry.py, client._call)."""

from __future__ import annotations

import ssl

import pytest
import requests
import responses
from structlog.testing import capture_logs

from syncd.errors import ApiLimitExceeded, AuthenticationError, FatalSyncError, RetriableError
from syncd.salesforce import OrgClient, RetryPolicy, SalesforceSettings
from syncd.salesforce.client import REAUTH_LIMIT
from tests.contract.fakeorg import (
    DATA,
    NO_WAIT,
    TOKEN_URL,
    api_calls,
    calls_to,
    page,
    sf_error,
    ssl_error,
    token_body,
)

QUERY = f"{DATA}/query/"
SOQL = "SELECT Id FROM Account"


def test_server_unavailable_is_retried_until_success(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.get(QUERY, status=503, json=sf_error("SERVER_UNAVAILABLE"))
    org.get(QUERY, status=503, json=sf_error("SERVER_UNAVAILABLE"))
    org.get(QUERY, json=page([{"Id": "001A"}]))
    with capture_logs() as logs:
        assert list(client.query(SOQL)) == [{"Id": "001A"}]
    assert len(calls_to(org, "/query/")) == 3
    retries = [e for e in logs if e["event"] == "salesforce.retry"]
    assert [(e["attempt"], e["error_code"]) for e in retries] == [
        (1, "SERVER_UNAVAILABLE"),
        (2, "SERVER_UNAVAILABLE"),
    ]


def test_unable_to_lock_row_on_a_400_is_retried(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.get(QUERY, status=400, json=sf_error("UNABLE_TO_LOCK_ROW"))
    org.get(QUERY, json=page([{"Id": "001A"}]))
    assert list(client.query(SOQL)) == [{"Id": "001A"}]
    assert len(calls_to(org, "/query/")) == 2


def test_connection_error_is_retried(client: OrgClient, org: responses.RequestsMock) -> None:
    org.get(QUERY, body=requests.ConnectionError("connection reset"))
    org.get(QUERY, json=page([{"Id": "001A"}]))
    assert list(client.query(SOQL)) == [{"Id": "001A"}]
    assert len(calls_to(org, "/query/")) == 2


def test_exhausted_retries_raise_retriable_error(
    settings: SalesforceSettings, org: responses.RequestsMock
) -> None:
    org.get(QUERY, status=502, body="Bad Gateway")
    client = OrgClient(
        settings, retry=RetryPolicy(attempts=3, initial_wait=0, max_wait=0, jitter=0)
    )
    with pytest.raises(RetriableError, match="HTTP 502"):
        list(client.query(SOQL))
    assert len(calls_to(org, "/query/")) == 3


def test_request_limit_exceeded_stops_at_once(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.get(
        QUERY,
        status=403,
        json=sf_error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    )
    with pytest.raises(ApiLimitExceeded, match="TotalRequests Limit exceeded"):
        list(client.query(SOQL))
    assert len(calls_to(org, "/query/")) == 1


def test_expired_session_reauthenticates_once(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.get(QUERY, status=401, json=sf_error("INVALID_SESSION_ID", "Session expired"))
    org.get(QUERY, json=page([{"Id": "001A"}]))
    assert list(client.query(SOQL)) == [{"Id": "001A"}]
    assert len(calls_to(org, "/oauth2/token")) == 2
    assert len(calls_to(org, "/query/")) == 2


def test_a_session_refused_after_every_relogin_is_an_authentication_error(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.get(QUERY, status=401, json=sf_error("INVALID_SESSION_ID", "Session expired"))
    with pytest.raises(AuthenticationError, match="INVALID_SESSION_ID"):
        list(client.query(SOQL))
    # The first login, then REAUTH_LIMIT (3) re-logins, each followed by one more try.
    assert len(calls_to(org, "/oauth2/token")) == 1 + REAUTH_LIMIT == 4
    assert len(calls_to(org, "/query/")) == 1 + REAUTH_LIMIT


def test_token_mode_cannot_reauthenticate(mocked: responses.RequestsMock) -> None:
    mocked.get(QUERY, status=401, json=sf_error("INVALID_SESSION_ID", "Session expired"))
    settings = SalesforceSettings(
        auth="token", access_token="tok-abcdef", instance_url=DATA.split("/services")[0]
    )
    with pytest.raises(AuthenticationError):
        list(OrgClient(settings, retry=NO_WAIT).query(SOQL))
    assert len(api_calls(mocked)) == 1


def test_invalid_field_is_fatal_names_the_field_and_is_not_retried(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.get(
        QUERY,
        status=400,
        json=sf_error("INVALID_FIELD", "No such column 'RoE_Named__c' on entity 'Account'."),
    )
    with pytest.raises(FatalSyncError, match="RoE_Named__c") as caught:
        list(client.query("SELECT RoE_Named__c FROM Account"))
    assert not isinstance(caught.value, RetriableError | ApiLimitExceeded)
    assert "mapping" in str(caught.value)
    assert len(calls_to(org, "/query/")) == 1


def test_tls_failure_is_fatal_and_not_retried(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.get(QUERY, body=ssl_error(ssl.SSLCertVerificationError(1, "certificate verify failed")))
    with pytest.raises(FatalSyncError, match="ca_bundle"):
        list(client.query(SOQL))
    assert len(calls_to(org, "/query/")) == 1


def test_reauth_login_refused_is_authentication_error(
    settings: SalesforceSettings, mocked: responses.RequestsMock
) -> None:
    mocked.post(TOKEN_URL, json=token_body())
    mocked.post(TOKEN_URL, status=400, json={"error": "invalid_grant", "error_description": "x"})
    mocked.get(QUERY, status=401, json=sf_error("INVALID_SESSION_ID"))
    with pytest.raises(AuthenticationError, match="invalid_grant"):
        list(OrgClient(settings, retry=NO_WAIT).query(SOQL))
