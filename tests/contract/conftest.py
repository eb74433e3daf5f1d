"""HTTP contract tests of the org client: `responses` plays Salesforce, nothing listens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from syncd.salesforce import OrgClient, SalesforceSettings
from tests.contract.fakeorg import (
    LOGIN,
    NO_WAIT,
    SECRET,
    TOKEN_URL,
    VERSIONS_URL,
    token_body,
    versions_body,
)


@pytest.fixture
def settings() -> SalesforceSettings:
    return SalesforceSettings(
        auth="client_credentials", login_url=LOGIN, client_id="syncd-app", client_secret=SECRET
    )


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    """Nothing but the list of API versions (``GET /services/data/``), as every org has."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(VERSIONS_URL, json=versions_body())
        yield rsps


@pytest.fixture
def org(mocked: responses.RequestsMock) -> responses.RequestsMock:
    """A mocked org whose token endpoint always grants ACCESS_TOKEN."""
    mocked.post(TOKEN_URL, json=token_body())
    return mocked


@pytest.fixture
def client(settings: SalesforceSettings, org: responses.RequestsMock) -> OrgClient:
    return OrgClient(settings, retry=NO_WAIT)
