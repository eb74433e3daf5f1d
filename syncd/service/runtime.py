"""Assemble the parts from settings: validated files, the store, the org client.

Everything that can be wrong with configuration fails here, at start-up, as ConfigError.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from syncd.engine.policy import Policy, load_policy
from syncd.errors import ConfigError
from syncd.logs import register_secrets
from syncd.notify.notifier import Notifier
from syncd.salesforce import OrgClient
from syncd.salesforce.config import SalesforceSettings
from syncd.settings import Settings
from syncd.store.store import Store
from syncd.sync.mapping import FieldMapping, load_mapping

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


def open_files(settings: Settings, *, existing_store: bool = False) -> Files:
    """The mapping, the rules and the store; every configuration problem at once.

    ``existing_store``: a reading command must not create an empty state database (it
    would report zero of everything); it refuses when there is none.
    """
    problems: list[str] = []
    mapping = _collect(lambda: load_mapping(settings.mapping_file), problems)
    policy = _collect(lambda: load_policy(settings.rules_file), problems)
    opener = Store.open_existing if existing_store else Store.open
    store = _collect(lambda: opener(settings.database_url, settings.state_dir), problems)
    if problems or mapping is None or policy is None or store is None:
        if store is not None:
            store.close()
        if len(problems) == 1:
            raise ConfigError(problems[0])
        raise ConfigError("syncd cannot start", problems=problems)
    return Files(mapping=mapping, policy=policy, store=store)


def _collect(load: Callable[[], T], problems: list[str]) -> T | None:
    try:
        return load()
    except ConfigError as exc:
        problems.append(str(exc))
        return None


def open_runtime(settings: Settings, client: OrgClient | None = None) -> Runtime:
    if settings.salesforce is not None:
        register_secrets(secret_values(settings.salesforce))
    if client is None:
        client = OrgClient(settings.require_salesforce())
    files = open_files(settings)
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
