"""The rules policy: ``config/rules.yaml`` validated into a frozen pydantic model.

Every invalid rules file fails at start-up with a ``ConfigError`` that names the file,
the key path and what was expected. The fingerprint (sha256 of the canonical JSON of
everything that changes decisions) is stored by the cycle: a new fingerprint makes the
next cycle re-evaluate every record.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from syncd.engine.named_csv import read_named_accounts
from syncd.engine.rules import codes
from syncd.engine.rules.custom import CustomRule
from syncd.errors import ConfigError
from syncd.sfid import InvalidSalesforceId, to_18
from syncd.validation import format_validation_error, read_yaml

_STRICT = ConfigDict(extra="forbid", frozen=True)
_USER_PREFIX = "005"
_CONFLICT_KEY = re.compile(r"^account(\+[A-Za-z_][A-Za-z0-9_]*)?$")


class NamedAccounts(BaseModel):
    model_config = _STRICT
    # "field": the account's named flag; "csv": a list of Account Ids; "both": either.
    source: Literal["field", "csv", "both"] = "field"
    csv_file: str = "named_accounts.csv"  # relative to the rules file


class RegistrationRules(BaseModel):
    model_config = _STRICT
    valid_days: int = Field(default=90, ge=1, le=3650)
    # "account", or "account+<opportunity extra field>" (e.g. account+product_family).
    conflict_key: str = "account"

    @field_validator("conflict_key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not _CONFLICT_KEY.match(value):
            raise ValueError("expected 'account' or 'account+<opportunity extra field name>'")
        return value

    @property
    def conflict_field(self) -> str | None:
        return self.conflict_key.partition("+")[2] or None


class TelesalesRules(BaseModel):
    model_config = _STRICT
    outbound_lead_sources: list[str] = ["Outbound Telesales", "Outbound Call", "Cold Call"]
    inbound_lead_sources: list[str] = ["Inbound Call", "Inbound Telesales"]

    @model_validator(mode="after")
    def _disjoint(self) -> TelesalesRules:
        both = {s.casefold() for s in self.outbound_lead_sources} & {
            s.casefold() for s in self.inbound_lead_sources
        }
        if both:
            raise ValueError(f"lead sources both outbound and inbound: {sorted(both)}")
        return self


class RegionRules(BaseModel):
    model_config = _STRICT
    countries: dict[str, list[str]] = {}
    enforcement: dict[str, date] = {}
    default: date = date(2026, 11, 1)

    @model_validator(mode="after")
    def _consistent(self) -> RegionRules:
        seen: dict[str, str] = {}
        for region, names in self.countries.items():
            for name in names:
                key = name.strip().casefold()
                if key in seen and seen[key] != region:
                    raise ValueError(f"country {name!r} is in both {seen[key]} and {region}")
                seen[key] = region
        unknown = sorted(set(self.enforcement) - set(self.countries))
        if unknown:
            raise ValueError(f"enforcement names regions with no countries: {unknown}")
        return self


class CompensationRules(BaseModel):
    model_config = _STRICT
    sticky_codes: list[str] = ["PARTNER_DISPLACED"]

    @field_validator("sticky_codes")
    @classmethod
    def _violation_codes(cls, values: list[str]) -> list[str]:
        # CUSTOM:<id> is checked against the custom rules once the whole file is read.
        unknown = [c for c in values if c not in codes.VIOLATION_CODES and not _is_custom(c)]
        if unknown:
            known = ", ".join([*sorted(codes.VIOLATION_CODES), "CUSTOM:<rule id>"])
            raise ValueError(f"unknown violation codes {unknown} (known: {known})")
        return values


def _is_custom(code: str) -> bool:
    return code.startswith(codes.CUSTOM_PREFIX)


class RemedyRules(BaseModel):
    model_config = _STRICT
    referral_fee_percent: Decimal = Field(default=Decimal(10), ge=0, le=100)


class Rung(BaseModel):
    model_config = _STRICT
    level: int = Field(ge=1)
    action: Literal["warning", "compensation_review", "termination_review"]
    owner: Literal["manager", "channel_ops", "channel_chief"]
    priority: Literal["Normal", "High"] = "Normal"


def _default_ladder() -> list[Rung]:
    return [
        Rung(level=1, action="warning", owner="manager", priority="Normal"),
        Rung(level=2, action="compensation_review", owner="manager", priority="High"),
        Rung(level=3, action="termination_review", owner="channel_chief", priority="High"),
    ]


class EscalationRules(BaseModel):
    model_config = _STRICT
    window_days: int = Field(default=365, ge=1, le=3650)
    ladder: list[Rung] = Field(default_factory=_default_ladder, min_length=1)
    # Days until a violation Task is due, by its priority.
    due_days: dict[Literal["Normal", "High"], int] = Field(
        default_factory=lambda: {"Normal": 7, "High": 3}  # type: ignore[arg-type,dict-item]
    )

    @field_validator("ladder")
    @classmethod
    def _one_to_n(cls, ladder: list[Rung]) -> list[Rung]:
        levels = [r.level for r in ladder]
        if levels != list(range(1, len(ladder) + 1)):
            raise ValueError(f"levels must be 1..{len(ladder)} in order, got {levels}")
        return ladder


class Owners(BaseModel):
    model_config = _STRICT
    channel_ops_user_id: str | None = None
    channel_chief_user_id: str | None = None

    @field_validator("channel_ops_user_id", "channel_chief_user_id")
    @classmethod
    def _user_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            user_id = to_18(value)
        except InvalidSalesforceId as exc:
            raise ValueError(f"expected a User Id: {exc}") from None
        if not user_id.startswith(_USER_PREFIX):
            raise ValueError(f"expected a User Id (005…), got {value!r}")
        return user_id


class Policy(BaseModel):
    """The validated rules file. ``named_account_ids`` comes from the CSV, not the YAML."""

    model_config = _STRICT
    version: str = Field(min_length=1, max_length=40)
    named_accounts: NamedAccounts = NamedAccounts()
    named_account_ids: frozenset[str] = frozenset()
    registration: RegistrationRules = RegistrationRules()
    telesales: TelesalesRules = TelesalesRules()
    regions: RegionRules = RegionRules()
    compensation: CompensationRules = CompensationRules()
    remedy: RemedyRules = RemedyRules()
    escalation: EscalationRules = EscalationRules()
    owners: Owners = Owners()
    custom_rules: list[CustomRule] = []

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        # `version: 3` is a natural thing to write; a float (2026.10) would lose digits.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, float):
            raise ValueError('quote the version (e.g. "2026.11-1"): numbers lose digits')
        return value

    @field_validator("custom_rules")
    @classmethod
    def _unique_ids(cls, rules: list[CustomRule]) -> list[CustomRule]:
        ids = [r.id for r in rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate custom rule ids: {duplicates}")
        return rules

    @property
    def fingerprint(self) -> str:
        data = self.model_dump(mode="json", exclude={"named_account_ids"})
        data["named_account_ids"] = sorted(self.named_account_ids)
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


def policy_json_schema() -> dict[str, Any]:
    """JSON Schema of the rules file, for editors (``named_account_ids`` is not in the file)."""
    schema = Policy.model_json_schema()
    schema.get("properties", {}).pop("named_account_ids", None)
    schema["title"] = "syncd rules file"
    return schema


def load_policy(path: Path) -> Policy:
    """Read, validate and complete (named-account CSV) a rules file.

    A file that syncd runs with must also name the owners its escalations need.
    """
    data = read_yaml(path, "rules")
    policy = policy_from_dict(data, source=str(path), base_dir=path.parent)
    problems = owner_problems(policy)
    if problems:
        raise ConfigError(f"{path}: invalid rules file", source=str(path), problems=problems)
    return policy


def owner_problems(policy: Policy) -> list[str]:
    """The owners the ladder and the fallbacks need but the rules file leaves empty."""
    problems = []
    if policy.owners.channel_ops_user_id is None:
        problems.append(
            "owners.channel_ops_user_id: required (a User Id): channel operations receive "
            "exception reviews and the violations of reps without an active manager"
        )
    chief_levels = [r.level for r in policy.escalation.ladder if r.owner == "channel_chief"]
    if chief_levels and policy.owners.channel_chief_user_id is None:
        problems.append(
            f"owners.channel_chief_user_id: required (a User Id): escalation.ladder level "
            f"{', '.join(map(str, chief_levels))} goes to the channel chief"
        )
    return problems


def policy_from_dict(data: Any, *, source: str = "<rules>", base_dir: Path | None = None) -> Policy:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of keys at the top level", source=source)
    if "named_account_ids" in data:
        raise ConfigError(
            f"{source}: invalid rules file",
            source=source,
            problems=["named_account_ids: not a rules-file key; use named_accounts.csv_file"],
        )
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            f"{source}: invalid rules file", source=source, problems=format_validation_error(exc)
        ) from None
    rule_codes = {f"{codes.CUSTOM_PREFIX}{r.id}" for r in policy.custom_rules}
    orphans = [c for c in policy.compensation.sticky_codes if _is_custom(c) and c not in rule_codes]
    if orphans:
        raise ConfigError(
            f"{source}: invalid rules file",
            source=source,
            problems=[f"compensation.sticky_codes: {orphans} name no rule of custom_rules"],
        )
    if policy.named_accounts.source == "field":
        return policy
    csv_path = Path(policy.named_accounts.csv_file)
    if not csv_path.is_absolute():
        csv_path = (base_dir or Path.cwd()) / csv_path
    return policy.model_copy(update={"named_account_ids": read_named_accounts(csv_path)})
