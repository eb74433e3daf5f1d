"""Shared fixtures: every test starts with a clean SYNCD_* environment and no CA override."""

from __future__ import annotations

import os

import pytest
import structlog


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
