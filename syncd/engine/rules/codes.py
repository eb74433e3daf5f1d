"""Reason codes and what they mean to a person reading RoE_Reason__c."""

from __future__ import annotations

from syncd.engine.domain import Severity

NAMED_ACCOUNT = "NAMED_ACCOUNT"
NAMED_VIA_PARENT = "NAMED_VIA_PARENT"
GLOBAL_ACCOUNT = "GLOBAL_ACCOUNT"
PARTNER_LED_DEFAULT = "PARTNER_LED_DEFAULT"
PARENT_CYCLE = "PARENT_CYCLE"
DEAL_REG_APPROVED = "DEAL_REG_APPROVED"
DEAL_REG_EXPIRED = "DEAL_REG_EXPIRED"
DEAL_REG_CONFLICT = "DEAL_REG_CONFLICT"
RENEWAL_INCUMBENT = "RENEWAL_INCUMBENT"
OVERRIDE = "OVERRIDE"
OVERRIDE_NEEDS_REASON = "OVERRIDE_NEEDS_REASON"
EXCEPTION_REQUESTED = "EXCEPTION_REQUESTED"
EXCEPTION_APPROVED = "EXCEPTION_APPROVED"
EXCEPTION_REJECTED = "EXCEPTION_REJECTED"
EXCEPTION_DECISION_NEEDS_REASON = "EXCEPTION_DECISION_NEEDS_REASON"
PARTNER_NOT_A_PARTNER = "PARTNER_NOT_A_PARTNER"
INCUMBENT_NOT_A_PARTNER = "INCUMBENT_NOT_A_PARTNER"
PARTNER_DISPLACED = "PARTNER_DISPLACED"
DIRECT_ON_PARTNER_ACCOUNT = "DIRECT_ON_PARTNER_ACCOUNT"
TELESALES_OUTBOUND = "TELESALES_OUTBOUND"
INBOUND_NEEDS_PARTNER = "INBOUND_NEEDS_PARTNER"
PARTNER_MISSING = "PARTNER_MISSING"
ACCOUNT_MISSING = "ACCOUNT_MISSING"
DATA_DEFECT = "DATA_DEFECT"
NOT_YET_ENFORCED = "NOT_YET_ENFORCED"
GRANDFATHERED = "GRANDFATHERED"
CUSTOM_PREFIX = "CUSTOM:"

# Codes that make a deal "Review": a person must look before anyone is flagged.
REVIEW_CODES = frozenset(
    {
        DEAL_REG_CONFLICT,
        OVERRIDE_NEEDS_REASON,
        EXCEPTION_REQUESTED,
        EXCEPTION_DECISION_NEEDS_REASON,
        PARTNER_MISSING,
        INBOUND_NEEDS_PARTNER,
        ACCOUNT_MISSING,
        DATA_DEFECT,
    }
)

SEVERITY = {
    PARTNER_DISPLACED: Severity.HIGH,
    TELESALES_OUTBOUND: Severity.MEDIUM,
    DIRECT_ON_PARTNER_ACCOUNT: Severity.MEDIUM,
}
# The built-in violation codes (custom rules add CUSTOM:<id>).
VIOLATION_CODES = frozenset(SEVERITY)

# Short explanations; reason_text is "CODES: explanation; explanation" cut to 255 chars.
MEANING = {
    NAMED_ACCOUNT: "named account, vendor leads",
    NAMED_VIA_PARENT: "a parent account is named, vendor leads",
    GLOBAL_ACCOUNT: "global account, vendor leads",
    PARTNER_LED_DEFAULT: "not named or global, so partner-led",
    PARENT_CYCLE: "the parent chain loops; fix ParentId",
    DEAL_REG_APPROVED: "approved deal registration protects the partner",
    DEAL_REG_EXPIRED: "deal registration expired, no protection",
    DEAL_REG_CONFLICT: "another partner registered first",
    RENEWAL_INCUMBENT: "renewal follows the relationship owner",
    OVERRIDE: "admin override",
    OVERRIDE_NEEDS_REASON: "override set without a reason",
    EXCEPTION_REQUESTED: "rep asked for an exception; channel ops reviews, the violation stands",
    EXCEPTION_APPROVED: "channel ops approved an exception",
    EXCEPTION_REJECTED: "channel ops rejected the exception; the violation stands",
    EXCEPTION_DECISION_NEEDS_REASON: "exception approved without a decision reason",
    PARTNER_NOT_A_PARTNER: "the named partner is not a partner account, so the deal has none",
    INCUMBENT_NOT_A_PARTNER: "the incumbent is not a partner account, so none is protected",
    PARTNER_DISPLACED: "protected partner missing or replaced on the deal",
    DIRECT_ON_PARTNER_ACCOUNT: "direct rep on a partner-led deal with no partner",
    TELESALES_OUTBOUND: "outbound telesales on a partner-led account",
    INBOUND_NEEDS_PARTNER: "inbound telesales deal needs a partner",
    PARTNER_MISSING: "partner manager owns it but no partner is named",
    ACCOUNT_MISSING: "the deal's account is not visible to syncd",
    DATA_DEFECT: "unusable data",
    NOT_YET_ENFORCED: "region not enforcing yet, advisory only",
    GRANDFATHERED: "created before enforcement, advisory only",
}
