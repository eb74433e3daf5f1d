import { createElement } from 'lwc';
import RoeStatus from 'c/roeStatus';
import { getRecord, updateRecord } from 'lightning/uiRecordApi';
import { getObjectInfo } from 'lightning/uiObjectInfoApi';

const DEAL_ID = '0065g0000000035AAA';
const PARTNER_ID = '0015g00000NwdPaAAJ';

// A getRecord payload shaped like the UI API's record representation.
function field(value) {
    return { value, displayValue: null };
}

function opportunity(overrides = {}) {
    const v = {
        status: 'Violation',
        expectedLead: 'Partner',
        partnerId: PARTNER_ID,
        partnerName: 'Northwind Solutions',
        reason: 'PARTNER_DISPLACED: protected partner missing or replaced on the deal',
        remedy: 'referral fee 48000.00 to Northwind Solutions',
        compEligible: false,
        requested: false,
        requestReason: null,
        decision: null,
        decisionReason: null,
        ...overrides
    };
    const partner = v.partnerName
        ? { apiName: 'Account', id: v.partnerId, fields: { Name: field(v.partnerName) } }
        : null;
    return {
        apiName: 'Opportunity',
        id: DEAL_ID,
        fields: {
            RoE_Status__c: field(v.status),
            RoE_Expected_Lead__c: field(v.expectedLead),
            RoE_Protected_Partner__c: field(v.partnerId),
            RoE_Protected_Partner__r: { value: partner, displayValue: v.partnerName },
            RoE_Reason__c: field(v.reason),
            RoE_Remedy__c: field(v.remedy),
            RoE_Comp_Eligible__c: field(v.compEligible),
            RoE_Exception_Requested__c: field(v.requested),
            RoE_Exception_Reason__c: field(v.requestReason),
            RoE_Exception_Decision__c: field(v.decision),
            RoE_Exception_Decision_Reason__c: field(v.decisionReason)
        }
    };
}

function account(lead, partnerName) {
    return {
        apiName: 'Account',
        id: '0015g00000AcmeAAAA',
        fields: {
            RoE_Engagement_Lead__c: field(lead),
            RoE_Lead_Partner__c: field(partnerName ? PARTNER_ID : null),
            RoE_Lead_Partner__r: {
                value: partnerName ? { apiName: 'Account', id: PARTNER_ID, fields: { Name: field(partnerName) } } : null,
                displayValue: partnerName
            },
            RoE_Reason__c: field('PARTNER_LED_DEFAULT: not named or global, so partner-led')
        }
    };
}

// getObjectInfo for Opportunity: may this user edit the two request fields?
function objectInfo(updateable = true) {
    return {
        apiName: 'Opportunity',
        fields: {
            RoE_Exception_Requested__c: { apiName: 'RoE_Exception_Requested__c', updateable },
            RoE_Exception_Reason__c: { apiName: 'RoE_Exception_Reason__c', updateable }
        }
    };
}

function mount(objectApiName = 'Opportunity') {
    const element = createElement('c-roe-status', { is: RoeStatus });
    element.recordId = DEAL_ID;
    element.objectApiName = objectApiName;
    document.body.appendChild(element);
    return element;
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
const $ = (element, id) => element.shadowRoot.querySelector(`[data-id="${id}"]`);

async function showDeal(overrides, { updateable = true } = {}) {
    const element = mount();
    getRecord.emit(opportunity(overrides));
    getObjectInfo.emit(objectInfo(updateable));
    await flush();
    return element;
}

async function openModal(element) {
    $(element, 'request-exception').click();
    await flush();
}

async function typeReason(element, text) {
    const input = $(element, 'reason-input');
    input.value = text;
    input.dispatchEvent(new CustomEvent('change'));
    await flush();
}

function collectToasts(element) {
    const toasts = [];
    element.addEventListener('lightning__showtoast', (event) => toasts.push(event.detail));
    return toasts;
}

afterEach(() => {
    while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
    jest.clearAllMocks();
});

describe('the status badge', () => {
    it.each([
        ['Compliant', 'slds-theme_success', 'follows the rules'],
        ['Violation', 'slds-theme_error', 'breaks the rules'],
        ['Review', 'slds-theme_warning', 'Channel operations must look'],
        ['Exempt', 'slds-badge_inverse', 'exempted this deal'],
        ['Advisory', 'slds-badge_lightest', 'not enforced on this deal yet']
    ])('shows %s with its colour and what it means', async (status, cls, words) => {
        const element = await showDeal({ status });
        const badge = $(element, 'status');
        expect(badge.label).toBe(status);
        expect(badge.classList).toContain(cls);
        expect($(element, 'summary').textContent).toContain(words);
    });

    it('says a deal syncd has not decided yet is not evaluated, with no hold claimed', async () => {
        const element = await showDeal({ status: null, reason: null, remedy: null });
        expect($(element, 'status').label).toBe('Not evaluated yet');
        expect($(element, 'hold').textContent).toBe('');
        expect($(element, 'reason').textContent).toBe('No reason recorded.');
    });

    it('asks for the status as a required field and the rest as optional ones', async () => {
        await showDeal({});
        const config = getRecord.getLastConfig();
        expect(config.recordId).toBe(DEAL_ID);
        expect(config.fields.map((f) => f.fieldApiName)).toEqual(['RoE_Status__c']);
        expect(config.optionalFields.map((f) => f.fieldApiName)).toEqual(
            expect.arrayContaining(['RoE_Protected_Partner__r.Name', 'RoE_Exception_Reason__c', 'RoE_Comp_Eligible__c'])
        );
    });

    it('explains a record it cannot read instead of showing blanks', async () => {
        const element = mount();
        getRecord.error({ message: 'No access to RoE_Status__c' }, 403, 'Forbidden');
        await flush();
        expect($(element, 'load-error').textContent).toContain('syncd_RoE_Read_Only');
        expect($(element, 'status')).toBeNull();
    });
});

describe('the facts of a deal', () => {
    it('names the protected partner and the expected lead', async () => {
        const element = await showDeal({ expectedLead: 'Joint' });
        expect($(element, 'partner').textContent).toBe('Northwind Solutions');
        expect($(element, 'expected-lead').textContent).toBe('Joint');
    });

    it('says so when no partner is protected', async () => {
        const element = await showDeal({ status: 'Compliant', partnerId: null, partnerName: null });
        expect($(element, 'partner').textContent).toBe('None: no partner’s role is protected on this deal');
    });

    it('does not print an Id for a partner the user cannot see', async () => {
        const element = await showDeal({ partnerName: null });
        expect($(element, 'partner').textContent).toBe('A partner account you cannot see');
        expect(element.shadowRoot.textContent).not.toContain(PARTNER_ID);
    });

    it('gives the reason in words with the codes apart', async () => {
        const element = await showDeal({});
        expect($(element, 'reason').textContent).toBe('Protected partner missing or replaced on the deal');
        expect($(element, 'reason-codes').textContent).toBe('PARTNER_DISPLACED');
        expect($(element, 'reason-toggle')).toBeNull();
    });

    it('clamps a long reason to three lines, keeps it whole, and expands it on demand', async () => {
        const long =
            'PARTNER_DISPLACED, CUSTOM:big-deal: registered by Northwind Solutions, approved 2026-11-01, valid through ' +
            '2027-01-30; the deal now names Contoso Reseller as partner and a direct services rep as owner; protected ' +
            'partner missing or replaced on the deal';
        const element = await showDeal({ reason: long });
        const reason = $(element, 'reason');
        expect(reason.textContent.startsWith('Registered by Northwind Solutions')).toBe(true);
        expect(reason.textContent.endsWith('replaced on the deal')).toBe(true);
        expect(reason.title).toBe(long);
        expect(reason.classList).toContain('roe-clamp');
        expect(reason.classList).toContain('roe-reason');
        expect($(element, 'reason-codes').textContent).toBe('PARTNER_DISPLACED, CUSTOM:big-deal');

        const toggle = $(element, 'reason-toggle');
        expect(toggle.label).toBe('Show more');
        toggle.click();
        await flush();
        expect($(element, 'reason').classList).not.toContain('roe-clamp');
        expect($(element, 'reason-toggle').label).toBe('Show less');
    });

    it('shows the remedy owed, or that none is', async () => {
        const owed = await showDeal({});
        expect($(owed, 'remedy').textContent).toBe('referral fee 48000.00 to Northwind Solutions');
        const none = await showDeal({ status: 'Compliant', remedy: null, compEligible: true });
        expect($(none, 'remedy').textContent).toBe('None owed.');
    });

    it.each([
        ['Violation', false, 'Compensation withheld while the violation stands.'],
        ['Review', false, 'Compensation withheld while the violation stands.'],
        ['Compliant', false, 'the hold stays after the violation was resolved (a sticky hold)'],
        ['Compliant', true, 'Eligible: no hold on this deal.'],
        ['Exempt', true, 'Eligible: no hold on this deal.']
    ])('explains compensation for %s with eligibility %s', async (status, compEligible, words) => {
        const element = await showDeal({ status, compEligible });
        expect($(element, 'hold').textContent).toContain(words);
        expect($(element, 'hold').classList.contains('slds-text-color_error')).toBe(!compEligible);
    });

    it('shows channel operations’ decision and its reason', async () => {
        const element = await showDeal({ decision: 'Rejected', decisionReason: 'The partner was not consulted' });
        expect($(element, 'decision').textContent).toBe(
            'Channel operations rejected the exception: The partner was not consulted'
        );
    });
});

describe('on an Account page', () => {
    it('shows the engagement lead and the lead partner by name, and no deal facts or action', async () => {
        const element = mount('Account');
        getRecord.emit(account('Partner', 'Northwind Solutions'));
        await flush();
        expect(getRecord.getLastConfig().fields.map((f) => f.fieldApiName)).toEqual(['RoE_Engagement_Lead__c']);
        expect($(element, 'status').label).toBe('Partner-led');
        expect($(element, 'summary').textContent).toBe('A partner leads this customer.');
        expect($(element, 'partner').textContent).toBe('Northwind Solutions');
        expect($(element, 'reason').textContent).toBe('Not named or global, so partner-led');
        expect($(element, 'expected-lead')).toBeNull();
        expect($(element, 'remedy')).toBeNull();
        expect($(element, 'hold')).toBeNull();
        expect($(element, 'request-exception')).toBeNull();
    });

    it('shows a direct-led customer without a partner', async () => {
        const element = mount('Account');
        getRecord.emit(account('Direct', null));
        await flush();
        expect($(element, 'status').label).toBe('Direct-led');
        expect($(element, 'partner').textContent).toBe('None');
    });
});

describe('the Request exception action', () => {
    it.each(['Violation', 'Review'])('is offered on a %s the rep may edit', async (status) => {
        const element = await showDeal({ status });
        expect($(element, 'request-exception').label).toBe('Request exception');
    });

    it.each(['Compliant', 'Exempt', 'Advisory', null])('is hidden when the status is %s', async (status) => {
        const element = await showDeal({ status });
        expect($(element, 'request-exception')).toBeNull();
    });

    it('is hidden while a request is pending, which is shown with its reason', async () => {
        const element = await showDeal({ status: 'Review', requested: true, requestReason: 'Customer asked for us' });
        expect($(element, 'request-exception')).toBeNull();
        expect($(element, 'request-pending').textContent).toContain('“Customer asked for us”');
    });

    it('is hidden from a user who may not edit the request fields', async () => {
        const element = await showDeal({}, { updateable: false });
        expect($(element, 'request-exception')).toBeNull();
    });

    it('opens a dialog asking for a reason of at most 255 characters', async () => {
        const element = await showDeal({});
        expect($(element, 'request-modal')).toBeNull();
        await openModal(element);
        expect($(element, 'request-modal').getAttribute('role')).toBe('dialog');
        const input = $(element, 'reason-input');
        expect(input.required).toBe(true);
        expect(input.maxLength).toBe(255);
    });

    it.each(['', '   \n '])('refuses an empty reason (%j) without calling updateRecord', async (text) => {
        const element = await showDeal({});
        await openModal(element);
        await typeReason(element, text);
        $(element, 'submit').click();
        await flush();
        expect($(element, 'reason-error').textContent).toBe('Say why this deal should be an exception.');
        expect(updateRecord).not.toHaveBeenCalled();
        expect($(element, 'request-modal')).not.toBeNull();
    });

    it('refuses a reason longer than the field holds', async () => {
        const element = await showDeal({});
        await openModal(element);
        await typeReason(element, 'x'.repeat(256));
        $(element, 'submit').click();
        await flush();
        expect($(element, 'reason-error').textContent).toContain('255 characters (it has 256)');
        expect(updateRecord).not.toHaveBeenCalled();
    });

    it('sets exactly the request box and the reason, then confirms with a toast', async () => {
        const element = await showDeal({});
        const toasts = collectToasts(element);
        await openModal(element);
        await typeReason(element, '  The customer insisted on buying direct  ');
        $(element, 'submit').click();
        await flush();

        expect(updateRecord).toHaveBeenCalledTimes(1);
        expect(updateRecord.mock.calls[0]).toEqual([
            {
                fields: {
                    Id: DEAL_ID,
                    RoE_Exception_Requested__c: true,
                    RoE_Exception_Reason__c: 'The customer insisted on buying direct'
                }
            }
        ]);
        expect(toasts).toEqual([expect.objectContaining({ variant: 'success', title: 'Exception requested' })]);
        expect($(element, 'request-modal')).toBeNull();

        // Lightning Data Service then hands the component the saved record.
        getRecord.emit(opportunity({ requested: true, requestReason: 'The customer insisted on buying direct' }));
        await flush();
        expect($(element, 'request-exception')).toBeNull();
        expect($(element, 'request-pending')).not.toBeNull();
    });

    it('reports a refused save in an error toast and keeps the dialog open', async () => {
        updateRecord.mockRejectedValueOnce({
            body: {
                message: 'An error occurred while trying to update the record.',
                output: { errors: [], fieldErrors: { RoE_Exception_Reason__c: [{ message: 'Insufficient access rights' }] } }
            }
        });
        const element = await showDeal({});
        const toasts = collectToasts(element);
        await openModal(element);
        await typeReason(element, 'Partner declined the deal in writing');
        $(element, 'submit').click();
        await flush();

        expect(toasts).toEqual([
            { title: 'The exception request was not saved', message: 'Insufficient access rights', variant: 'error' }
        ]);
        expect($(element, 'request-modal')).not.toBeNull();
        expect($(element, 'submit').disabled).toBe(false);
    });

    it('closes on Cancel and on Escape without saving', async () => {
        const element = await showDeal({});
        await openModal(element);
        $(element, 'cancel').click();
        await flush();
        expect($(element, 'request-modal')).toBeNull();

        await openModal(element);
        $(element, 'request-modal').dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));
        await flush();
        expect($(element, 'request-modal')).toBeNull();
        expect(updateRecord).not.toHaveBeenCalled();
    });
});
