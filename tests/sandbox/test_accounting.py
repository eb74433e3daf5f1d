"""The sandbox and the client agree on what was called: the version list, and timeouts."""

from __future__ import annotations

import pytest
import requests

from syncd.errors import RetriableError
from syncd.salesforce import OrgClient, RetryPolicy
from syncd.sandbox import SandboxOrg, SandboxServer
from syncd.sandbox.api import API_VERSIONS


@pytest.fixture
def org() -> SandboxOrg:
    return SandboxOrg()


def test_the_version_list_is_public_and_unmetered(server: SandboxServer) -> None:
    answer = requests.get(
        f"{server.instance_url}/services/data/", verify=server.ca_bundle, timeout=10
    )
    assert answer.status_code == 200
    assert [v["version"] for v in answer.json()] == list(API_VERSIONS)
    assert answer.json()[0] == {"label": "v58.0", "url": "/services/data/v58.0", "version": "58.0"}
    assert "Sforce-Limit-Info" not in answer.headers
    assert server.calls["versions"] == 1 and server.api_calls() == 0


def test_a_version_the_org_does_not_serve_is_not_found(server: SandboxServer) -> None:
    token = requests.post(
        f"{server.login_url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(server.client_id, server.client_secret),
        verify=server.ca_bundle,
        timeout=10,
    ).json()["access_token"]
    answer = requests.get(
        f"{server.instance_url}/services/data/v40.0/limits/",
        headers={"Authorization": f"Bearer {token}"},
        verify=server.ca_bundle,
        timeout=10,
    )
    assert answer.status_code == 404 and answer.json()[0]["errorCode"] == "NOT_FOUND"


def test_the_client_checks_the_version_once_and_does_not_count_it(server: SandboxServer) -> None:
    client = OrgClient(server.salesforce_settings(), retry=RetryPolicy(initial_wait=0, jitter=0))
    client.limits()
    client.limits()
    assert server.calls["versions"] == 1
    assert client.calls == {"limits": 2} and server.api_calls() == 2


def test_requests_that_time_out_are_counted_as_sent(server: SandboxServer) -> None:
    """Salesforce counts what it received; an answer that never came back still cost."""
    settings = server.salesforce_settings().model_copy(update={"timeout_seconds": 0.2})
    client = OrgClient(settings, retry=RetryPolicy(attempts=3, initial_wait=0, jitter=0))
    client.connect()
    server.faults.latency(1.0)  # every call now outlasts the client's timeout
    with pytest.raises(RetriableError, match="ReadTimeout"):
        client.limits()
    assert client.calls == {"limits": 3}
    assert server.calls["limits"] == 3  # the server got each one, answered or not
    assert client.api_calls == server.api_calls() == 3
