"""`syncd check`: is this deployment able to run? Every problem found, not just the first.

Validates the settings, mapping and rules files and the state store; authenticates and
proves it with a real call (a given access token is otherwise never tried before the
first cycle); describes Account, Opportunity, User, Task and the related sources the
mapping declares (OpportunityPartner, a deal-registration object); checks each mapped field
exists, has a compatible type, and is readable (or writable, for the fields syncd writes)
by the integration user; and checks the owners the rules file names are active users.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from syncd.engine.policy import Owners, Policy, load_policy
from syncd.errors import AuthenticationError, SyncdError
from syncd.salesforce import OrgClient
from syncd.salesforce.soql import identifier, select, soql_format
from syncd.service.runtime import probe_store
from syncd.settings import Settings
from syncd.sync.field_types import SALESFORCE_TYPES
from syncd.sync.mapping import FieldMapping, RelatedSource, load_mapping

# Salesforce field types each domain attribute accepts (describe's `type`).


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class _Wanted:
    section: str
    attr: str
    name: str
    write: bool


@dataclass(frozen=True)
class CheckedFiles:
    mapping: FieldMapping | None
    policy: Policy | None


def check_files(
    settings: Settings, report: CheckReport, skip: frozenset[str] = frozenset()
) -> CheckedFiles:
    """The mapping and rules files (``skip``: settings that failed; their files are unknown)."""
    mapping = policy = None
    if "mapping_file" not in skip:
        try:
            mapping = load_mapping(settings.mapping_file)
            report.notes.append(f"mapping {settings.mapping_file}: valid")
        except SyncdError as exc:
            report.problems.append(str(exc))
    if "rules_file" not in skip:
        try:
            policy = load_policy(settings.rules_file)
            report.notes.append(f"rules {settings.rules_file}: valid (version {policy.version})")
        except SyncdError as exc:
            report.problems.append(str(exc))
    return CheckedFiles(mapping, policy)


def check_store(
    settings: Settings, report: CheckReport, skip: frozenset[str] = frozenset()
) -> None:
    if skip & {"state_dir", "database_url"}:
        return
    try:
        report.notes.append(probe_store(settings))
    except SyncdError as exc:
        report.problems.append(str(exc))


def check_org(
    client: OrgClient, mapping: FieldMapping, report: CheckReport, policy: Policy | None = None
) -> None:
    if not _authenticated(client, report):
        return
    sections = {
        "account": (mapping.account.sobject, mapping.account),
        "opportunity": (mapping.opportunity.sobject, mapping.opportunity),
        "user": (mapping.user.sobject, mapping.user),
    }
    for section, (sobject, part) in sections.items():
        described = _describe(client, sobject, report)
        if described is not None:
            for wanted in _wanted(section, part):
                _check_field(sobject, described, wanted, report)
    for source in mapping.opportunity.sources:  # OpportunityPartner, a registration object
        described = _describe(client, source.sobject, report)
        if described is not None:
            for wanted in _related_wanted(source):
                _check_field(source.sobject, described, wanted, report)
    task = _describe(client, mapping.task.sobject, report)
    if task is not None:
        key = mapping.task.key_field
        _check_field(mapping.task.sobject, task, _Wanted("task", "key", key, write=True), report)
        if key in task and not task[key].get("externalId"):
            report.problems.append(
                f"{mapping.task.sobject}.{key} must be an External ID (unique) field: "
                "syncd upserts violation Tasks by it"
            )
    if policy is not None:
        _check_owners(client, mapping, policy.owners, report)


def _authenticated(client: OrgClient, report: CheckReport) -> bool:
    """Log in and prove the session with a real call (limits/, which the report wants
    anyway): in token mode nothing else would try the token before the first cycle."""
    try:
        client.connect()
        limits = client.limits()
    except AuthenticationError as exc:
        report.problems.append(f"cannot authenticate: {exc}")
        return False
    except SyncdError as exc:
        report.problems.append(f"cannot reach the org: {exc}")
        return False
    how = "the access token" if client.settings.auth == "token" else client.settings.auth
    report.notes.append(f"authenticated ({how}, proved by a call to limits/)")
    served = client.api_versions
    report.notes.append(
        f"API version {client.settings.api_version} is served (the org serves "
        f"{served[0]} to {served[-1]})"
    )
    report.notes.append(f"API requests left today: {limits.daily_remaining} of {limits.daily_max}")
    return True


def _check_owners(
    client: OrgClient, mapping: FieldMapping, owners: Owners, report: CheckReport
) -> None:
    """Each owner the rules file names must be an active user: one query for all of them."""
    named = {name: uid for name, uid in owners.model_dump().items() if uid}
    if not named:
        return
    user, key = mapping.user, identifier(mapping.user.read.id)
    soql = select(
        user.sobject,
        [key, user.read.is_active],
        where=soql_format(f"{key} IN {{}}", sorted(set(named.values()))),
    )
    try:
        found = {str(r[key]): r.get(user.read.is_active) for r in client.query(soql)}
    except SyncdError as exc:
        report.problems.append(f"cannot look up the owners in the rules file: {exc}")
        return
    for name, uid in named.items():
        if uid not in found:
            report.problems.append(f"owners.{name} in the rules file: no User {uid} in the org")
        elif found[uid] is not True:
            report.problems.append(f"owners.{name} in the rules file: User {uid} is inactive")


def _describe(client: OrgClient, sobject: str, report: CheckReport) -> dict[str, Any] | None:
    try:
        body = client.describe(sobject)
    except SyncdError as exc:
        report.problems.append(f"cannot describe {sobject}: {exc}")
        return None
    return {f["name"]: f for f in body.get("fields", []) if isinstance(f, dict) and "name" in f}


def _wanted(section: str, part: Any) -> Iterable[_Wanted]:
    for attr, name in part.read.model_dump().items():
        if name:
            yield _Wanted(section, attr, name, write=False)
    write = getattr(part, "write", None)
    if write is not None:
        for attr, name in write.model_dump().items():
            yield _Wanted(section, attr, name, write=True)
    for attr, name in part.extra.items():
        yield _Wanted(section, f"extra.{attr}", name, write=False)


def _related_wanted(source: RelatedSource) -> Iterable[_Wanted]:
    """A related source's fields: the lookup to the deal, the filters, what it fills (typed
    as the Opportunity read key it fills)."""
    yield _Wanted("related", "parent_field", source.parent_field, write=False)
    for name, _ in source.where:
        yield _Wanted("related", f"where.{name}", name, write=False)
    for key, name in source.fills:
        yield _Wanted("opportunity", key, name, write=False)


def _check_field(
    sobject: str, described: dict[str, Any], wanted: _Wanted, report: CheckReport
) -> None:
    where = f"{sobject}.{wanted.name} (mapping {wanted.section}.{wanted.attr})"
    info = described.get(wanted.name)
    if info is None:
        report.problems.append(
            f"{where}: no such field, or the integration user cannot read it (field-level "
            "security; deploy mappings/salesforce and assign the syncd_Integration permission set)"
        )
        return
    accepted = SALESFORCE_TYPES.get(wanted.section, {}).get(wanted.attr)
    if accepted is not None and info.get("type") not in accepted:
        report.problems.append(
            f"{where}: type {info.get('type')!r}, expected one of {sorted(accepted)}"
        )
    if wanted.write and not (info.get("updateable") or info.get("createable")):
        report.problems.append(f"{where}: syncd writes this field but it is not writable")
