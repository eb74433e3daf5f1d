"""The SFDX metadata under mappings/salesforce stays consistent with mappings/default.yaml."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from syncd.engine.domain import Lead, Status
from syncd.sync.mapping import load_mapping

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "mappings" / "salesforce" / "force-app" / "main" / "default"
NS = {"md": "http://soap.sforce.com/2006/04/metadata"}


def field_meta(sobject: str, name: str) -> ET.Element:
    folder = "Activity" if sobject == "Task" else sobject
    path = SOURCE / "objects" / folder / "fields" / f"{name}.field-meta.xml"
    assert path.is_file(), f"missing metadata for {sobject}.{name}: {path}"
    return ET.parse(path).getroot()


def custom_fields() -> list[tuple[str, str, bool]]:
    m = load_mapping(ROOT / "mappings" / "default.yaml")
    found = []
    for sobject, section in (("Account", m.account), ("Opportunity", m.opportunity)):
        found += [(sobject, f, False) for f in section.read.model_dump().values() if f]
        found += [(sobject, f, True) for f in section.write.model_dump().values()]
    found += [("User", f, False) for f in m.user.read.model_dump().values() if f]
    found.append(("Task", m.task.key_field, True))
    return [(o, f, w) for o, f, w in found if f.endswith("__c")]


def permissions(name: str) -> dict[str, tuple[bool, bool]]:
    path = SOURCE / "permissionsets" / f"{name}.permissionset-meta.xml"
    root = ET.parse(path).getroot()
    return {
        fp.findtext("md:field", namespaces=NS): (
            fp.findtext("md:readable", namespaces=NS) == "true",
            fp.findtext("md:editable", namespaces=NS) == "true",
        )
        for fp in root.findall("md:fieldPermissions", NS)
    }


@pytest.mark.parametrize(("sobject", "field", "written"), custom_fields())
def test_every_mapped_custom_field_has_metadata(sobject: str, field: str, written: bool) -> None:
    root = field_meta(sobject, field)
    assert root.findtext("md:fullName", namespaces=NS) == field


@pytest.mark.parametrize(
    ("sobject", "field", "values"),
    [
        ("Account", "RoE_Engagement_Lead__c", {Lead.DIRECT.value, Lead.PARTNER.value}),
        ("Opportunity", "RoE_Expected_Lead__c", {lead.value for lead in Lead}),
        ("Opportunity", "RoE_Status__c", {status.value for status in Status}),
    ],
)
def test_written_picklists_hold_exactly_the_values_syncd_writes(sobject, field, values) -> None:
    root = field_meta(sobject, field)
    found = {v.findtext("md:fullName", namespaces=NS) for v in root.iter(f"{{{NS['md']}}}value")}
    assert found == values


def test_task_key_is_a_unique_external_id() -> None:
    root = field_meta("Task", "RoE_Key__c")
    assert root.findtext("md:externalId", namespaces=NS) == "true"
    assert root.findtext("md:unique", namespaces=NS) == "true"


def test_integration_permission_set_can_write_what_syncd_writes() -> None:
    perms = permissions("syncd_Integration")
    for sobject, field, written in custom_fields():
        readable, editable = perms[f"{sobject}.{field}"]
        assert readable, field
        if written:
            assert editable, f"{sobject}.{field} must be editable by the integration user"


def test_read_only_permission_set_never_edits() -> None:
    perms = permissions("syncd_RoE_Read_Only")
    assert perms and all(readable and not editable for readable, editable in perms.values())
