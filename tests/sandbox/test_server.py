"""The sandbox over HTTPS with `requests`: auth, shapes, pagination, collections, faults, TLS."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from syncd.salesforce import OrgClient
from syncd.salesforce.retry import RetryPolicy
from syncd.sandbox import SandboxOrg, SandboxServer
from syncd.sandbox.tls import ensure_certificates
from syncd.sfid import make_id

V = "/services/data/v62.0"
ACCT = make_id("001", 1)
PARTNER = make_id("001", 2)


@pytest.fixture
def org() -> SandboxOrg:
    org = SandboxOrg()
    org.load(
        {
            "Account": [
                {"Id": ACCT, "Name": "Acme", "BillingCountry": "US"},
                {"Id": PARTNER, "Name": "Partner Co", "IsPartner": True},
            ],
        }
    )
    return org


class Client:
    """A tiny authenticated client: every call verifies TLS against the sandbox CA."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.http = requests.Session()
        self.verify = str(server.ca_bundle)
        self.token = token(server).json()["access_token"]

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        url = self.server.instance_url + (path if path.startswith("/") else f"{V}/{path}")
        return self.http.request(method, url, headers=headers, verify=self.verify, **kwargs)

    def query(self, soql: str, **kwargs: Any) -> requests.Response:
        return self("GET", "query/", params={"q": soql}, **kwargs)

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def api(server: SandboxServer) -> Iterator[Client]:
    client = Client(server)
    yield client
    client.close()


def token(server: SandboxServer, **data: str) -> requests.Response:
    form = data or {"grant_type": "client_credentials"}
    auth = (server.client_id, server.client_secret) if not data else None
    return requests.post(
        f"{server.login_url}/services/oauth2/token",
        data=form,
        auth=auth,
        verify=str(server.ca_bundle),
        timeout=10,
    )


# -- auth ---------------------------------------------------------------------------------


def test_client_credentials_grant(server: SandboxServer) -> None:
    response = token(server)
    assert response.status_code == 200
    body = response.json()
    assert body["instance_url"] == server.instance_url and body["token_type"] == "Bearer"
    assert set(body) >= {"access_token", "id", "issued_at", "signature"}
    as_form = token(
        server,
        grant_type="client_credentials",
        client_id=server.client_id,
        client_secret=server.client_secret,
    )
    assert as_form.status_code == 200
    assert server.calls["token"] == 2 and server.api_calls() == 0


def test_bad_credentials_are_refused_like_salesforce(server: SandboxServer) -> None:
    wrong = token(server, grant_type="client_credentials", client_id=server.client_id,
                  client_secret="nope")  # fmt: skip
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_client"
    base = {"grant_type": "password", "client_id": server.client_id,
            "client_secret": server.client_secret, "username": server.username}  # fmt: skip
    assert token(server, **base, password=server.password).status_code == 200
    refused = token(server, **base, password="wrong")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    odd = token(server, grant_type="refresh_token")
    assert odd.json()["error"] == "unsupported_grant_type"


def test_jwt_bearer_grant_checks_the_issuer(server: SandboxServer) -> None:
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = {"iss": server.client_id, "sub": server.username, "exp": int(time.time()) + 180}
    good = jwt.encode(claims, "k" * 32, algorithm="HS256")
    assert token(server, grant_type=grant, assertion=good).status_code == 200
    other = jwt.encode({**claims, "iss": "someone-else"}, "k" * 32, algorithm="HS256")
    assert token(server, grant_type=grant, assertion=other).status_code == 400
    assert token(server, grant_type=grant, assertion="not.a.jwt").json()["error"] == (
        "invalid_grant"
    )


def test_data_calls_need_a_valid_token(server: SandboxServer, api: Client) -> None:
    url = f"{server.instance_url}{V}/limits/"
    for headers in ({}, {"Authorization": "Bearer forged"}):
        response = requests.get(url, headers=headers, verify=str(server.ca_bundle), timeout=10)
        assert response.status_code == 401
        assert response.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert api("GET", "limits/").status_code == 200
    server.faults.expire_sessions()
    assert api("GET", "limits/").status_code == 401
    assert server.calls["limits"] == 4  # refused calls count too


# -- TLS -----------------------------------------------------------------------------------


def test_tls_is_verified_with_the_ca_bundle_and_refused_without(server: SandboxServer) -> None:
    ok = requests.get(f"{server.instance_url}/services/data/", verify=str(server.ca_bundle),
                      timeout=10)  # fmt: skip
    assert ok.status_code == 200 and any(v["version"] == "62.0" for v in ok.json())
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{server.instance_url}/services/data/", verify=True, timeout=10)


def test_certificates_are_reused_while_valid(tmp_path: Path) -> None:
    first = ensure_certificates(tmp_path)
    pems = [p.read_bytes() for p in (first.ca_cert, first.server_cert, first.server_key)]
    again = ensure_certificates(tmp_path)
    assert [p.read_bytes() for p in (again.ca_cert, again.server_cert, again.server_key)] == pems
    first.server_cert.write_text("garbage")
    renewed = ensure_certificates(tmp_path)
    assert renewed.ca_cert.read_bytes() == pems[0]  # same CA, new leaf
    assert renewed.server_cert.read_bytes() != pems[1]
    assert (tmp_path / "ca-key.pem").stat().st_mode & 0o077 == 0


# -- query ---------------------------------------------------------------------------------


def test_query_shape_and_limit_header(server: SandboxServer, api: Client) -> None:
    response = api.query("SELECT Id, Name FROM Account WHERE IsPartner = false")
    assert response.status_code == 200
    assert response.json() == {
        "totalSize": 1,
        "done": True,
        "records": [
            {"attributes": {"type": "Account", "url": f"{V}/sobjects/Account/{ACCT}"},
             "Id": ACCT, "Name": "Acme"}
        ],
    }  # fmt: skip
    first = response.headers["Sforce-Limit-Info"]
    second = api.query("SELECT Id FROM Account").headers["Sforce-Limit-Info"]
    assert first == "api-usage=1/100000" and second == "api-usage=2/100000"
    assert api("GET", "limits/").json()["DailyApiRequests"] == {"Max": 100000, "Remaining": 99997}


def test_query_errors(api: Client) -> None:
    bad = api.query("SELECT Id FROM Account WHERE")
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "MALFORMED_QUERY"
    field = api.query("SELECT Nope__c FROM Account")
    assert field.status_code == 400 and field.json()[0]["errorCode"] == "INVALID_FIELD"
    assert "No such column 'Nope__c' on entity 'Account'" in field.json()[0]["message"]
    kind = api.query("SELECT Id FROM Widget__c")
    assert kind.json()[0]["errorCode"] == "INVALID_TYPE"


def test_pagination_of_4500_records_is_three_pages(server: SandboxServer, api: Client) -> None:
    server.org.load({"Account": [{"Name": f"Bulk {n:04d}"} for n in range(4498)]})
    server.reset_calls()
    page = api.query("SELECT Id, Name FROM Account ORDER BY Name").json()
    sizes, names = [len(page["records"])], [r["Name"] for r in page["records"]]
    assert page["totalSize"] == 4500 and page["done"] is False
    server.org.create("Account", {"Name": "Arrived mid-query"})  # the cursor is a snapshot
    while not page["done"]:
        assert page["nextRecordsUrl"].startswith(f"{V}/query/01g")
        page = api("GET", page["nextRecordsUrl"]).json()
        sizes.append(len(page["records"]))
        names.extend(r["Name"] for r in page["records"])
    assert sizes == [2000, 2000, 500] and "nextRecordsUrl" not in page
    assert names == sorted(names, key=str.casefold) and len(set(names)) == 4500
    assert server.calls["query"] == 1 and server.calls["query_more"] == 2
    gone = api("GET", f"{V}/query/01gBOGUS-2000")
    assert gone.status_code == 400 and gone.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_batch_size_header_sets_the_page_size(server: SandboxServer, api: Client) -> None:
    server.org.load({"Account": [{"Name": f"n{n}"} for n in range(498)]})
    page = api.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=200"})
    assert len(page.json()["records"]) == 200 and page.json()["totalSize"] == 500


# -- sObject rows and describe ----------------------------------------------------------------


def test_sobject_rows(server: SandboxServer, api: Client) -> None:
    got = api("GET", f"sobjects/Account/{ACCT}", params={"fields": "Name,BillingCountry"})
    assert got.json() == {"attributes": {"type": "Account", "url": f"{V}/sobjects/Account/{ACCT}"},
                          "Name": "Acme", "BillingCountry": "US"}  # fmt: skip
    created = api("POST", "sobjects/Account/", json={"Name": "Fresh"})
    assert created.status_code == 201 and created.json()["success"] is True
    new_id = created.json()["id"]
    assert api("PATCH", f"sobjects/Account/{new_id}", json={"Type": "Customer"}).status_code == 204
    assert server.org.get("Account", new_id)["Type"] == "Customer"  # type: ignore[index]
    refused = api("PATCH", f"sobjects/Account/{new_id}", json={"IsPartner": "maybe"})
    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    assert api("DELETE", f"sobjects/Account/{new_id}").status_code == 204
    assert api("GET", f"sobjects/Account/{new_id}").status_code == 404
    assert api("DELETE", f"sobjects/Account/{new_id}").json()[0]["errorCode"] == (
        "ENTITY_IS_DELETED"
    )
    kinds = ("sobject_get", "sobject_create", "sobject_update", "sobject_delete")
    assert [server.calls[k] for k in kinds] == [2, 1, 2, 2]


def test_describe(server: SandboxServer, api: Client) -> None:
    described = api("GET", "sobjects/Task/describe/").json()
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["RoE_Key__c"]["externalId"] is True and fields["RoE_Key__c"]["unique"] is True
    assert fields["IsClosed"]["updateable"] is False
    assert fields["WhatId"]["referenceTo"] == ["Account", "Opportunity"]
    assert [v["value"] for v in fields["Priority"]["picklistValues"]] == ["High", "Normal", "Low"]
    names = {o["name"] for o in api("GET", "sobjects/").json()["sobjects"]}
    assert names == {"Account", "Opportunity", "User", "Task", "OpportunityPartner",
                     "Deal_Registration__c", "RoE_Scorecard__c", "RoE_Violation__e"}  # fmt: skip
    assert api("GET", "sobjects/Widget__c/describe/").status_code == 404
    assert server.calls["describe"] == 2 and server.calls["describe_global"] == 1


# -- collections -----------------------------------------------------------------------------


def records(*rows: dict[str, Any], sobject: str = "Account") -> list[dict[str, Any]]:
    return [{"attributes": {"type": sobject}, **row} for row in rows]


def test_collections_update_partial_success(server: SandboxServer, api: Client) -> None:
    body = {"allOrNone": False, "records": records(
        {"Id": ACCT, "RoE_Engagement_Lead__c": "Direct"},
        {"Id": PARTNER, "No_Such__c": 1},
    )}  # fmt: skip
    response = api("PATCH", "composite/sobjects", json=body)
    assert response.status_code == 200
    ok, bad = response.json()
    assert ok == {"id": ACCT, "success": True, "errors": []}
    assert bad["success"] is False and bad["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert bad["errors"][0]["fields"] == ["No_Such__c"]
    assert server.org.get("Account", ACCT)["RoE_Engagement_Lead__c"] == "Direct"  # type: ignore[index]
    assert server.calls["collections_update"] == 1


def test_collections_all_or_none_rolls_back(server: SandboxServer, api: Client) -> None:
    before = server.org.records("Account")
    body = {"allOrNone": True, "records": records(
        {"Id": ACCT, "Name": "Renamed"}, {"Id": PARTNER, "IsPartner": "x"},
    )}  # fmt: skip
    first, second = api("PATCH", "composite/sobjects", json=body).json()
    assert first["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert second["errors"][0]["statusCode"] == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    assert server.org.records("Account") == before


def test_collections_refuse_more_than_200_records(server: SandboxServer, api: Client) -> None:
    body = {"records": records(*({"Name": f"n{i}"} for i in range(201)))}
    response = api("POST", "composite/sobjects", json=body)
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert len(server.org.records("Account")) == 2
    untyped = api("POST", "composite/sobjects", json={"records": [{"Name": "x"}]})
    assert untyped.status_code == 400


def test_collections_create_and_delete(server: SandboxServer, api: Client) -> None:
    made = api("POST", "composite/sobjects", json={"records": records({"Name": "A"}, {})}).json()
    assert made[0]["success"] and made[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    ids = f"{made[0]['id']},{make_id('001', 999)},junk"
    deleted = api("DELETE", "composite/sobjects", params={"ids": ids, "allOrNone": "false"}).json()
    assert [d["success"] for d in deleted] == [True, False, False]
    codes = [d["errors"][0]["statusCode"] for d in deleted[1:]]
    assert codes == ["INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID"]
    assert server.calls["collections_create"] == 1 and server.calls["collections_delete"] == 1


def test_collections_upsert_by_external_id(server: SandboxServer, api: Client) -> None:
    def upsert(*rows: dict[str, Any]) -> list[dict[str, Any]]:
        body = {"allOrNone": False, "records": records(*rows, sobject="Task")}
        response = api("PATCH", "composite/sobjects/Task/RoE_Key__c", json=body)
        assert response.status_code == 200
        return response.json()

    first = upsert({"RoE_Key__c": "v1", "Subject": "S1", "WhatId": ACCT})
    assert first[0]["created"] is True and first[0]["success"] is True
    again = upsert({"RoE_Key__c": "v1", "Status": "Completed"}, {"RoE_Key__c": "v2"})
    assert [(r["created"], r["success"]) for r in again] == [(False, True), (True, True)]
    assert again[0]["id"] == first[0]["id"]
    tasks = {t["RoE_Key__c"]: t for t in server.org.records("Task")}
    assert tasks["v1"]["IsClosed"] is True and tasks["v1"]["Subject"] == "S1"
    not_external = api("PATCH", "composite/sobjects/Task/Subject", json={"records": []})
    assert not_external.status_code == 400
    assert server.calls["collections_upsert"] == 3


def test_composite_subrequests_with_references(server: SandboxServer, api: Client) -> None:
    body = {"compositeRequest": [
        {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "acct",
         "body": {"Name": "Via composite"}},
        {"method": "GET", "url": f"{V}/sobjects/Account/@{{acct.id}}", "referenceId": "read"},
    ]}  # fmt: skip
    answer = api("POST", "composite", json=body).json()["compositeResponse"]
    assert [a["httpStatusCode"] for a in answer] == [201, 200]
    assert answer[1]["body"]["Name"] == "Via composite"
    assert server.calls["composite"] == 1 and server.api_calls() == 1


# -- faults --------------------------------------------------------------------------------------


def test_fail_next_by_kind_then_recovers(server: SandboxServer, api: Client) -> None:
    server.faults.fail_next(503, "SERVER_UNAVAILABLE", times=2, kind="query")
    assert api("GET", "limits/").status_code == 200  # another kind is untouched
    statuses = [api.query("SELECT Id FROM Account").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    server.faults.fail_next(403, "REQUEST_LIMIT_EXCEEDED")
    assert token(server).status_code == 200  # logins are not hit unless aimed at
    refused = api("GET", "limits/")
    assert refused.status_code == 403 and refused.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert "Sforce-Limit-Info" in refused.headers
    server.faults.fail_next(500, "UNKNOWN_EXCEPTION", kind="token")
    assert token(server).status_code == 500


def test_fail_rate_is_reproducible(server: SandboxServer, api: Client) -> None:
    def run() -> list[int]:
        server.faults.clear()
        server.faults.fail_rate(0.5, 503, "SERVER_UNAVAILABLE", seed=7)
        return [api("GET", "limits/").status_code for _ in range(12)]

    first = run()
    assert first == run() and 200 in first and 503 in first


def test_fail_records_in_collections(server: SandboxServer, api: Client) -> None:
    server.faults.fail_records([PARTNER[:15]], "UNABLE_TO_LOCK_ROW", times=1)
    body = {"records": records({"Id": ACCT, "Name": "a"}, {"Id": PARTNER, "Name": "b"})}
    first = api("PATCH", "composite/sobjects", json=body).json()
    assert [r["success"] for r in first] == [True, False]
    assert first[1]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    second = api("PATCH", "composite/sobjects", json=body).json()
    assert [r["success"] for r in second] == [True, True]


def test_latency(server: SandboxServer, api: Client) -> None:
    server.faults.latency(0.3)
    started = time.monotonic()
    assert api("GET", "limits/").status_code == 200
    assert time.monotonic() - started >= 0.3
    server.faults.clear()
    started = time.monotonic()
    api("GET", "limits/")
    assert time.monotonic() - started < 0.3


# -- the real client -------------------------------------------------------------------------


def test_org_client_queries_and_updates_over_https(
    server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", requests.certs.where())  # the setting must win
    settings = server.salesforce_settings()
    client = OrgClient(settings, retry=RetryPolicy(initial_wait=0, max_wait=0, jitter=0))
    rows = list(client.query("SELECT Id, Name FROM Account WHERE IsPartner = true"))
    assert rows == [{"Id": PARTNER, "Name": "Partner Co"}]
    (result,) = client.update("Account", [{"Id": PARTNER, "RoE_Reason__c": "via client"}])
    assert result.success and result.id == PARTNER
    assert server.org.get("Account", PARTNER)["RoE_Reason__c"] == "via client"  # type: ignore[index]
    assert server.calls["query"] == 1 and server.calls["collections_update"] == 1
    assert client.usage is not None and client.usage.used == server.api_calls() == 2
