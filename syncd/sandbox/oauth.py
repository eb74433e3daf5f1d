"""The OAuth2 token endpoint: client_credentials, password and JWT bearer grants.

Answers in Salesforce's shapes: 200 with ``access_token`` and ``instance_url``, or 400
with ``{"error", "error_description"}``. Issued tokens live until ``expire_all``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import jwt

from syncd.sandbox.org import INTEGRATION_USER_ID, ORG_ID

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class Credentials:
    client_id: str = "syncd-sandbox"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    username: str = "integration@syncd.sandbox"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16), repr=False)
    jwt_public_key: bytes | None = field(default=None, repr=False)  # verify JWTs when set


class TokenIssuer:
    """Issues and checks access tokens; thread-safe."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self._tokens: set[str] = set()
        self._lock = threading.Lock()

    def valid(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not token:
            return False
        with self._lock:
            return token.strip() in self._tokens

    def expire_all(self) -> None:
        with self._lock:
            self._tokens.clear()

    def exchange(
        self, body: bytes, authorization: str | None, instance_url: str
    ) -> tuple[int, dict[str, Any]]:
        """(status, JSON body) for one token request."""
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            refusal = self._check_client(form, authorization)
        elif grant == "password":
            refusal = self._check_client(form, authorization) or self._check_user(form)
        elif grant == JWT_GRANT:
            refusal = self._check_jwt(form.get("assertion", ""))
        else:
            refusal = ("unsupported_grant_type", "grant type not supported")
        if refusal:
            return 400, {"error": refusal[0], "error_description": refusal[1]}
        return 200, self._issue(instance_url)

    def _issue(self, instance_url: str) -> dict[str, Any]:
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(32)}"
        with self._lock:
            self._tokens.add(token)
        issued = str(int(time.time() * 1000))
        signed = hmac.new(
            self.credentials.client_secret.encode(), (instance_url + issued).encode(), "sha256"
        ).digest()
        return {
            "access_token": token,
            "instance_url": instance_url,
            "id": f"{instance_url}/id/{ORG_ID}/{INTEGRATION_USER_ID}",
            "token_type": "Bearer",
            "issued_at": issued,
            "signature": base64.b64encode(signed).decode(),
        }

    def _check_client(
        self, form: dict[str, str], authorization: str | None
    ) -> tuple[str, str] | None:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        basic = _basic(authorization)
        if basic is not None:
            client_id, secret = basic
        if _same(client_id, self.credentials.client_id) and _same(
            secret, self.credentials.client_secret
        ):
            return None
        return "invalid_client", "invalid client credentials"

    def _check_user(self, form: dict[str, str]) -> tuple[str, str] | None:
        if _same(form.get("username", ""), self.credentials.username) and _same(
            form.get("password", ""), self.credentials.password
        ):
            return None
        return "invalid_grant", "authentication failure"

    def _check_jwt(self, assertion: str) -> tuple[str, str] | None:
        key = self.credentials.jwt_public_key
        try:
            if key is not None:
                claims = jwt.decode(
                    assertion, key, algorithms=["RS256"], options={"verify_aud": False}
                )
            else:
                claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return "invalid_grant", "invalid assertion"
        if not _same(str(claims.get("iss", "")), self.credentials.client_id):
            return "invalid_client_id", "client identifier invalid"
        return None


def _basic(authorization: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def _same(given: str, expected: str) -> bool:
    # Compare digests: constant time, and no length leak either.
    return hmac.compare_digest(
        hashlib.sha256(given.encode()).digest(), hashlib.sha256(expected.encode()).digest()
    )
