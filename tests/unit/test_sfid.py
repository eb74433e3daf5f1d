import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncd import sfid


def test_15_char_id_gets_salesforce_checksum() -> None:
    # A documented example pair: 001A0000006Vm9r -> 001A0000006Vm9rIAC
    assert sfid.to_18("001A0000006Vm9r") == "001A0000006Vm9rIAC"


def test_18_char_id_with_right_checksum_is_kept() -> None:
    assert sfid.to_18("001A0000006Vm9rIAC") == "001A0000006Vm9rIAC"


@pytest.mark.parametrize(
    "bad", ["", "001", "001A0000006Vm9rIAD", "001A0000006Vm9r'--", "001A0000006Vm9rIA", None, 42]
)
def test_bad_ids_are_refused(bad: object) -> None:
    assert not sfid.is_valid(bad)
    with pytest.raises(sfid.InvalidSalesforceId):
        sfid.to_18(bad)  # type: ignore[arg-type]


def test_make_id_is_deterministic_and_valid() -> None:
    first = sfid.make_id("006", 42)
    assert first == sfid.make_id("006", 42)
    assert first != sfid.make_id("006", 43)
    assert len(first) == 18 and first.startswith("006")
    assert sfid.is_valid(first)


def _reference_checksum(id15: str) -> str:
    """The documented algorithm, character by character (knowledge article 000385585)."""
    suffix = ""
    for block in range(3):
        bits = sum(1 << i for i, ch in enumerate(id15[block * 5 : block * 5 + 5]) if ch.isupper())
        suffix += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
    return suffix


@given(st.text(alphabet=string.ascii_letters + string.digits, min_size=15, max_size=15))
def test_the_fast_checksum_is_the_documented_one(id15: str) -> None:
    assert sfid.to_18(id15) == id15 + _reference_checksum(id15)
