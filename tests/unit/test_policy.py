"""The rules file: the default loads; every kind of mistake names the file and key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from syncd.engine.policy import Policy, load_policy, policy_from_dict, policy_json_schema
from syncd.errors import ConfigError
from syncd.sfid import make_id

RULES = Path(__file__).resolve().parents[2] / "config" / "rules.yaml"


def _default_data() -> dict[str, Any]:
    return yaml.safe_load(RULES.read_text())


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _error(tmp_path: Path, data: dict[str, Any]) -> ConfigError:
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    assert str(path) in str(caught.value)
    assert caught.value.source == str(path)
    return caught.value


def test_default_rules_file_loads() -> None:
    policy = load_policy(RULES)
    assert policy.version == "2026.11-1"
    assert policy.named_accounts.source == "field" and policy.named_account_ids == frozenset()
    assert policy.registration.valid_days == 90
    assert policy.registration.conflict_field is None
    assert str(policy.regions.enforcement["NA"]) == "2026-07-20"
    assert str(policy.regions.default) == "2026-11-01"
    assert [r.level for r in policy.escalation.ladder] == [1, 2, 3]
    assert policy.escalation.ladder[2].owner == "channel_chief"
    assert policy.compensation.sticky_codes == ["PARTNER_DISPLACED"]
    assert len(policy.custom_rules) == 1


def test_fingerprint_is_stable_and_follows_content(tmp_path: Path) -> None:
    policy = load_policy(RULES)
    assert policy.fingerprint == load_policy(RULES).fingerprint
    assert len(policy.fingerprint) == 64
    data = _default_data()
    data["registration"]["valid_days"] = 60
    assert load_policy(_write(tmp_path, data)).fingerprint != policy.fingerprint
    with_ids = policy.model_copy(update={"named_account_ids": frozenset({make_id("001", 1)})})
    assert with_ids.fingerprint != policy.fingerprint


def test_owners_can_be_set_by_model_copy() -> None:
    policy = load_policy(RULES)
    owners = policy.owners.model_copy(update={"channel_ops_user_id": make_id("005", 7)})
    assert policy.model_copy(update={"owners": owners}).owners.channel_ops_user_id


def test_owner_ids_are_validated_and_normalised() -> None:
    user = make_id("005", 3)
    policy = policy_from_dict({"version": "v", "owners": {"channel_chief_user_id": user[:15]}})
    assert policy.owners.channel_chief_user_id == user
    with pytest.raises(ConfigError, match=r"owners\.channel_ops_user_id"):
        policy_from_dict({"version": "v", "owners": {"channel_ops_user_id": "not-an-id"}})


@pytest.mark.parametrize(
    ("change", "key_path", "expectation"),
    [
        ({"registration": {"validity_days": 30}}, "registration.validity_days", "unknown key"),
        ({"escalation": {"window_days": "a year"}}, "escalation.window_days", "integer"),
        ({"escalation": {"window_days": -5}}, "escalation.window_days", "greater than"),
        ({"regions": {"default": "2026-13-01"}}, "regions.default", "date"),
        ({"regions": {"enforcement": {"NA": "soon"}}}, "regions.enforcement.NA", "date"),
        ({"named_accounts": {"source": "excel"}}, "named_accounts.source", "'field'"),
        ({"registration": {"conflict_key": "product"}}, "registration.conflict_key", "account"),
        ({"version": 2026.1}, "version", "quote the version"),
        ({"remedy": {"referral_fee_percent": 120}}, "remedy.referral_fee_percent", "100"),
    ],
)
def test_mistakes_name_file_key_and_expectation(
    tmp_path: Path, change: dict[str, Any], key_path: str, expectation: str
) -> None:
    data = _default_data()
    for key, value in change.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) else value
    problems = _error(tmp_path, data).problems
    assert any(p.startswith(key_path) and expectation in p for p in problems), problems


def test_ladder_must_be_one_to_n(tmp_path: Path) -> None:
    data = _default_data()
    data["escalation"]["ladder"][1]["level"] = 3
    problems = _error(tmp_path, data).problems
    assert any("escalation.ladder" in p and "1..3" in p for p in problems), problems


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    problems = _error(tmp_path, {"version": "", "colour": "red", "telesales": []}).problems
    assert {p.split(":")[0] for p in problems} >= {"version", "colour", "telesales"}


def test_unknown_custom_rule_field_names_the_rule(tmp_path: Path) -> None:
    data = _default_data()
    data["custom_rules"] = [
        {"id": "no-typos", "when": {"opportunity.amont": {"gt": 1}}, "message": "m"}
    ]
    problems = _error(tmp_path, data).problems
    assert any("custom_rules.0" in p and "'no-typos'" in p and "amont" in p for p in problems)


def test_unknown_custom_rule_operator_names_the_rule(tmp_path: Path) -> None:
    data = _default_data()
    data["custom_rules"] = [
        {"id": "ops", "when": {"owner.role": {"like": "tele%"}}, "message": "m"}
    ]
    problems = _error(tmp_path, data).problems
    assert any("'ops'" in p and "unknown operator 'like'" in p for p in problems), problems


def test_named_csv_bad_id_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "named.csv").write_text(
        f"# comment\naccount_id\n{make_id('001', 1)}\n\n{make_id('001', 2)[:17]}x\nnope\n"
    )
    data = {"version": "v", "named_accounts": {"source": "both", "csv_file": "named.csv"}}
    with pytest.raises(ConfigError) as caught:
        load_policy(_write(tmp_path, data))
    text = str(caught.value)
    assert str(tmp_path / "named.csv") in text
    assert "line 5:" in text and "line 6:" in text and "line 3" not in text


def test_named_csv_missing_file_or_header(tmp_path: Path) -> None:
    data = {"version": "v", "named_accounts": {"source": "csv", "csv_file": "gone.csv"}}
    with pytest.raises(ConfigError, match=r"gone\.csv"):
        load_policy(_write(tmp_path, data))
    (tmp_path / "gone.csv").write_text(f"{make_id('001', 1)}\n")
    with pytest.raises(ConfigError, match="header line 'account_id'"):
        load_policy(_write(tmp_path, data))


def test_default_csv_example_is_valid() -> None:
    from syncd.engine.named_csv import read_named_accounts

    ids = read_named_accounts(RULES.parent / "named_accounts.csv")
    assert ids and all(len(i) == 18 for i in ids)


def test_yaml_and_shape_errors(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("version: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_policy(path)
    path.write_text("- a list\n")
    with pytest.raises(ConfigError, match="top level"):
        load_policy(path)
    with pytest.raises(ConfigError, match="cannot read rules file"):
        load_policy(tmp_path / "missing.yaml")


def test_country_in_two_regions_is_an_error() -> None:
    data = {"version": "v", "regions": {"countries": {"A": ["US"], "B": ["us"]}}}
    with pytest.raises(ConfigError, match="both A and B"):
        policy_from_dict(data)


def test_json_schema_describes_the_file() -> None:
    schema = policy_json_schema()
    assert "version" in schema["required"]
    assert "named_account_ids" not in schema["properties"]
    assert "custom_rules" in schema["properties"]
    assert isinstance(Policy.model_json_schema(), dict)


# -- owners (E12) and inputs a person gets wrong (issues 10, 13, 14) ----------------------


def test_default_rules_name_the_demo_orgs_owners() -> None:
    from syncd.sandbox.dataset import DEMO_CHANNEL_CHIEF_ID, DEMO_CHANNEL_OPS_ID

    owners = load_policy(RULES).owners
    assert (owners.channel_ops_user_id, owners.channel_chief_user_id) == (
        DEMO_CHANNEL_OPS_ID,
        DEMO_CHANNEL_CHIEF_ID,
    )


@pytest.mark.parametrize(
    ("owners", "missing"),
    [
        ({"channel_ops_user_id": None}, ["owners.channel_ops_user_id"]),
        ({"channel_chief_user_id": None}, ["owners.channel_chief_user_id"]),
        ({"channel_ops_user_id": None, "channel_chief_user_id": None},
         ["owners.channel_ops_user_id", "owners.channel_chief_user_id"]),
    ],
)  # fmt: skip
def test_E12_owners_the_ladder_or_the_fallback_needs_are_required(
    tmp_path: Path, owners: dict[str, Any], missing: list[str]
) -> None:
    data = _default_data()
    data["owners"].update(owners)
    problems = _error(tmp_path, data).problems
    assert [p.split(":")[0] for p in problems] == missing, problems
    why = {"owners.channel_ops_user_id": "exception reviews",
           "owners.channel_chief_user_id": "escalation.ladder level 3"}  # fmt: skip
    assert all(why[p.split(":")[0]] in p for p in problems), problems


def test_E12_a_ladder_without_the_chief_needs_no_chief(tmp_path: Path) -> None:
    data = _default_data()
    data["owners"]["channel_chief_user_id"] = None
    data["escalation"]["ladder"][2]["owner"] = "channel_ops"
    assert load_policy(_write(tmp_path, data)).owners.channel_chief_user_id is None
    # Parsing a rules mapping in code (tests, simulations) does not ask for owners.
    assert policy_from_dict({"version": "v"}).owners.channel_ops_user_id is None


def test_an_owner_must_be_a_user_id() -> None:
    with pytest.raises(ConfigError, match=r"owners\.channel_ops_user_id.*User Id \(005"):
        policy_from_dict({"version": "v", "owners": {"channel_ops_user_id": make_id("001", 1)}})


def test_an_impossible_date_names_the_file_and_key(tmp_path: Path) -> None:
    text = RULES.read_text().replace("NA: 2026-07-20", "NA: 2026-13-01")
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    assert str(path) in str(caught.value)
    assert any(p.startswith("regions.enforcement.NA") for p in caught.value.problems)


@pytest.mark.parametrize(
    ("codes", "expectation"),
    [
        (["PARTNER_DISPLACED", "PARTNER_DISPLACD"], "unknown violation codes ['PARTNER_DISPLACD']"),
        (["CUSTOM:nope"], "['CUSTOM:nope'] name no rule of custom_rules"),
    ],
)
def test_sticky_codes_must_be_violation_codes(
    tmp_path: Path, codes: list[str], expectation: str
) -> None:
    data = _default_data()
    data["compensation"]["sticky_codes"] = codes
    problems = _error(tmp_path, data).problems
    assert any(p.startswith("compensation.sticky_codes") and expectation in p for p in problems)
    rule_id = data["custom_rules"][0]["id"]
    data["compensation"]["sticky_codes"] = [f"CUSTOM:{rule_id}", "TELESALES_OUTBOUND"]
    assert load_policy(_write(tmp_path, data)).compensation.sticky_codes[0] == f"CUSTOM:{rule_id}"


def test_named_csv_other_objects_ids_name_the_line(tmp_path: Path) -> None:
    (tmp_path / "named.csv").write_text(
        f"account_id\n{make_id('001', 1)}\n{make_id('005', 1)}\n{make_id('006', 1)[:15]}\n"
    )
    data = {**_default_data(), "named_accounts": {"source": "csv", "csv_file": "named.csv"}}
    with pytest.raises(ConfigError) as caught:
        load_policy(_write(tmp_path, data))
    assert str(tmp_path / "named.csv") in str(caught.value)
    assert caught.value.problems == [
        f"line 3: {make_id('005', 1)} is a User Id; Account Ids start with 001",
        f"line 4: {make_id('006', 1)[:15]} is an Opportunity Id; Account Ids start with 001",
    ]


def test_files_that_are_not_utf8_name_the_file(tmp_path: Path) -> None:
    csv_path = tmp_path / "named.csv"
    csv_path.write_bytes(f"account_id\n{make_id('001', 1)}\n# Société Générale\n".encode("latin-1"))
    data = {**_default_data(), "named_accounts": {"source": "csv", "csv_file": "named.csv"}}
    with pytest.raises(ConfigError, match="not UTF-8") as caught:
        load_policy(_write(tmp_path, data))
    assert caught.value.source == str(csv_path)
    rules = tmp_path / "latin.yaml"
    rules.write_bytes("version: 'Société'\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_policy(rules)
