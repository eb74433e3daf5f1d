"""Assemble the parts from settings: validated files, the store, the org client.

Everything that can be wrong with configuration fails here, at start-up, as ConfigError.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncd.logs import register_secrets
from syncd.mapping import FieldMapping, load_mapping
from syncd.policy import Policy, load_policy
from syncd.salesforce import OrgClient
from syncd.salesforce.config import SalesforceSettings
from syncd.settings import Settings
from syncd.store import Store


@dataclass
class Runtime:
    settings: Settings
    mapping: FieldMapping
    policy: Policy
    store: Store
    client: OrgClient

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


def open_files(settings: Settings) -> Files:
    return Files(
        mapping=load_mapping(settings.mapping_file),
        policy=load_policy(settings.rules_file),
        store=Store.open(settings.database_url, settings.state_dir),
    )


def open_runtime(settings: Settings, client: OrgClient | None = None) -> Runtime:
    if settings.salesforce is not None:
        register_secrets(secret_values(settings.salesforce))
    if client is None:
        client = OrgClient(settings.require_salesforce())
    files = open_files(settings)
    return Runtime(
        settings=settings,
        mapping=files.mapping,
        policy=files.policy,
        store=files.store,
        client=client,
    )
