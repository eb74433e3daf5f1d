"""Settings validation: every missing field for the auth mode, named, in one error."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from syncd.salesforce import SalesforceSettings
from syncd.validation import format_validation_error


def test_all_missing_fields_are_listed_with_their_variables() -> None:
    with pytest.raises(ValidationError) as caught:
        SalesforceSettings(auth="password", client_id="app")
    assert len(caught.value.errors()) == 1
    message = str(caught.value)
    for name in ("client_secret", "username", "password"):
        assert f"salesforce.{name}" in message
        assert f"SYNCD_SALESFORCE__{name.upper()}" in message
    assert "salesforce.client_id " not in message


@pytest.mark.parametrize(
    ("auth", "missing"),
    [
        ("client_credentials", ["client_id", "client_secret"]),
        ("jwt", ["client_id", "username", "private_key_file"]),
        ("token", ["access_token", "instance_url"]),
    ],
)
def test_each_mode_names_what_it_needs(auth: str, missing: list[str]) -> None:
    with pytest.raises(ValidationError) as caught:
        SalesforceSettings(auth=auth)  # type: ignore[arg-type]
    for name in missing:
        assert f"salesforce.{name}" in str(caught.value)


def test_blank_secret_counts_as_missing() -> None:
    with pytest.raises(ValidationError, match=r"salesforce\.client_secret"):
        SalesforceSettings(client_id="app", client_secret="  ")


def test_secrets_never_print() -> None:
    settings = SalesforceSettings(client_id="app", client_secret="very-secret-1")
    assert "very-secret-1" not in repr(settings) and "very-secret-1" not in str(settings)
    assert settings.client_secret is not None
    assert settings.client_secret.get_secret_value() == "very-secret-1"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"login_url": "http://login.salesforce.com"}, "https://"),
        ({"login_url": "https://acme.my.salesforce.com/services"}, "without a path"),
        ({"api_version": "62"}, "62.0"),
        ({"ca_bundle": Path("/nonexistent/ca.pem")}, "does not exist"),
        ({"timeout_seconds": 0}, "greater than 0"),
        ({"client_sceret": "x"}, "Extra inputs"),
    ],
)
def test_bad_values_are_explained(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SalesforceSettings(client_id="app", client_secret="s3cret", **overrides)  # type: ignore[arg-type]


def test_url_and_version_are_normalised() -> None:
    settings = SalesforceSettings(
        client_id="app",
        client_secret="s",
        login_url="https://127.0.0.1:8443/",
        api_version="v61.0",
    )
    assert (settings.login_url, settings.api_version) == ("https://127.0.0.1:8443", "61.0")


def test_missing_secrets_say_both_places_they_may_come_from() -> None:
    with pytest.raises(ValidationError) as caught:
        SalesforceSettings(auth="password", client_id="app", username="u@acme.com")
    message = str(caught.value)
    for name in ("client_secret", "password"):
        assert f"SYNCD_SALESFORCE__{name.upper()} or file salesforce__{name} in " in message
    assert "SYNCD_SECRETS_DIR" in message


@pytest.mark.parametrize("key", ["login_url", "instance_url"])
def test_credentials_in_a_url_are_refused_without_echoing_them(key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SalesforceSettings(
            client_id="app",
            client_secret="s",
            **{key: "https://integration:Url-Password-1@acme.my.salesforce.com"},  # type: ignore[arg-type]
        )
    lines = format_validation_error(caught.value)
    assert any("must not carry a user name or password" in line for line in lines)
    assert "Url-Password-1" not in "\n".join(lines)
