"""The SFDX package under mappings/salesforce stays consistent with mappings/default.yaml.

Nothing here can deploy, so the tests hold the metadata to what the Metadata API checks
cheaply (root element, namespace, element order) and to the project's own contracts: the
permission sets give each person exactly the access the mapping implies, history tracks
the fields syncd writes, and the scorecard object and violation event keep the field
names and types other parts of syncd write to.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from syncd.engine.domain import Lead, Status
from syncd.sync.mapping import load_mapping

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "mappings" / "salesforce"
SOURCE = PROJECT / "force-app" / "main" / "default"
MD = "http://soap.sforce.com/2006/04/metadata"
NS = {"md": MD}
MAPPING = load_mapping(ROOT / "mappings" / "default.yaml")

# File suffix -> root element. The types whose XSD sequence is fullName then alphabetical
# are checked for order; a component bundle's is not alphabetical.
ROOT_ELEMENT = {
    ".field-meta.xml": "CustomField",
    ".object-meta.xml": "CustomObject",
    ".listView-meta.xml": "ListView",
    ".compactLayout-meta.xml": "CompactLayout",
    ".permissionset-meta.xml": "PermissionSet",
    ".reportType-meta.xml": "ReportType",
    ".tab-meta.xml": "CustomTab",
    ".js-meta.xml": "LightningComponentBundle",
}
UNORDERED = {"LightningComponentBundle"}
PERSON_SETS = ("syncd_RoE_Read_Only", "syncd_RoE_Channel_Ops")
SCORECARD = "RoE_Scorecard__c"
EVENT = "RoE_Violation__e"
HISTORY_LIMIT = 20  # Salesforce tracks at most 20 fields per object


def text(el: ET.Element, tag: str) -> str | None:
    return el.findtext(f"md:{tag}", namespaces=NS)


def folder(sobject: str) -> str:
    return "Activity" if sobject == "Task" else sobject


def field_meta(sobject: str, name: str) -> ET.Element:
    path = SOURCE / "objects" / folder(sobject) / "fields" / f"{name}.field-meta.xml"
    assert path.is_file(), f"missing metadata for {sobject}.{name}: {path}"
    return ET.parse(path).getroot()


def object_meta(sobject: str) -> ET.Element:
    return ET.parse(SOURCE / "objects" / sobject / f"{sobject}.object-meta.xml").getroot()


def fields_of(sobject: str) -> dict[str, ET.Element]:
    paths = (SOURCE / "objects" / folder(sobject) / "fields").glob("*.field-meta.xml")
    return {p.name.removesuffix(".field-meta.xml"): ET.parse(p).getroot() for p in paths}


def custom_fields() -> list[tuple[str, str, bool]]:
    m = MAPPING
    found = []
    for sobject, section in (("Account", m.account), ("Opportunity", m.opportunity)):
        found += [(sobject, f, False) for f in section.read.model_dump().values() if f]
        found += [(sobject, f, True) for f in section.write.model_dump().values()]
    found += [("User", f, False) for f in m.user.read.model_dump().values() if f]
    found.append(("Task", m.task.key_field, True))
    return [(o, f, w) for o, f, w in found if f.endswith("__c")]


def mapped(*names: str) -> set[str]:
    """Qualified field names of mapping attributes, e.g. "opportunity.read.override_lead"."""
    found = set()
    for name in names:
        section, part, attr = name.split(".")
        mapping = getattr(MAPPING, section)
        found.add(f"{mapping.sobject}.{getattr(getattr(mapping, part), attr)}")
    return found


def permission_set(name: str) -> ET.Element:
    path = SOURCE / "permissionsets" / f"{name}.permissionset-meta.xml"
    return ET.parse(path).getroot()


def permissions(name: str) -> dict[str, tuple[bool, bool]]:
    return {
        text(fp, "field") or "": (text(fp, "readable") == "true", text(fp, "editable") == "true")
        for fp in permission_set(name).findall("md:fieldPermissions", NS)
    }


def object_permissions(name: str) -> dict[str, set[str]]:
    return {
        text(op, "object") or "": {
            local(c.tag) for c in op if c.text == "true" and local(c.tag) != "object"
        }
        for op in permission_set(name).findall("md:objectPermissions", NS)
    }


def editable(name: str) -> set[str]:
    return {field for field, (_, edit) in permissions(name).items() if edit}


def local(tag: str) -> str:
    return tag.split("}", 1)[-1]


def xml_files() -> list[Path]:
    return sorted(SOURCE.rglob("*.xml"))


@pytest.mark.parametrize("path", xml_files(), ids=lambda p: str(p.relative_to(SOURCE)))
def test_metadata_file_has_the_root_element_of_its_type(path: Path) -> None:
    suffix = next((s for s in ROOT_ELEMENT if path.name.endswith(s)), None)
    assert suffix, f"{path.name}: no known metadata suffix"
    assert ET.parse(path).getroot().tag == f"{{{MD}}}{ROOT_ELEMENT[suffix]}"


def out_of_order(el: ET.Element) -> list[str]:
    names = [local(c.tag) for c in el]
    keys = [(name != "fullName", name) for name in names]
    problems = [f"{local(el.tag)}: {names}"] if keys != sorted(keys) else []
    return problems + [p for c in el for p in out_of_order(c)]


@pytest.mark.parametrize("path", xml_files(), ids=lambda p: str(p.relative_to(SOURCE)))
def test_elements_are_in_metadata_api_order(path: Path) -> None:
    root = ET.parse(path).getroot()
    if local(root.tag) not in UNORDERED:
        assert out_of_order(root) == []


@pytest.mark.parametrize(
    "path",
    [
        p
        for kind in ("fields", "listViews", "compactLayouts")
        for p in SOURCE.glob(f"objects/*/{kind}/*")
    ],
    ids=lambda p: p.name,
)
def test_a_child_component_is_named_like_its_file(path: Path) -> None:
    assert text(ET.parse(path).getroot(), "fullName") == path.name.split(".")[0]


@pytest.mark.parametrize(("sobject", "field", "written"), custom_fields())
def test_every_mapped_custom_field_has_metadata(sobject: str, field: str, written: bool) -> None:
    assert text(field_meta(sobject, field), "fullName") == field


@pytest.mark.parametrize(
    ("sobject", "field", "values"),
    [
        ("Account", "RoE_Engagement_Lead__c", {Lead.DIRECT.value, Lead.PARTNER.value}),
        ("Opportunity", "RoE_Expected_Lead__c", {lead.value for lead in Lead}),
        ("Opportunity", "RoE_Status__c", {status.value for status in Status}),
    ],
)
def test_written_picklists_hold_exactly_the_values_syncd_writes(sobject, field, values) -> None:
    assert picklist_values(field_meta(sobject, field)) == values


def picklist_values(root: ET.Element) -> set[str | None]:
    return {text(v, "fullName") for v in root.iter(f"{{{MD}}}value")}


def test_task_key_is_a_unique_external_id() -> None:
    root = field_meta("Task", "RoE_Key__c")
    assert text(root, "externalId") == "true"
    assert text(root, "unique") == "true"


# --- permission sets: who may read and edit what ------------------------------------------


def test_integration_permission_set_can_write_what_syncd_writes() -> None:
    perms = permissions("syncd_Integration")
    cleared = mapped("account.read.resync_requested", "opportunity.read.exception_requested")
    for sobject, field, written in custom_fields():
        readable, edit = perms[f"{sobject}.{field}"]
        assert readable, field
        if written or f"{sobject}.{field}" in cleared:
            assert edit, f"{sobject}.{field} must be editable by the integration user"
    assert all(perms[f"{SCORECARD}.{f}"] == (True, True) for f in fields_of(SCORECARD))
    objects = object_permissions("syncd_Integration")
    assert {"allowCreate", "allowEdit", "allowRead"} <= objects[SCORECARD]
    assert objects[EVENT] == {"allowCreate", "allowRead"}
    assert {"allowEdit", "allowRead"} <= objects["Account"] & objects["Opportunity"]


def test_integration_user_edits_no_human_decision() -> None:
    decisions = mapped(
        "opportunity.read.override_lead",
        "opportunity.read.exception_decision",
        "account.read.named",
    )
    assert not decisions & editable("syncd_Integration")


@pytest.mark.parametrize("name", PERSON_SETS)
def test_a_person_reads_every_mapped_field_and_every_scorecard_field(name: str) -> None:
    perms = permissions(name)
    for sobject, field, _ in custom_fields():
        assert perms[f"{sobject}.{field}"][0], f"{name} cannot read {sobject}.{field}"
    assert all(perms[f"{SCORECARD}.{f}"] == (True, False) for f in fields_of(SCORECARD))
    assert "allowRead" in object_permissions(name)[SCORECARD]


def test_reps_edit_exactly_the_exception_request() -> None:
    request = mapped("opportunity.read.exception_requested", "opportunity.read.exception_reason")
    assert editable("syncd_RoE_Read_Only") == request
    assert "Opportunity" not in object_permissions("syncd_RoE_Read_Only")


def test_channel_ops_edit_exactly_overrides_decisions_and_named_account_fields() -> None:
    assert editable("syncd_RoE_Channel_Ops") == mapped(
        "opportunity.read.override_lead",
        "opportunity.read.override_reason",
        "opportunity.read.exception_decision",
        "opportunity.read.exception_decision_reason",
        "account.read.named",
        "account.read.global_account",
        "account.read.incumbent_partner_id",
    )
    objects = object_permissions("syncd_RoE_Channel_Ops")
    assert objects[SCORECARD] == {"allowRead", "viewAllRecords"}


def test_partners_read_scorecards_and_nothing_else() -> None:
    perms = permissions("syncd_RoE_Partner_Scorecards")
    assert set(perms) == {f"{SCORECARD}.{f}" for f in fields_of(SCORECARD)}
    assert all(access == (True, False) for access in perms.values())
    assert object_permissions("syncd_RoE_Partner_Scorecards") == {SCORECARD: {"allowRead"}}


@pytest.mark.parametrize("path", sorted(SOURCE.glob("permissionsets/*")), ids=lambda p: p.name)
def test_permission_sets_name_optional_fields_that_exist(path: Path) -> None:
    for field in permissions(path.name.split(".")[0]):
        sobject, name = field.split(".")
        assert text(field_meta(sobject, name), "required") != "true", f"{field} is required"


# --- Field History Tracking ---------------------------------------------------------------


@pytest.mark.parametrize("sobject", ["Account", "Opportunity"])
def test_history_tracks_exactly_the_fields_syncd_writes(sobject: str) -> None:
    section = MAPPING.account if sobject == "Account" else MAPPING.opportunity
    tracked = {n for n, f in fields_of(sobject).items() if text(f, "trackHistory") == "true"}
    assert tracked == set(section.write.model_dump().values())
    # Leave most of the per-object allowance to the org's own fields.
    assert len(tracked) <= HISTORY_LIMIT // 2
    assert text(object_meta(sobject), "enableHistory") == "true"


# --- RoE_Scorecard__c and RoE_Violation__e: the contract with the code that writes them ---

SCORECARD_FIELDS = {
    "Key__c": ("Text", 120),
    "Period__c": ("Text", 20),
    "Dimension__c": ("Picklist", None),
    "Subject_Name__c": ("Text", 120),
    "User__c": ("Lookup", "User"),
    "Account__c": ("Lookup", "Account"),
    "Region__c": ("Text", 40),
    "As_Of__c": ("Date", None),
    "Rank__c": ("Number", (6, 0)),
    "Deals__c": ("Number", (9, 0)),
    "Compliance_Rate__c": ("Percent", (5, 2)),
    "Violations_Opened__c": ("Number", (9, 0)),
    "Violations_Resolved__c": ("Number", (9, 0)),
    "Violations_Open__c": ("Number", (9, 0)),
    "Median_Days_To_Resolve__c": ("Number", (7, 1)),
    "Comp_Withheld_Deals__c": ("Number", (9, 0)),
    "Comp_Withheld_Amount__c": ("Currency", (16, 2)),
    "Remedies_Owed__c": ("Number", (9, 0)),
    "Remedies_Owed_Amount__c": ("Currency", (16, 2)),
    "Protected_Deals__c": ("Number", (9, 0)),
    "Pipeline_Direct__c": ("Currency", (16, 2)),
    "Pipeline_Partner__c": ("Currency", (16, 2)),
    "Pipeline_Joint__c": ("Currency", (16, 2)),
}
EVENT_FIELDS = {
    "Occurrence_Key__c": ("Text", 80),
    "Opportunity_Id__c": ("Text", 18),
    "Opportunity_Name__c": ("Text", 120),
    "Code__c": ("Text", 80),
    "Level__c": ("Number", (2, 0)),
    "Rep_Id__c": ("Text", 18),
    "Rep_Name__c": ("Text", 121),
    "Partner_Id__c": ("Text", 18),
    "Partner_Name__c": ("Text", 255),
    "Reason__c": ("Text", 255),
    "Remedy__c": ("Text", 255),
    "Amount__c": ("Number", (16, 2)),
    "Currency__c": ("Text", 3),
    "Link__c": ("Text", 255),
}


def shape(root: ET.Element) -> tuple[str | None, object]:
    kind = text(root, "type")
    if kind == "Text":
        return kind, int(text(root, "length") or 0)
    if kind == "Lookup":
        return kind, text(root, "referenceTo")
    if kind in {"Number", "Percent", "Currency"}:
        return kind, (int(text(root, "precision") or 0), int(text(root, "scale") or 0))
    return kind, None


@pytest.mark.parametrize(
    ("sobject", "expected"), [(SCORECARD, SCORECARD_FIELDS), (EVENT, EVENT_FIELDS)]
)
def test_fields_have_the_agreed_names_and_types(sobject: str, expected: dict) -> None:
    assert {name: shape(root) for name, root in fields_of(sobject).items()} == expected


def test_scorecard_rows_are_upserted_by_a_unique_key_and_private_by_default() -> None:
    key = field_meta(SCORECARD, "Key__c")
    assert (text(key, "externalId"), text(key, "unique")) == ("true", "true")
    assert picklist_values(field_meta(SCORECARD, "Dimension__c")) == {
        "rep",
        "manager",
        "partner",
        "region",
    }
    root = object_meta(SCORECARD)
    sharing = (text(root, "sharingModel"), text(root, "externalSharingModel"))
    assert sharing == ("Private", "Private")
    assert text(root, "enableReports") == "true"


def test_violation_event_is_published_after_commit() -> None:
    root = object_meta(EVENT)
    assert text(root, "eventType") == "HighVolume"
    assert text(root, "publishBehavior") == "PublishAfterCommit"


# --- list views, compact layout, report type, component ----------------------------------


def filters(view: str) -> list[tuple[str | None, str | None, str | None]]:
    path = SOURCE / "objects" / "Opportunity" / "listViews" / f"{view}.listView-meta.xml"
    root = ET.parse(path).getroot()
    return [
        (text(f, "field"), text(f, "operation"), text(f, "value"))
        for f in root.findall("md:filters", NS)
    ]


@pytest.mark.parametrize(
    ("view", "scope", "expected"),
    [
        ("RoE_My_Open_Violations", "Mine", [("RoE_Status__c", "equals", "Violation")]),
        (
            "RoE_Exception_Requests_To_Decide",
            "Everything",
            [
                ("RoE_Exception_Requested__c", "equals", "1"),
                ("RoE_Exception_Decision__c", "notEqual", "Approved,Rejected"),
            ],
        ),
        (
            "RoE_Compensation_Held",
            "Everything",
            [
                ("RoE_Comp_Eligible__c", "equals", "0"),
                ("RoE_Status__c", "equals", ",".join(s.value for s in Status)),
            ],
        ),
    ],
)
def test_list_views_filter_on_fields_and_values_that_exist(view, scope, expected) -> None:
    assert filters(view) == expected
    path = SOURCE / "objects" / "Opportunity" / "listViews" / f"{view}.listView-meta.xml"
    assert text(ET.parse(path).getroot(), "filterScope") == scope
    for field, _, value in expected:
        root = field_meta("Opportunity", field)
        if text(root, "type") == "Picklist":
            assert set((value or "").split(",")) <= picklist_values(root)


def opportunity_custom_columns() -> set[str]:
    found = set()
    for path in SOURCE.glob("objects/Opportunity/*/*.xml"):
        root = ET.parse(path).getroot()
        found |= {
            c.text or "" for tag in ("columns", "fields") for c in root.iter(f"{{{MD}}}{tag}")
        }
    report = ET.parse(SOURCE / "reportTypes" / "RoE_Opportunities.reportType-meta.xml").getroot()
    found |= {c.text or "" for c in report.iter(f"{{{MD}}}field")}
    return {c for c in found if c.endswith("__c")}


def test_views_layouts_and_report_type_name_fields_that_exist() -> None:
    assert opportunity_custom_columns() <= set(fields_of("Opportunity"))


def test_compact_layout_shows_the_status() -> None:
    path = SOURCE / "objects" / "Opportunity" / "compactLayouts" / "RoE_Deal.compactLayout-meta.xml"
    shown = [f.text for f in ET.parse(path).getroot().findall("md:fields", NS)]
    # The first fields fill the record page's highlights panel.
    assert MAPPING.opportunity.write.status in shown[:4]


def test_report_type_offers_every_roe_field_of_a_deal() -> None:
    assert opportunity_custom_columns() >= {
        f for f in fields_of("Opportunity") if f.startswith("RoE_")
    }


SCHEMA_IMPORT = re.compile(r"""from\s+['"]@salesforce/schema/(\w+)\.([\w.]+)['"]""")


def component_fields() -> list[tuple[str, str]]:
    found = []
    for path in sorted(SOURCE.glob("lwc/*/*.js")):
        found += SCHEMA_IMPORT.findall(path.read_text())
    return found


@pytest.mark.parametrize(("sobject", "path"), component_fields())
def test_component_imports_fields_that_exist(sobject: str, path: str) -> None:
    first = path.split(".")[0]
    if first.endswith("__r"):  # a relationship: the lookup must exist
        assert text(field_meta(sobject, first.removesuffix("__r") + "__c"), "type") == "Lookup"
    else:
        assert text(field_meta(sobject, first), "fullName") == first


def test_component_is_offered_on_opportunity_and_account_record_pages() -> None:
    root = ET.parse(SOURCE / "lwc" / "roeStatus" / "roeStatus.js-meta.xml").getroot()
    assert text(root, "isExposed") == "true"
    assert [t.text for t in root.iter(f"{{{MD}}}target")] == ["lightning__RecordPage"]
    assert {o.text for o in root.iter(f"{{{MD}}}object")} == {"Opportunity", "Account"}


# --- the SFDX project and its npm lock ----------------------------------------------------


def test_project_is_ready_for_an_unlocked_package() -> None:
    project = json.loads((PROJECT / "sfdx-project.json").read_text())
    (directory,) = project["packageDirectories"]
    assert directory["path"] == "force-app" and directory["package"]
    assert directory["versionNumber"] == "0.2.0.NEXT"
    # The packaging library refuses any ancestor (even "NONE") on an unlocked package.
    assert not {"ancestorId", "ancestorVersion"} & set(directory)
    assert project["packageAliases"] == {}
    assert project["namespace"] == ""


def test_lock_file_pins_what_package_json_asks_for() -> None:
    package = json.loads((PROJECT / "package.json").read_text())
    lock = json.loads((PROJECT / "package-lock.json").read_text())
    assert lock["packages"][""]["devDependencies"] == package["devDependencies"]
    assert "@salesforce/sfdx-lwc-jest" in package["devDependencies"]
