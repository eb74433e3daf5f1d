import pytest

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
