"""The OAuth token exchange for each auth mode, against {login_url}/services/oauth2/token."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from urllib.parse import parse_qs

import jwt
import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from syncd.errors import AuthenticationError
from syncd.salesforce import OrgClient, SalesforceSettings
from tests.contract.fakeorg import (
    ACCESS_TOKEN,
    DATA,
    INSTANCE,
    LOGIN,
    NO_WAIT,
    SECRET,
    TOKEN_URL,
    VERSIONS_URL,
    calls_to,
    page,
    token_body,
)


def _form(call: responses.Call) -> dict[str, str]:
    body = call.request.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    return {k: v[0] for k, v in parse_qs(text).items()}


def _limits_ok(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{DATA}/limits/", json={"DailyApiRequests": {"Max": 15000, "Remaining": 14000}})


def test_client_credentials_uses_http_basic_and_the_granted_token(
    settings: SalesforceSettings, org: responses.RequestsMock
) -> None:
    _limits_ok(org)
    client = OrgClient(settings, retry=NO_WAIT)
    assert client.limits().daily_remaining == 14000
    token_call = calls_to(org, "/oauth2/token")[0]
    expected = base64.b64encode(f"syncd-app:{SECRET}".encode()).decode()
    assert token_call.request.headers["Authorization"] == f"Basic {expected}"
    assert _form(token_call) == {"grant_type": "client_credentials"}
    data_call = calls_to(org, "/limits/")[0]
    assert data_call.request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert client.calls == {"limits": 1} and client.auth_calls == 1


def test_password_grant_posts_all_four_credentials(org: responses.RequestsMock) -> None:
    _limits_ok(org)
    settings = SalesforceSettings(
        auth="password",
        login_url=LOGIN,
        client_id="syncd-app",
        client_secret=SECRET,
        username="integration@acme.com",
        password="pw-and-token-123",
    )
    OrgClient(settings, retry=NO_WAIT).limits()
    assert _form(calls_to(org, "/oauth2/token")[0]) == {
        "grant_type": "password",
        "client_id": "syncd-app",
        "client_secret": SECRET,
        "username": "integration@acme.com",
        "password": "pw-and-token-123",
    }


def test_jwt_bearer_assertion_is_signed_with_the_configured_key(
    tmp_path: Path, org: responses.RequestsMock
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "server.key"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    _limits_ok(org)
    settings = SalesforceSettings(
        auth="jwt",
        login_url=LOGIN,
        client_id="syncd-app",
        username="integration@acme.com",
        private_key_file=key_file,
    )
    OrgClient(settings, retry=NO_WAIT).limits()
    form = _form(calls_to(org, "/oauth2/token")[0])
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = jwt.decode(form["assertion"], key.public_key(), algorithms=["RS256"], audience=LOGIN)
    assert claims["iss"] == "syncd-app"
    assert claims["sub"] == "integration@acme.com"
    assert 170 <= claims["exp"] - time.time() <= 181


def test_jwt_with_a_key_file_that_is_not_a_key_names_the_file(
    tmp_path: Path, mocked: responses.RequestsMock
) -> None:
    key_file = tmp_path / "server.key"
    key_file.write_text("not a key")
    settings = SalesforceSettings(
        auth="jwt", login_url=LOGIN, client_id="x", username="u@x", private_key_file=key_file
    )
    with pytest.raises(AuthenticationError, match=r"server\.key"):
        OrgClient(settings, retry=NO_WAIT).connect()
    assert len(mocked.calls) == 0


def test_token_mode_makes_no_exchange(mocked: responses.RequestsMock) -> None:
    _limits_ok(mocked)
    settings = SalesforceSettings(auth="token", access_token="tok-123456", instance_url=INSTANCE)
    OrgClient(settings, retry=NO_WAIT).limits()
    # The version list (unauthenticated, unmetered) once, then the call itself.
    assert [c.request.url for c in mocked.calls] == [VERSIONS_URL, f"{DATA}/limits/"]
    assert "Authorization" not in mocked.calls[0].request.headers
    assert mocked.calls[1].request.headers["Authorization"] == "Bearer tok-123456"


def test_refused_login_reports_salesforce_error_without_the_secret(
    settings: SalesforceSettings, mocked: responses.RequestsMock
) -> None:
    mocked.post(
        TOKEN_URL,
        status=400,
        json={"error": "invalid_client", "error_description": f"bad secret {SECRET}"},
    )
    with pytest.raises(AuthenticationError) as caught:
        OrgClient(settings, retry=NO_WAIT).connect()
    message = str(caught.value)
    assert "invalid_client" in message and "bad secret" in message
    assert SECRET not in message and SECRET not in repr(caught.value.__cause__)
    assert len(mocked.calls) == 1  # a refusal is not retried


def test_token_endpoint_outage_is_retried(
    settings: SalesforceSettings, mocked: responses.RequestsMock
) -> None:
    mocked.post(TOKEN_URL, status=503, json={"error": "unavailable"})
    mocked.post(TOKEN_URL, json=token_body())
    mocked.get(f"{DATA}/query/", json=page([{"Id": "001"}]))
    client = OrgClient(settings, retry=NO_WAIT)
    assert list(client.query("SELECT Id FROM Account")) == [{"Id": "001"}]
    assert client.auth_calls == 2 and client.calls == {"query": 1}
