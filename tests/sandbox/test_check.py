"""`syncd check` against the sandbox: the token is proved by a call; owners must be active."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from pydantic import SecretStr

from syncd.cli.check import CheckReport, check_org
from syncd.engine.policy import Owners, Policy, load_policy
from syncd.salesforce import OrgClient, RetryPolicy, SalesforceSettings
from syncd.sandbox import SandboxOrg, SandboxServer
from syncd.sandbox.dataset import DEMO_CHANNEL_CHIEF_ID, DEMO_CHANNEL_OPS_ID, demo_dataset
from syncd.sfid import make_id
from syncd.sync.mapping import FieldMapping, load_mapping

ROOT = Path(__file__).resolve().parents[2]
NO_WAIT = RetryPolicy(initial_wait=0, max_wait=0, jitter=0)
TODAY = datetime.now(UTC).date()
NOBODY = make_id("005", 424242)


@pytest.fixture
def org() -> SandboxOrg:
    org = SandboxOrg()
    org.load(demo_dataset(TODAY))
    return org


@pytest.fixture(scope="module")
def mapping() -> FieldMapping:
    return load_mapping(ROOT / "mappings" / "default.yaml")


def _policy(**owners: str) -> Policy:
    return load_policy(ROOT / "config" / "rules.yaml").model_copy(
        update={"owners": Owners(**owners)}
    )


def _token_settings(server: SandboxServer, token: str) -> SalesforceSettings:
    return SalesforceSettings(
        auth="token",
        access_token=SecretStr(token),
        instance_url=server.instance_url,
        ca_bundle=server.ca_bundle,
    )


def _issued_token(server: SandboxServer) -> str:
    answer = requests.post(
        f"{server.login_url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(server.client_id, server.client_secret),
        verify=server.ca_bundle,
        timeout=10,
    )
    return str(answer.json()["access_token"])


def test_a_refused_token_is_never_reported_as_authenticated(
    server: SandboxServer, mapping: FieldMapping
) -> None:
    report = CheckReport()
    client = OrgClient(_token_settings(server, "00Dbogus!token"), retry=NO_WAIT)
    check_org(client, mapping, report, _policy())
    assert not any(note.startswith("authenticated") for note in report.notes)
    (problem,) = report.problems
    assert problem.startswith("cannot authenticate") and "INVALID_SESSION_ID" in problem
    assert "00Dbogus!token" not in problem
    assert server.calls["limits"] == 1 and server.calls["describe"] == 0


def test_a_good_token_is_proved_then_the_org_is_checked(
    server: SandboxServer, mapping: FieldMapping
) -> None:
    report = CheckReport()
    client = OrgClient(_token_settings(server, _issued_token(server)), retry=NO_WAIT)
    owners = {"channel_ops_user_id": DEMO_CHANNEL_OPS_ID}
    check_org(client, mapping, report, _policy(**owners))
    assert report.problems == []
    assert "authenticated (the access token, proved by a call to limits/)" in report.notes
    assert server.calls["limits"] == 1 and server.calls["query"] == 1


def test_owners_that_are_not_active_users_are_each_reported_with_one_query(
    server: SandboxServer, mapping: FieldMapping
) -> None:
    gone = demo_dataset(TODAY).keys["user.old_mgr"]  # Gordon Pike, who left (inactive)
    report = CheckReport()
    client = OrgClient(server.salesforce_settings(), retry=NO_WAIT)
    check_org(
        client, mapping, report, _policy(channel_ops_user_id=NOBODY, channel_chief_user_id=gone)
    )
    assert report.problems == [
        f"owners.channel_ops_user_id in the rules file: no User {NOBODY} in the org",
        f"owners.channel_chief_user_id in the rules file: User {gone} is inactive",
    ]
    assert server.calls["query"] == 1


def test_the_demo_owners_pass(server: SandboxServer, mapping: FieldMapping) -> None:
    report = CheckReport()
    client = OrgClient(server.salesforce_settings(), retry=NO_WAIT)
    owners = {
        "channel_ops_user_id": DEMO_CHANNEL_OPS_ID[:15],
        "channel_chief_user_id": DEMO_CHANNEL_CHIEF_ID,
    }
    check_org(client, mapping, report, _policy(**owners))
    assert report.problems == []
    assert "authenticated (client_credentials, proved by a call to limits/)" in report.notes
    assert "API version 62.0 is served (the org serves 58.0 to 65.0)" in report.notes
