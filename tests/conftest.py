"""Shared fixtures: every test starts with a clean SYNCD_* environment and no CA override."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from syncd.sandbox import SandboxOrg, SandboxServer, serve_sandbox
from tests.pgcluster import PostgresCluster


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SYNCD_"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _reset_structlog() -> None:
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


@pytest.fixture(scope="session")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One local CA and certificate for every sandbox a test session starts."""
    return tmp_path_factory.mktemp("tls")


@pytest.fixture
def server(org: SandboxOrg, cert_dir: Path) -> Iterator[SandboxServer]:
    """The ``org`` fixture of the requesting module, served over HTTPS on 127.0.0.1."""
    with serve_sandbox(org, cert_dir=cert_dir) as running:
        yield running


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL 15 cluster on 127.0.0.1 for the session (stopped at the end)."""
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()
