// Pure text helpers for roeStatus: what a status, a reason and a hold mean in words.
// No Lightning imports here, so the wording is tested without a DOM.

// RoE_Reason__c and RoE_Exception_Reason__c are Text(255).
export const MAX_REASON = 255;
// Past this many characters a reason is clamped to three lines with "Show more".
export const LONG_REASON = 140;

const BADGES = {
    Compliant: { cls: 'slds-theme_success', icon: 'utility:success' },
    Violation: { cls: 'slds-theme_error', icon: 'utility:error' },
    Review: { cls: 'slds-theme_warning', icon: 'utility:warning' },
    Exempt: { cls: 'slds-badge_inverse', icon: 'utility:check' },
    Advisory: { cls: 'slds-badge_lightest', icon: 'utility:info' }
};
const NOT_EVALUATED = { label: 'Not evaluated yet', cls: 'slds-badge_lightest', icon: 'utility:clock' };

const SUMMARY = {
    Compliant: 'This deal follows the rules of engagement.',
    Violation: 'This deal breaks the rules of engagement.',
    Review: 'Channel operations must look at this deal.',
    Exempt: 'Channel operations exempted this deal from the rules.',
    Advisory: 'The rules are not enforced on this deal yet; shown for information.'
};

// Statuses for which a rep may ask channel operations for an exception.
export const REQUESTABLE = new Set(['Violation', 'Review']);
// Statuses under which a hold belongs to a standing violation (Review never releases it).
const STANDING = new Set(['Violation', 'Review']);

export function statusBadge(status) {
    const badge = BADGES[status];
    return badge ? { label: status, ...badge } : NOT_EVALUATED;
}

export function leadBadge(lead) {
    if (!lead) return NOT_EVALUATED;
    return { label: `${lead}-led`, cls: lead === 'Partner' ? 'slds-theme_success' : 'slds-badge_inverse', icon: 'utility:user' };
}

export function statusSummary(status) {
    return SUMMARY[status] || 'syncd has not decided this record yet.';
}

// syncd writes "CODE, CODE: explanation"; custom rules use codes like CUSTOM:big-deal.
const CODED = /^((?:[A-Z][A-Z0-9_]*(?::[\w-]+)?)(?:, [A-Z][A-Z0-9_]*(?::[\w-]+)?)*): ([\s\S]+)$/;

export function splitReason(text) {
    const reason = (text || '').trim();
    const match = CODED.exec(reason);
    if (!match) return { codes: '', words: capitalise(reason) };
    return { codes: match[1], words: capitalise(match[2].trim()) };
}

function capitalise(text) {
    return text ? text.charAt(0).toUpperCase() + text.slice(1) : text;
}

// Why compensation is held, in words. `eligible` is RoE_Comp_Eligible__c.
export function describeHold(status, eligible) {
    if (!status) return '';
    if (eligible === true) return 'Eligible: no hold on this deal.';
    if (STANDING.has(status)) return 'Compensation withheld while the violation stands.';
    return 'Compensation still withheld: the hold stays after the violation was resolved (a sticky hold); only an override or an approved exception releases it.';
}

// The message of an error from updateRecord or a wire adapter, for a toast.
export function errorText(error) {
    const body = error && error.body;
    if (Array.isArray(body)) return body.map((e) => e.message).filter(Boolean).join('; ') || 'Unknown error';
    const output = body && body.output;
    const fieldErrors = output && output.fieldErrors ? Object.values(output.fieldErrors).flat() : [];
    const messages = [...((output && output.errors) || []), ...fieldErrors].map((e) => e.message).filter(Boolean);
    if (messages.length) return messages.join('; ');
    return (body && body.message) || (error && error.message) || 'Unknown error';
}

// An exception reason the rep typed: trimmed; an error text when it cannot be sent.
export function checkReason(raw) {
    const reason = (raw || '').trim();
    if (!reason) return { reason, error: 'Say why this deal should be an exception.' };
    if (reason.length > MAX_REASON) {
        return { reason, error: `Keep the reason to ${MAX_REASON} characters (it has ${reason.length}).` };
    }
    return { reason, error: '' };
}
