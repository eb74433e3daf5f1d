"""Assemble the parts from settings: validated files, the store, the org client.

Everything that can be wrong with configuration fails here, at start-up, as ConfigError.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from syncd.engine.policy import Policy, load_policy
from syncd.errors import ConfigError
from syncd.logs import register_secrets
from syncd.notify.notifier import Notifier
from syncd.salesforce import OrgClient
from syncd.salesforce.config import SalesforceSettings
from syncd.settings import Settings, SettingsError
from syncd.store.store import Store
from syncd.sync.cycle import Cycle
from syncd.sync.mapping import FieldMapping, load_mapping
from syncd.sync.options import CycleOptions

T = TypeVar("T")


@dataclass
class Runtime:
    settings: Settings
    mapping: FieldMapping
    policy: Policy
    store: Store
    client: OrgClient
    notifier: Notifier | None = None  # None: no notifications configured

    def close(self) -> None:
        self.store.close()

    def cycle(self, **extra: Any) -> Cycle:
        """A cycle over this runtime's org, store, files, settings and notifier; ``extra``:
        what only its caller knows (a progress bar, a stop signal)."""
        return Cycle(
            self.client,
            self.store,
            self.mapping,
            self.policy,
            options=CycleOptions.from_settings(self.settings),
            notifier=self.notifier,
            **extra,
        )


def secret_values(sf: SalesforceSettings) -> list[str | None]:
    return [
        s.get_secret_value() if s is not None else None
        for s in (sf.client_secret, sf.password, sf.access_token)
    ]


@dataclass
class Files:
    """What commands that never call the org need: validated files and the store."""

    mapping: FieldMapping
    policy: Policy
    store: Store


def open_files(
    settings: Settings,
    *,
    existing_store: bool = False,
    earlier: SettingsError | None = None,
    need_org: bool = False,
) -> Files:
    """The mapping, the rules and the store; every configuration problem at once.

    ``earlier``: the settings problems found while loading ``settings`` (its fallback);
    they are listed first, and a file whose setting failed is not checked in its place.
    ``existing_store``: a reading command must not create an empty state database (it
    would report zero of everything); it refuses when there is none. ``need_org``: the
    command talks to the org, so a missing ``salesforce`` section is a problem too.
    """
    failed = earlier.failed if earlier is not None else frozenset()
    problems = list(earlier.problems) if earlier is not None else []
    if need_org and "salesforce" not in failed:
        _collect(settings.require_salesforce, problems)
    mapping = policy = store = None
    if "mapping_file" not in failed:
        mapping = _collect(lambda: load_mapping(settings.mapping_file), problems)
    if "rules_file" not in failed:
        policy = _collect(lambda: load_policy(settings.rules_file), problems)
    if not failed & {"state_dir", "database_url"}:
        if problems:  # syncd will not start: look at the store, create nothing
            _collect(lambda: probe_store(settings, existing=existing_store), problems)
        else:
            store = _collect(lambda: open_store(settings, existing=existing_store), problems)
    if problems or mapping is None or policy is None or store is None:
        raise _cannot_start(problems, earlier)
    return Files(mapping=mapping, policy=policy, store=store)


def open_store(settings: Settings, *, existing: bool = False) -> Store:
    """The state store of ``settings``; ``existing``: refuse to create one (reading commands)."""
    opener = Store.open_existing if existing else Store.open
    try:
        return opener(settings.database_url, settings.state_dir)
    except OSError as exc:  # the state directory cannot be created (a file, no permission)
        raise ConfigError(
            f"cannot use {settings.state_dir} as the state directory (state_dir): {exc.strerror}"
        ) from None


def probe_store(settings: Settings, *, existing: bool = False) -> str:
    """What ``open_store`` would find, creating nothing (ConfigError when it would fail).

    An SQLite state database that does not exist yet is not created: ``syncd check`` may
    run as another user than the service, and the file would belong to the wrong one.
    """
    state_dir = settings.state_dir
    if settings.database_url is None and not (state_dir / "syncd.db").exists() and not existing:
        if state_dir.exists() and not state_dir.is_dir():
            raise ConfigError(f"state_dir {state_dir} is not a directory")
        if not os.access(_existing_ancestor(state_dir), os.W_OK):
            raise ConfigError(f"state_dir {state_dir} cannot be created: permission denied")
        return f"state {state_dir}: the first cycle creates the database"
    store = open_store(settings, existing=True)
    store.close()
    return f"state store {store.location}: opens"


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _cannot_start(problems: list[str], earlier: SettingsError | None) -> ConfigError:
    if earlier is not None and len(problems) == len(earlier.problems):
        return earlier  # nothing but the settings: their own message names their source
    if len(problems) == 1:
        return ConfigError(problems[0])
    where = f" (settings from {earlier.source})" if earlier is not None else ""
    return ConfigError(f"syncd cannot start, {len(problems)} problems{where}", problems=problems)


def _collect(load: Callable[[], T], problems: list[str]) -> T | None:
    try:
        return load()
    except ConfigError as exc:
        problems.append(str(exc))
        return None


def open_runtime(
    settings: Settings, client: OrgClient | None = None, *, earlier: SettingsError | None = None
) -> Runtime:
    """Everything a cycle needs; every configuration problem at once (see ``open_files``)."""
    if settings.salesforce is not None:
        register_secrets(secret_values(settings.salesforce))
    files = open_files(settings, earlier=earlier, need_org=client is None)
    if client is None:
        client = OrgClient(settings.require_salesforce())
    try:
        notifier = Notifier.configured(settings.notifications, files.store)
    except ConfigError:
        files.store.close()
        raise
    return Runtime(
        settings=settings,
        mapping=files.mapping,
        policy=files.policy,
        store=files.store,
        client=client,
        notifier=notifier,
    )
