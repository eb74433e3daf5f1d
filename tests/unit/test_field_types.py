"""Every key of the mapping has the Salesforce types `syncd check` accepts for it."""

from __future__ import annotations

import pytest

from syncd.sync.field_types import SALESFORCE_TYPES
from syncd.sync.mapping import (
    AccountRead,
    AccountWrite,
    OpportunityRead,
    OpportunityWrite,
    UserRead,
)

SECTIONS = {
    "account": (AccountRead, AccountWrite),
    "opportunity": (OpportunityRead, OpportunityWrite),
    "user": (UserRead,),
}


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_every_mapping_key_has_its_salesforce_types(section: str) -> None:
    keys = {key for model in SECTIONS[section] for key in model.model_fields}
    assert keys - SALESFORCE_TYPES[section].keys() == set()
    assert SALESFORCE_TYPES[section].keys() - keys == set()  # nothing stale either


def test_the_types_are_salesforce_describe_types() -> None:
    from syncd.sandbox.schema import FIELD_TYPES

    used = {t for section in SALESFORCE_TYPES.values() for types in section.values() for t in types}
    assert used <= FIELD_TYPES | {"email", "phone", "url", "combobox", "int", "percent"}
