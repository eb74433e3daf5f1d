"""A fault campaign: each kind strikes at its rate, seeded, and the client rides it out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from syncd.salesforce import OrgClient, RetryPolicy
from syncd.sandbox import SandboxOrg, SandboxServer
from syncd.sandbox.campaign import FaultRates
from syncd.sfid import make_id

V = "/services/data/v62.0"
ACCOUNTS = [make_id("001", n) for n in range(1, 201)]
CHANCES = 200
RATE = 0.25


@pytest.fixture
def org() -> SandboxOrg:
    org = SandboxOrg()
    org.load({"Account": [{"Id": i, "Name": f"Account {n}"} for n, i in enumerate(ACCOUNTS)]})
    return org


class Api:
    """Raw HTTPS calls with a fresh token whenever the last one was revoked."""

    def __init__(self, server: SandboxServer, *, fresh_connections: bool = False) -> None:
        self.server, self.fresh = server, fresh_connections
        self.http = requests.Session()
        self.token = self._login()

    def _login(self) -> str:
        answer = requests.post(
            f"{self.server.login_url}/services/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(self.server.client_id, self.server.client_secret),
            verify=self.server.ca_bundle,
            timeout=10,
        )
        return str(answer.json()["access_token"])

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response | str:
        """The answer, or the name of the transport error that came instead."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if self.fresh:
            headers["Connection"] = "close"  # a new TLS handshake for every call
        try:
            answer = self.http.request(
                method, f"{self.server.instance_url}{V}/{path}", headers=headers,
                verify=self.server.ca_bundle, timeout=10, **kwargs,
            )  # fmt: skip
        except requests.RequestException as exc:
            return type(exc).__name__
        if answer.status_code == 401:
            self.token = self._login()
        return answer


@pytest.fixture
def api(server: SandboxServer) -> Iterator[Api]:
    client = Api(server)
    yield client
    client.http.close()


def _outcome(answer: requests.Response | str) -> str:
    if isinstance(answer, str):
        return answer
    if answer.status_code == 200:
        return "ok"
    return f"{answer.status_code} {answer.json()[0]['errorCode']}"


def _campaign(server: SandboxServer, seed: int = 5, **rates: float) -> None:
    server.faults.campaign(FaultRates(**rates), seed=seed)


def _near(count: int, chances: int = CHANCES, rate: float = RATE) -> bool:
    """Within four standard deviations of the expected count (seeded: never flaky)."""
    spread = 4 * (chances * rate * (1 - rate)) ** 0.5
    return abs(count - chances * rate) <= spread


CALL_KINDS = {
    "server_error": {"503 SERVER_UNAVAILABLE", "500 UNKNOWN_EXCEPTION"},
    "expired_session": {"401 INVALID_SESSION_ID"},
    "concurrent_limit": {"403 REQUEST_LIMIT_EXCEEDED"},
    "reset": {"ConnectionError"},
}


@pytest.mark.parametrize(("kind", "seen"), CALL_KINDS.items(), ids=CALL_KINDS.keys())
def test_each_call_fault_strikes_at_its_rate(
    server: SandboxServer, api: Api, kind: str, seen: set[str]
) -> None:
    _campaign(server, **{kind: RATE})
    outcomes = Counter(_outcome(api("GET", "limits/")) for _ in range(CHANCES))
    struck = sum(n for outcome, n in outcomes.items() if outcome in seen)
    assert set(outcomes) <= {"ok", *seen}
    assert _near(struck) and server.faults.fired == {kind: struck}
    assert server.calls["limits"] == CHANCES  # cut connections were received and counted


def test_a_concurrency_refusal_says_it_is_the_kind_that_passes(
    server: SandboxServer, api: Api
) -> None:
    _campaign(server, concurrent_limit=1.0)
    answer = api("GET", "limits/")
    assert isinstance(answer, requests.Response)
    assert answer.json()[0]["message"] == "ConcurrentPerOrgLongTxn Limit exceeded."


def test_an_expired_session_revokes_the_token(server: SandboxServer, api: Api) -> None:
    _campaign(server, expired_session=1.0)
    stale = api.token
    assert _outcome(api("GET", "limits/")) == "401 INVALID_SESSION_ID"
    server.faults.clear()
    api.token = stale
    assert _outcome(api("GET", "limits/")) == "401 INVALID_SESSION_ID"  # revoked for good


def test_tls_handshakes_fail_at_their_rate(server: SandboxServer) -> None:
    api = Api(server, fresh_connections=True)
    _campaign(server, tls_handshake=RATE)
    outcomes = Counter(_outcome(api("GET", "limits/")) for _ in range(CHANCES))
    assert set(outcomes) == {"ok", "SSLError"}
    assert _near(outcomes["SSLError"]) and server.faults.fired == {
        "tls_handshake": outcomes["SSLError"]
    }
    assert server.calls["limits"] == outcomes["ok"]  # a failed handshake never reached HTTP


@pytest.mark.parametrize(
    ("kind", "code"),
    [("row_lock", "UNABLE_TO_LOCK_ROW"), ("refused_record", "FIELD_CUSTOM_VALIDATION_EXCEPTION")],
)
def test_records_are_refused_at_their_rate(
    server: SandboxServer, api: Api, kind: str, code: str
) -> None:
    _campaign(server, **{kind: RATE})
    records = [{"attributes": {"type": "Account"}, "Id": i, "Name": "x"} for i in ACCOUNTS]
    answer = api("PATCH", "composite/sobjects", json={"allOrNone": False, "records": records})
    assert isinstance(answer, requests.Response) and answer.status_code == 200
    codes = Counter(r["errors"][0]["statusCode"] for r in answer.json() if not r["success"])
    assert set(codes) == {code} and _near(codes[code])
    assert server.faults.fired == {kind: codes[code]}


def test_composite_sub_responses_fail_at_their_rate(server: SandboxServer, api: Api) -> None:
    _campaign(server, composite_sub=RATE)
    sub = {"method": "GET", "url": f"{V}/query?q=SELECT+Id+FROM+Account+LIMIT+1"}
    outcomes: Counter[str] = Counter()
    for _ in range(CHANCES // 5):  # a Composite takes at most 5 query subrequests
        body = {"compositeRequest": [{**sub, "referenceId": f"r{n}"} for n in range(5)]}
        answer = api("POST", "composite", json=body)
        assert isinstance(answer, requests.Response) and answer.status_code == 200
        for part in answer.json()["compositeResponse"]:
            code = part["httpStatusCode"]
            outcomes["ok" if code == 200 else f"{code} {part['body'][0]['errorCode']}"] += 1
    transient = {"503 SERVER_UNAVAILABLE", "400 UNABLE_TO_LOCK_ROW", "400 QUERY_TIMEOUT"}
    assert set(outcomes) == {"ok", *transient}
    struck = CHANCES - outcomes["ok"]
    assert _near(struck) and server.faults.fired == {"composite_sub": struck}
    assert server.calls["composite"] == CHANCES // 5


def test_bulk_jobs_fail_at_their_rate(server: SandboxServer, api: Api) -> None:
    _campaign(server, bulk_job=RATE)
    states: Counter[str] = Counter()
    for _ in range(CHANCES // 4):
        job = api(
            "POST", "jobs/query", json={"operation": "query", "query": "SELECT Id FROM Account"}
        )
        assert isinstance(job, requests.Response)
        status = api("GET", f"jobs/query/{job.json()['id']}")
        assert isinstance(status, requests.Response)
        states[status.json()["state"]] += 1
    assert set(states) == {"JobComplete", "Failed"}
    assert _near(states["Failed"], CHANCES // 4) and server.faults.fired == {
        "bulk_job": states["Failed"]
    }


def _run(server: SandboxServer, api: Api, seed: int) -> list[str]:
    server.faults.clear()
    _campaign(server, seed=seed, **{k: 0.2 for k in CALL_KINDS})
    return [_outcome(api("GET", "limits/")) for _ in range(60)]


def test_a_campaign_is_reproducible(server: SandboxServer, api: Api) -> None:
    first = _run(server, api, seed=11)
    assert first == _run(server, api, seed=11)
    assert first != _run(server, api, seed=12)
    assert len(set(first)) >= 4  # several kinds struck


def test_every_kind_at_once_is_ridden_out_by_the_client(server: SandboxServer) -> None:
    """What the whole-cycle campaign relies on: every transient fault is retried."""
    server.faults.campaign(FaultRates.every(0.1), seed=3)
    # A generous policy: the point is that nothing transient is fatal, not the odds.
    client = OrgClient(
        server.salesforce_settings(), retry=RetryPolicy(attempts=10, initial_wait=0, jitter=0)
    )
    calls: list[Callable[[], object]] = [
        lambda: client.limits(),
        lambda: client.describe("Account"),
        lambda: list(client.query("SELECT Id, Name FROM Account")),
        lambda: client.query_batch({f"Q{n}": ("SELECT Id FROM Account", True) for n in range(5)}),
        lambda: client.update("Account", [{"Id": i, "Name": "campaign"} for i in ACCOUNTS]),
    ]
    for _ in range(10):
        for call in calls:
            call()
    fired = server.faults.fired
    assert set(fired) >= {"reset", "server_error", "expired_session", "concurrent_limit",
                          "composite_sub", "row_lock", "refused_record"}  # fmt: skip
