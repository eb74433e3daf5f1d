"""The session pins the configured CA bundle on every request, whatever the environment says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from syncd.salesforce import OrgClient, SalesforceSettings
from syncd.salesforce.session import SalesforceSession
from tests.contract.fakeorg import LOGIN, NO_WAIT, SECRET, page, token_body, versions_body


class RecordingAdapter(BaseAdapter):
    """Answers like a tiny org and records the keyword arguments of every send()."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append({"url": request.url, **kwargs})
        url = request.url or ""
        if "/oauth2/token" in url:
            body: Any = token_body()
        elif url.endswith("/services/data/"):
            body = versions_body()
        else:
            body = page([{"Id": "1"}])
        response = requests.Response()
        response.status_code = 200
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
        response._content = json.dumps(body).encode()
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        return None


@pytest.fixture
def bundles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    ours, theirs = tmp_path / "sandbox-ca.pem", tmp_path / "corporate-ca.pem"
    ours.write_text("ours")
    theirs.write_text("theirs")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(theirs))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(theirs))
    return ours, theirs


def test_environment_bundle_would_win_over_a_plain_session(bundles: tuple[Path, Path]) -> None:
    """The trap itself (facts Z): proves the environment in this test really overrides."""
    ours, theirs = bundles
    adapter = RecordingAdapter()
    plain = requests.Session()
    plain.verify = str(ours)
    plain.mount("https://", adapter)
    plain.get("https://acme.my.salesforce.com/services/data/v62.0/query/")
    assert adapter.sent[0]["verify"] == str(theirs)


def test_configured_bundle_wins_on_every_request(bundles: tuple[Path, Path]) -> None:
    ours, _ = bundles
    settings = SalesforceSettings(
        login_url=LOGIN, client_id="app", client_secret=SECRET, ca_bundle=ours, timeout_seconds=7
    )
    session = SalesforceSession(ca_bundle=settings.ca_bundle, timeout=settings.timeout_seconds)
    adapter = RecordingAdapter()
    session.mount("https://", adapter)
    client = OrgClient(settings, retry=NO_WAIT, session=session)
    assert list(client.query("SELECT Id FROM Account")) == [{"Id": "1"}]
    paths = [urlparse(s["url"]).path for s in adapter.sent]
    assert paths == ["/services/oauth2/token", "/services/data/", "/services/data/v62.0/query/"]
    assert [s["verify"] for s in adapter.sent] == [str(ours)] * 3
    assert [s["timeout"] for s in adapter.sent] == [7] * 3
    assert client.calls == {"query": 1} and client.auth_calls == 1


def test_explicit_timeout_is_kept(bundles: tuple[Path, Path]) -> None:
    ours, _ = bundles
    session = SalesforceSession(ca_bundle=ours, timeout=30)
    adapter = RecordingAdapter()
    session.mount("https://", adapter)
    session.get("https://x.my.salesforce.com/services/data/v62.0/limits/", timeout=3)
    assert (adapter.sent[0]["timeout"], adapter.sent[0]["verify"]) == (3, str(ours))


def test_without_a_bundle_the_environment_applies(bundles: tuple[Path, Path]) -> None:
    _, theirs = bundles
    session = SalesforceSession(timeout=30)
    adapter = RecordingAdapter()
    session.mount("https://", adapter)
    session.get("https://x.my.salesforce.com/services/data/v62.0/limits/")
    assert adapter.sent[0]["verify"] == str(theirs)


def test_client_builds_its_session_from_settings(bundles: tuple[Path, Path]) -> None:
    ours, _ = bundles
    settings = SalesforceSettings(
        login_url=LOGIN, client_id="app", client_secret=SECRET, ca_bundle=ours
    )
    client = OrgClient(settings)
    session = client._session
    assert isinstance(session, SalesforceSession)
    assert (session.ca_bundle, session.default_timeout) == (str(ours), 30.0)
