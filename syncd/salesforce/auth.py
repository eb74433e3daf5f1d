"""Obtain an access token for each auth mode, then a direct-mode simple-salesforce client.

simple-salesforce builds its login URL as ``https://{domain}.salesforce.com`` (facts A2),
which reaches neither a My Domain host with a port nor the local sandbox, so the OAuth
token exchange happens here, against ``{login_url}/services/oauth2/token``, on the same
session (same CA bundle, same timeout, same accounting) the data calls use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, cast

import jwt
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceGeneralError

from syncd.errors import AuthenticationError
from syncd.salesforce.config import SalesforceSettings, setting_name

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME_SECONDS = 180


@dataclass(frozen=True)
class Token:
    access_token: str = field(repr=False)
    instance_url: str
    # The identity URL (``.../id/<org Id>/<user Id>``) of an OAuth grant; None with a
    # given token.
    identity: str | None = None

    @property
    def org_id(self) -> str | None:
        return self._identity_part(-2)

    @property
    def user_id(self) -> str | None:
        return self._identity_part(-1)

    def _identity_part(self, index: int) -> str | None:
        parts = (self.identity or "").rstrip("/").split("/")
        return parts[index] if len(parts) >= 3 and parts[-3] == "id" else None


def obtain_token(settings: SalesforceSettings, session: requests.Session) -> Token:
    """Exchange the configured credentials for ``(access_token, instance_url)``.

    Raises AuthenticationError when Salesforce refuses (its error and description, never
    a secret); a 5xx raises SalesforceGeneralError and network failures propagate, so the
    caller's retry policy treats them like any other temporary failure.
    """
    if settings.auth == "token":
        assert settings.access_token is not None and settings.instance_url is not None
        return Token(settings.access_token.get_secret_value(), settings.instance_url)
    url = f"{settings.login_url}/services/oauth2/token"
    data, auth = _grant(settings)
    response = session.post(url, data=data, auth=auth, headers={"Accept": "application/json"})
    return _token_from(response, settings)


def build_salesforce(
    settings: SalesforceSettings, session: requests.Session, token: Token
) -> Salesforce:
    """A direct-mode client: no login of its own, our session for every call."""
    return Salesforce(
        instance_url=token.instance_url,
        session_id=token.access_token,
        session=session,
        version=settings.api_version,
    )


def _grant(settings: SalesforceSettings) -> tuple[dict[str, str], tuple[str, str] | None]:
    client_id = settings.client_id or ""
    if settings.auth == "client_credentials":
        assert settings.client_secret is not None
        return {"grant_type": "client_credentials"}, (
            client_id,
            settings.client_secret.get_secret_value(),
        )
    if settings.auth == "password":
        assert settings.client_secret is not None and settings.password is not None
        return {
            "grant_type": "password",
            "client_id": client_id,
            "client_secret": settings.client_secret.get_secret_value(),
            "username": settings.username or "",
            "password": settings.password.get_secret_value(),
        }, None
    return {"grant_type": JWT_GRANT, "assertion": jwt_assertion(settings)}, None


def jwt_assertion(settings: SalesforceSettings, now: float | None = None) -> str:
    """An RS256 JWT bearer assertion: iss=client_id, sub=username, aud=login_url, 3 min."""
    path = settings.private_key_file
    try:
        key = path.read_bytes() if path else b""
    except OSError as exc:
        raise AuthenticationError(
            f"cannot read the JWT private key {path} ({setting_name('private_key_file')}): "
            f"{exc.strerror}"
        ) from None
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": settings.client_id,
        "sub": settings.username,
        "aud": settings.login_url,
        "exp": issued + JWT_LIFETIME_SECONDS,
    }
    try:
        return jwt.encode(claims, key, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError):
        # The library's message may quote key material; say only which file is wrong.
        raise AuthenticationError(
            f"the JWT private key {path} ({setting_name('private_key_file')}) is not a "
            "PEM-encoded RSA private key"
        ) from None


def _token_from(response: requests.Response, settings: SalesforceSettings) -> Token:
    if response.status_code >= 500:
        # Parsed JSON, as simple-salesforce itself stores it (despite its bytes annotation).
        content = cast(bytes, _json(response) or response.content)
        raise SalesforceGeneralError(response.url, response.status_code, "oauth2/token", content)
    body = _json(response)
    if response.status_code != 200 or not isinstance(body, dict):
        raise AuthenticationError(_refusal(response, body, settings))
    token, instance = body.get("access_token"), body.get("instance_url")
    if not isinstance(token, str) or not token or not isinstance(instance, str) or not instance:
        raise AuthenticationError(
            f"Salesforce's token response from {settings.login_url} lacks "
            "access_token or instance_url"
        )
    identity = body.get("id")
    return Token(token, instance.rstrip("/"), identity if isinstance(identity, str) else None)


def _refusal(response: requests.Response, body: Any, settings: SalesforceSettings) -> str:
    if isinstance(body, dict):
        reason = f"{body.get('error', 'unknown_error')}: {body.get('error_description', '')}"
    else:
        reason = f"HTTP {response.status_code}: {response.text[:200]}"
    text = (
        f"Salesforce refused the {settings.auth} login at {settings.login_url} "
        f"for client {settings.client_id!r}: {reason.strip()}"
    )
    return _without_secrets(text, settings)


def _without_secrets(text: str, settings: SalesforceSettings) -> str:
    """Belt and braces: an error page that echoes a secret must not carry it further."""
    for secret in (settings.client_secret, settings.password, settings.access_token):
        value = secret.get_secret_value() if secret is not None else ""
        if len(value) >= 4:
            text = text.replace(value, "***")
    return text


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
