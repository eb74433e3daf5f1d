"""Fingerprints of what decides: a changed one makes the next cycle redo more."""

from __future__ import annotations

import hashlib
import json

from syncd.engine.policy import Policy
from syncd.store.state import Fingerprints
from syncd.sync.mapping import FieldMapping


def rules_fingerprint(policy: Policy) -> str:
    """The policy's fingerprint without the named-account list (that one cascades)."""
    data = policy.model_dump(mode="json", exclude={"named_account_ids"})
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def mapping_fingerprint(mapping: FieldMapping) -> str:
    """A new mapping reads other fields: the mirror no longer describes the org."""
    return hashlib.sha256(mapping.model_dump_json().encode()).hexdigest()


def fingerprints(policy: Policy, mapping: FieldMapping) -> Fingerprints:
    return Fingerprints(
        rules=rules_fingerprint(policy),
        policy=policy.fingerprint,
        mapping=mapping_fingerprint(mapping),
        named_accounts=policy.named_account_ids,
    )
