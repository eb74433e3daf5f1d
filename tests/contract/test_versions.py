"""API version discovery: GET /services/data/ once per client, after the first login."""

from __future__ import annotations

import pytest
import responses

from syncd.errors import FatalSyncError
from syncd.salesforce import OrgClient, SalesforceSettings
from syncd.salesforce.errors import MalformedAnswer
from tests.contract.fakeorg import (
    DATA,
    INSTANCE,
    NO_WAIT,
    TOKEN_URL,
    VERSIONS_URL,
    calls_to,
    page,
    sf_error,
    token_body,
    versions_body,
)

QUERY = f"{DATA}/query/"


def _only_versions(mocked: responses.RequestsMock, **answer: object) -> None:
    """Replace the default version list with ``answer``."""
    mocked.replace(responses.GET, VERSIONS_URL, **answer)  # type: ignore[arg-type]


def test_the_version_list_is_asked_once_and_costs_no_allocation(
    client: OrgClient, org: responses.RequestsMock
) -> None:
    org.get(QUERY, status=401, json=sf_error("INVALID_SESSION_ID"))
    org.get(QUERY, json=page([{"Id": "001A"}]))
    org.get(QUERY, json=page([{"Id": "001B"}]))
    assert list(client.query("SELECT Id FROM Account")) == [{"Id": "001A"}]
    assert list(client.query("SELECT Id FROM Account")) == [{"Id": "001B"}]
    assert len(calls_to(org, "/oauth2/token")) == 2  # re-login after the expired session
    assert len([c for c in org.calls if c.request.url == VERSIONS_URL]) == 1
    assert client.calls == {"query": 3}
    assert client.api_versions == ["60.0", "61.0", "62.0"]


def test_an_org_without_the_configured_version_names_the_ones_it_serves(
    settings: SalesforceSettings, org: responses.RequestsMock
) -> None:
    _only_versions(org, json=versions_body(("58.0", "59.0", "57.0")))
    with pytest.raises(FatalSyncError) as caught:
        list(OrgClient(settings, retry=NO_WAIT).query("SELECT Id FROM Account"))
    message = str(caught.value)
    assert "does not serve API version 62.0" in message
    assert "it serves: 57.0, 58.0, 59.0" in message
    assert "SYNCD_SALESFORCE__API_VERSION" in message
    assert calls_to(org, "/query/") == []  # stopped before any data call


def test_an_endpoint_that_lists_no_versions_is_not_a_salesforce_api(
    settings: SalesforceSettings, org: responses.RequestsMock
) -> None:
    _only_versions(org, status=404, body="<html>Not Found</html>", content_type="text/html")
    with pytest.raises(MalformedAnswer, match=r"GET /services/data/ with 404.*Salesforce API"):
        OrgClient(settings, retry=NO_WAIT).connect()


def test_a_version_list_outage_is_retried(
    settings: SalesforceSettings, mocked: responses.RequestsMock
) -> None:
    mocked.post(TOKEN_URL, json=token_body())
    _only_versions(mocked, status=503, json=sf_error("SERVER_UNAVAILABLE"))
    mocked.get(VERSIONS_URL, json=versions_body())
    OrgClient(settings, retry=NO_WAIT).connect()
    assert [c.request.url for c in mocked.calls].count(VERSIONS_URL) == 2


def test_token_mode_asks_the_configured_instance(mocked: responses.RequestsMock) -> None:
    settings = SalesforceSettings(auth="token", access_token="tok-123456", instance_url=INSTANCE)
    OrgClient(settings, retry=NO_WAIT).connect()
    assert [c.request.url for c in mocked.calls] == [VERSIONS_URL]
