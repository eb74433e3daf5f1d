"""The daemon's daily sweep prunes the decision history past its retention, nothing newer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from syncd.engine.history import OPPORTUNITY, HistoryEvent, Kind
from syncd.errors import ConfigError
from syncd.salesforce import OrgClient
from syncd.service.daemon import Daemon
from syncd.service.runtime import Runtime, open_files
from syncd.settings import load_settings
from syncd.store.commit import CycleCommit, RunFinish
from syncd.store.history import history_count, history_of

DEAL = "006000000000001AAA"


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    settings = load_settings(state_dir=tmp_path / "state", history_retention_days=30)
    files = open_files(settings)
    client = cast(OrgClient, None)  # the sweep never calls the org
    yield Daemon(Runtime(settings, files.mapping, files.policy, files.store, client))
    files.store.close()


def test_the_sweep_prunes_what_is_older_than_the_retention(daemon: Daemon) -> None:
    store, now = daemon.runtime.store, datetime.now(UTC)
    events = [
        HistoryEvent(OPPORTUNITY, DEAL, Kind.DECIDED, now - timedelta(days=days), "r1", "v1")
        for days in (45, 31, 29, 1)
    ]
    store.start_run("r1", "full", now, "v1")
    store.commit_cycle(CycleCommit(run=RunFinish("r1", "success", now), history=events))
    daemon.sweep()
    assert history_count(store) == 2
    assert [e.at for e in history_of(store, DEAL)] == [e.at for e in events[2:]]


def test_the_retention_is_a_setting_longer_than_the_escalation_window() -> None:
    assert load_settings().history_retention_days == 400 > 365
    with pytest.raises(ConfigError, match="history_retention_days"):
        load_settings(history_retention_days=0)
