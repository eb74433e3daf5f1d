"""The sandbox org's schema: the objects syncd touches, their fields, types and flags.

Standard fields are those named in mappings/default.yaml and DESIGN.md; the custom fields
mirror the metadata in mappings/salesforce/force-app (a test compares the two, so adding
a field there without adding it here fails loudly). Names are matched case-insensitively,
as Salesforce does, and always answered in the spelling below.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from syncd.sfid import KEY_PREFIX

FIELD_TYPES = frozenset(
    {
        "id",
        "reference",
        "string",
        "textarea",
        "picklist",
        "boolean",
        "date",
        "datetime",
        "currency",
        "double",
        "int",
        "percent",
    }
)
STRING_TYPES = frozenset({"id", "reference", "string", "textarea", "picklist"})
NUMBER_TYPES = frozenset({"currency", "double", "int", "percent"})


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    createable: bool = True
    updateable: bool = True
    length: int = 0  # string-like fields only
    reference_to: tuple[str, ...] = ()
    picklist: tuple[str, ...] = ()
    required: bool = False  # on create; Salesforce says REQUIRED_FIELD_MISSING
    default: object = None  # value a create starts from when the field is not given
    external_id: bool = False
    unique: bool = False

    @property
    def nillable(self) -> bool:
        return self.type != "boolean" and not self.required and self.type != "id"

    @property
    def writable(self) -> bool:
        return self.createable or self.updateable


def _sys(name: str, type_: str, reference_to: tuple[str, ...] = ()) -> Field:
    return Field(
        name, type_, createable=False, updateable=False, length=18 if reference_to else 0,
        reference_to=reference_to,
    )  # fmt: skip


def _ref(name: str, *to: str, required: bool = False, writable: bool = True) -> Field:
    return Field(
        name, "reference", createable=writable, updateable=writable, length=18,
        reference_to=to, required=required,
    )  # fmt: skip


def _str(name: str, length: int = 255, *, required: bool = False, default: object = None) -> Field:
    return Field(name, "string", length=length, required=required, default=default)


def _pick(name: str, *values: str, required: bool = False, default: object = None) -> Field:
    return Field(name, "picklist", length=255, picklist=values, required=required, default=default)


def _bool(name: str, *, writable: bool = True) -> Field:
    return Field(name, "boolean", createable=writable, updateable=writable, default=False)


SYSTEM_FIELDS = (
    Field("Id", "id", createable=False, updateable=False, length=18),
    # Live rows say false; only queryAll's tombstones say true.
    Field("IsDeleted", "boolean", createable=False, updateable=False, default=False),
    _sys("CreatedDate", "datetime"),
    _sys("CreatedById", "reference", ("User",)),
    _sys("LastModifiedDate", "datetime"),
    _sys("LastModifiedById", "reference", ("User",)),
    _sys("SystemModstamp", "datetime"),
)

ROE_LEAD = ("Direct", "Partner")
ROE_LEAD_JOINT = ("Direct", "Partner", "Joint")

ACCOUNT = (
    _str("Name", required=True),
    _ref("OwnerId", "User"),
    _ref("ParentId", "Account"),
    _bool("IsPartner"),
    _str("BillingCountry", 80),
    _pick("Type", "Prospect", "Customer", "Partner", "Reseller", "Other"),
    _bool("RoE_Named_Account__c"),
    _bool("RoE_Global_Account__c"),
    _ref("RoE_Incumbent_Partner__c", "Account"),
    _bool("RoE_Resync_Requested__c"),
    _pick("RoE_Engagement_Lead__c", *ROE_LEAD),
    _ref("RoE_Lead_Partner__c", "Account"),
    _str("RoE_Reason__c"),
    # Set on a merge loser's tombstone: the Account it was merged into.
    _sys("MasterRecordId", "reference", ("Account",)),
)

OPPORTUNITY = (
    _str("Name", 120, required=True),
    _ref("AccountId", "Account"),
    _ref("OwnerId", "User"),
    _pick("Type", "New Business", "Existing Business", "Renewal", "Installed Base"),
    _pick("LeadSource", "Web", "Partner Referral", "Phone Inquiry", "Other"),
    _pick("StageName", "Prospecting", "Closed Won", "Closed Lost", required=True),
    # Derived from StageName in a real org; the sandbox keeps what the dataset says.
    _bool("IsClosed", writable=False),
    _bool("IsWon", writable=False),
    Field("Amount", "currency"),
    Field("CloseDate", "date", required=True),
    _ref("PartnerAccountId", "Account", writable=False),
    _ref("RoE_Partner__c", "Account"),
    _ref("RoE_Registered_Partner__c", "Account"),
    _pick("RoE_Registration_Status__c", "Pending", "Approved", "Rejected"),
    Field("RoE_Registration_Approved_Date__c", "date"),
    _pick("RoE_Override__c", *ROE_LEAD_JOINT),
    _str("RoE_Override_Reason__c"),
    _bool("RoE_Exception_Requested__c"),
    _str("RoE_Exception_Reason__c"),
    _pick("RoE_Exception_Decision__c", "Approved", "Rejected"),
    _str("RoE_Exception_Decision_Reason__c"),
    # Present in multi-currency orgs only; the default mapping does not read it.
    _pick("CurrencyIsoCode", "USD", "EUR", "GBP", "CAD", "JPY", default="USD"),
    _pick("RoE_Expected_Lead__c", *ROE_LEAD_JOINT),
    _ref("RoE_Protected_Partner__c", "Account"),
    _pick("RoE_Status__c", "Compliant", "Violation", "Review", "Exempt", "Advisory"),
    _str("RoE_Reason__c"),
    _bool("RoE_Comp_Eligible__c"),
    _str("RoE_Remedy__c"),
)

USER = (
    Field("Name", "string", createable=False, updateable=False, length=121),
    _str("FirstName", 40),
    _str("LastName", 80),
    _str("Username", 80),
    _str("Email", 128),
    _ref("ManagerId", "User"),
    _bool("IsActive"),
    _pick("UserType", "Standard", "PowerPartner", "CsnOnly", "Guest"),
    _ref("AccountId", "Account", writable=False),
    _ref("ContactId", "Contact", writable=False),
    _ref("ProfileId", "Profile"),
    _ref("UserRoleId", "UserRole"),
    _pick(
        "RoE_Sales_Role__c",
        *("Field Sales", "Direct Sales", "Services", "Telesales", "Call Center", "Partner Manager"),
    ),
)

TASK = (
    _str("Subject"),
    Field("Description", "textarea", length=32000),
    _pick("Status", "Not Started", "In Progress", "Completed", default="Not Started"),
    _pick("Priority", "High", "Normal", "Low", default="Normal"),
    _ref("OwnerId", "User"),
    _ref("WhatId", "Account", "Opportunity"),
    _ref("WhoId", "Contact", "Lead"),
    Field("ActivityDate", "date"),
    _bool("IsClosed", writable=False),  # derived from Status on every write
    Field("RoE_Key__c", "string", length=80, external_id=True, unique=True),
)

OPPORTUNITY_PARTNER = (
    _ref("OpportunityId", "Opportunity", required=True),
    _ref("AccountToId", "Account", required=True),
    _bool("IsPrimary"),
    _pick("Role", "Reseller", "Distributor", "Referral", "System Integrator", "Agency"),
)

# A deal-registration object of the org's own (a common design: one row per registration,
# the current one flagged), declared as a related source by mapping only (no code knows it).
DEAL_REGISTRATION = (
    _ref("Opportunity__c", "Opportunity", required=True),
    _ref("Partner__c", "Account"),
    _pick("Status__c", "Submitted", "Approved", "Rejected"),
    Field("Approved_On__c", "date"),
    Field("Expires_On__c", "date"),
    _bool("Is_Current__c"),
)


def _num(name: str, type_: str = "double") -> Field:
    return Field(name, type_)


# The published scorecards (mappings/salesforce/.../objects/RoE_Scorecard__c).
SCORECARD = (
    _str("Name", 80),
    _ref("OwnerId", "User"),
    Field("Key__c", "string", length=120, external_id=True, unique=True),
    _str("Period__c", 20),
    _pick("Dimension__c", "rep", "manager", "partner", "region"),
    _str("Subject_Name__c", 120),
    _ref("User__c", "User"),
    _ref("Account__c", "Account"),
    _str("Region__c", 40),
    Field("As_Of__c", "date"),
    _num("Rank__c"),
    _num("Deals__c"),
    _num("Compliance_Rate__c", "percent"),
    _num("Violations_Opened__c"),
    _num("Violations_Resolved__c"),
    _num("Violations_Open__c"),
    _num("Median_Days_To_Resolve__c"),
    _num("Comp_Withheld_Deals__c"),
    _num("Comp_Withheld_Amount__c", "currency"),
    _num("Remedies_Owed__c"),
    _num("Remedies_Owed_Amount__c", "currency"),
    _num("Protected_Deals__c"),
    _num("Pipeline_Direct__c", "currency"),
    _num("Pipeline_Partner__c", "currency"),
    _num("Pipeline_Joint__c", "currency"),
)

# Platform event messages a Flow can subscribe to (RoE_Violation__e); the sandbox keeps
# what was published so tests can read it back.
VIOLATION_EVENT = (
    _str("Occurrence_Key__c", 80),
    _str("Opportunity_Id__c", 18),
    _str("Opportunity_Name__c", 120),
    _str("Code__c", 80),
    _num("Level__c"),
    _str("Rep_Id__c", 18),
    _str("Rep_Name__c", 121),
    _str("Partner_Id__c", 18),
    _str("Partner_Name__c", 255),
    _str("Reason__c", 255),
    _str("Remedy__c", 255),
    _num("Amount__c"),
    _str("Currency__c", 3),
    _str("Link__c", 255),
)

CLOSED_TASK_STATUSES = frozenset({"Completed"})


class ObjectSchema:
    """One sObject: fields by name, looked up case-insensitively."""

    def __init__(self, name: str, fields: tuple[Field, ...]) -> None:
        self.name = name
        self.key_prefix = KEY_PREFIX[name]
        self.fields: dict[str, Field] = {f.name: f for f in (*SYSTEM_FIELDS, *fields)}
        self._by_lower = {name.lower(): f for name, f in self.fields.items()}
        self.unique_fields = tuple(f.name for f in self.fields.values() if f.unique)

    def field(self, name: str) -> Field | None:
        return self._by_lower.get(name.lower())

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields.values())


SCHEMA: Mapping[str, ObjectSchema] = {
    name: ObjectSchema(name, fields)
    for name, fields in (
        ("Account", ACCOUNT),
        ("Opportunity", OPPORTUNITY),
        ("User", USER),
        ("Task", TASK),
        ("OpportunityPartner", OPPORTUNITY_PARTNER),
        ("Deal_Registration__c", DEAL_REGISTRATION),
        ("RoE_Scorecard__c", SCORECARD),
        ("RoE_Violation__e", VIOLATION_EVENT),
    )
}
_BY_LOWER = {name.lower(): obj for name, obj in SCHEMA.items()}
PREFIX_TO_OBJECT = {obj.key_prefix: name for name, obj in SCHEMA.items()}


def object_schema(name: str) -> ObjectSchema | None:
    """The object named ``name`` (any case), or None when the sandbox does not hold it."""
    return _BY_LOWER.get(name.lower())


def describe_field(field: Field) -> dict[str, object]:
    """A field in the shape of Salesforce's describe (the keys clients actually read)."""
    return {
        "name": field.name,
        "label": field.name.removesuffix("__c").replace("_", " "),
        "type": field.type,
        "createable": field.createable,
        "updateable": field.updateable,
        "nillable": field.nillable,
        "length": field.length,
        "referenceTo": list(field.reference_to),
        "picklistValues": [
            {"value": v, "label": v, "active": True, "defaultValue": v == field.default}
            for v in field.picklist
        ],
        "externalId": field.external_id,
        "unique": field.unique,
        "custom": field.name.endswith("__c"),
        "defaultValue": field.default if field.type != "boolean" else bool(field.default),
    }


def describe_object(obj: ObjectSchema, version: str) -> dict[str, object]:
    return {
        "name": obj.name,
        "label": obj.name,
        "keyPrefix": obj.key_prefix,
        "custom": False,
        "createable": True,
        "updateable": True,
        "deletable": True,
        "queryable": True,
        "fields": [describe_field(f) for f in obj],
        "urls": {"sobject": f"/services/data/v{version}/sobjects/{obj.name}"},
    }
