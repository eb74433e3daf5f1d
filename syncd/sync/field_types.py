"""The Salesforce field types each key of the mapping accepts (``syncd check`` compares them
with the org's describe). A new read or write key in ``syncd.sync.mapping`` gets its line
here; a test fails when one is missing."""

from __future__ import annotations

_TEXT = {"string", "textarea", "picklist", "email", "phone", "url", "combobox"}
_ID = {"id", "reference", "string"}
_FLAG = {"boolean"}
_DATE = {"date"}
_MOMENT = {"datetime"}
_NUMBER = {"currency", "double", "int", "percent"}

SALESFORCE_TYPES: dict[str, dict[str, set[str]]] = {
    "account": {
        "id": _ID, "name": _TEXT, "owner_id": _ID, "parent_id": _ID, "is_partner": _FLAG,
        "billing_country": _TEXT, "named": _FLAG, "global_account": _FLAG,
        "incumbent_partner_id": _ID, "resync_requested": _FLAG,
        "lead": {"picklist", "string"}, "lead_partner_id": _ID, "reason": _TEXT,
    },
    "opportunity": {
        "id": _ID, "name": _TEXT, "account_id": _ID, "owner_id": _ID, "type": _TEXT,
        "lead_source": _TEXT, "stage_name": _TEXT, "is_closed": _FLAG, "is_won": _FLAG,
        "amount": _NUMBER, "close_date": _DATE, "created_at": _MOMENT, "partner_id": _ID,
        "registration_partner_id": _ID, "registration_status": _TEXT,
        "registration_approved_on": _DATE | _MOMENT, "registration_expires_on": _DATE | _MOMENT,
        "override_lead": _TEXT, "override_reason": _TEXT, "exception_requested": _FLAG,
        "exception_reason": _TEXT, "exception_decision": _TEXT,
        "exception_decision_reason": _TEXT, "last_modified_by": _ID,
        "last_modified_at": _MOMENT, "currency": _TEXT,
        "expected_lead": {"picklist", "string"}, "protected_partner_id": _ID,
        "status": {"picklist", "string"}, "comp_eligible": _FLAG, "remedy": _TEXT,
        "reason": _TEXT,
    },
    "user": {
        "id": _ID, "name": _TEXT, "manager_id": _ID, "is_active": _FLAG, "user_type": _TEXT,
        "partner_account_id": _ID, "segment": _TEXT,
    },
    "related": {"parent_field": _ID},  # a related source's lookup to the Opportunity
}  # fmt: skip
