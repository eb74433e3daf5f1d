"""Transport failures: only certificate verification is fatal; everything else is retried.

The `responses` tests feed the client the exception chains `requests` really raises
(requests SSLError -> urllib3 MaxRetryError -> urllib3 SSLError -> the ssl/socket error);
the local-server tests make the handshake really fail.
"""

from __future__ import annotations

import errno
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from structlog.testing import capture_logs

from syncd.errors import FatalSyncError, RetriableError
from syncd.salesforce import OrgClient, RetryPolicy, SalesforceSettings
from syncd.salesforce.errors import is_certificate_failure, is_transport_failure
from syncd.sandbox.tls import CertPaths, ensure_certificates
from tests.contract.fakeorg import DATA, NO_WAIT, calls_to, page, ssl_error
from tests.contract.tlsserver import serving

QUERY = f"{DATA}/query/"
SOQL = "SELECT Id FROM Account"
CA_HINT = "Check salesforce.ca_bundle"

TRANSIENT: dict[str, Callable[[], BaseException]] = {
    "eof during the TLS handshake": lambda: ssl_error(
        ssl.SSLEOFError(8, "EOF occurred in violation of protocol (_ssl.c:1006)")
    ),
    "reset during the TLS handshake": lambda: requests.ConnectionError(
        ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
    ),
    "out of file descriptors loading the bundle": lambda: ssl_error(
        OSError(errno.EMFILE, "Too many open files")
    ),
    "out of file descriptors, unwrapped": lambda: OSError(errno.EMFILE, "Too many open files"),
    "a handshake alert": lambda: ssl_error(
        ssl.SSLError(1, "[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure")
    ),
    "a body cut short": lambda: requests.exceptions.ChunkedEncodingError("IncompleteRead"),
    "a read timeout": lambda: requests.exceptions.ReadTimeout("read timed out"),
}

FATAL: dict[str, Callable[[], BaseException]] = {
    "an unknown issuer": lambda: ssl_error(
        ssl.SSLCertVerificationError(
            1,
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get "
            "local issuer certificate (_ssl.c:1006)",
        )
    ),
    "a bundle that is not PEM": lambda: ssl_error(_x509_error()),
    "a bundle that is not there": lambda: OSError(
        "Could not find a suitable TLS CA certificate bundle, invalid path: /etc/nope.pem"
    ),
}


def _x509_error() -> ssl.SSLError:
    error = ssl.SSLError(136, "[X509: NO_CERTIFICATE_OR_CRL_FOUND] no certificate or crl found")
    error.library, error.reason = "X509", "NO_CERTIFICATE_OR_CRL_FOUND"
    return error


@pytest.mark.parametrize("make", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_transient_transport_failures_are_retried(
    client: OrgClient, org: responses.RequestsMock, make: Callable[[], BaseException]
) -> None:
    assert is_transport_failure(make()) and not is_certificate_failure(make())
    org.get(QUERY, body=make())
    org.get(QUERY, body=make())
    org.get(QUERY, json=page([{"Id": "001A"}]))
    with capture_logs() as logs:
        assert list(client.query(SOQL)) == [{"Id": "001A"}]
    assert len(calls_to(org, "/query/")) == 3
    assert [e["attempt"] for e in logs if e["event"] == "salesforce.retry"] == [1, 2]


@pytest.mark.parametrize("make", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_a_transient_failure_that_outlasts_the_retries_is_retriable(
    settings: SalesforceSettings, org: responses.RequestsMock, make: Callable[[], BaseException]
) -> None:
    org.get(QUERY, body=make())
    client = OrgClient(settings, retry=RetryPolicy(attempts=2, initial_wait=0, jitter=0))
    with pytest.raises(RetriableError) as caught:
        list(client.query(SOQL))
    assert CA_HINT not in str(caught.value)
    assert len(calls_to(org, "/query/")) == 2


@pytest.mark.parametrize("make", FATAL.values(), ids=FATAL.keys())
def test_certificate_failures_are_fatal_at_once(
    client: OrgClient, org: responses.RequestsMock, make: Callable[[], BaseException]
) -> None:
    assert is_certificate_failure(make()) and not is_transport_failure(make())
    org.get(QUERY, body=make())
    with pytest.raises(FatalSyncError, match=CA_HINT) as caught:
        list(client.query(SOQL))
    assert not isinstance(caught.value, RetriableError)
    assert len(calls_to(org, "/query/")) == 1


# -- a real TLS server ----------------------------------------------------------------


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> CertPaths:
    return ensure_certificates(tmp_path_factory.mktemp("other-ca"))


def _local(url: str, ca: Path) -> SalesforceSettings:
    return SalesforceSettings(login_url=url, client_id="app", client_secret="s3cret", ca_bundle=ca)


def test_a_handshake_cut_short_is_retried_and_never_counted(cert_dir: Path) -> None:
    certs = ensure_certificates(cert_dir)
    # Connections: 1 token, 2 version list, 3 and 4 the query (cut), 5 the query again.
    with serving(certs, cut=frozenset({3, 4})) as server:
        client = OrgClient(_local(server.url, certs.ca_cert), retry=NO_WAIT)
        with capture_logs() as logs:
            assert list(client.query(SOQL)) == [{"Id": "001A"}]
    retries = [e for e in logs if e["event"] == "salesforce.retry"]
    assert [(e["operation"], e["error_code"]) for e in retries] == [("query", "SSLError")] * 2
    assert (server.connections, server.handshakes) == (5, 3)
    # A request whose handshake failed never reached the org: it costs no allocation.
    assert client.calls == {"query": 1}


def test_an_untrusted_certificate_is_fatal_after_one_attempt(
    cert_dir: Path, other_ca: CertPaths
) -> None:
    certs = ensure_certificates(cert_dir)
    with serving(certs) as server:
        client = OrgClient(_local(server.url, other_ca.ca_cert), retry=NO_WAIT)
        with pytest.raises(FatalSyncError, match=CA_HINT) as caught:
            client.connect()
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert server.connections == 1 and server.handshakes == 0


def test_running_out_of_file_descriptors_is_retried(
    cert_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certs = ensure_certificates(cert_dir)
    real = ssl.SSLContext.load_verify_locations
    failures = [OSError(errno.EMFILE, "Too many open files")] * 2

    def load_verify_locations(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        if failures:
            raise failures.pop()
        real(self, *args, **kwargs)

    with serving(certs) as server:
        monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", load_verify_locations)
        client = OrgClient(_local(server.url, certs.ca_cert), retry=NO_WAIT)
        with capture_logs() as logs:
            client.connect()
    retries = [e for e in logs if e["event"] == "salesforce.retry"]
    assert [(e["operation"], e["error_code"]) for e in retries] == [("auth", "SSLError")] * 2
    assert server.handshakes == 2  # the login and the version list, once each
