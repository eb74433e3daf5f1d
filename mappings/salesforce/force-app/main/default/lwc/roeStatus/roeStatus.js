import { LightningElement, api, wire } from 'lwc';
import { getRecord, getFieldValue, updateRecord } from 'lightning/uiRecordApi';
import { getObjectInfo } from 'lightning/uiObjectInfoApi';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';

import OPPORTUNITY from '@salesforce/schema/Opportunity';
import OPP_STATUS from '@salesforce/schema/Opportunity.RoE_Status__c';
import OPP_EXPECTED_LEAD from '@salesforce/schema/Opportunity.RoE_Expected_Lead__c';
import OPP_PARTNER from '@salesforce/schema/Opportunity.RoE_Protected_Partner__c';
import OPP_PARTNER_NAME from '@salesforce/schema/Opportunity.RoE_Protected_Partner__r.Name';
import OPP_REASON from '@salesforce/schema/Opportunity.RoE_Reason__c';
import OPP_REMEDY from '@salesforce/schema/Opportunity.RoE_Remedy__c';
import OPP_COMP_ELIGIBLE from '@salesforce/schema/Opportunity.RoE_Comp_Eligible__c';
import OPP_REQUESTED from '@salesforce/schema/Opportunity.RoE_Exception_Requested__c';
import OPP_REQUEST_REASON from '@salesforce/schema/Opportunity.RoE_Exception_Reason__c';
import OPP_DECISION from '@salesforce/schema/Opportunity.RoE_Exception_Decision__c';
import OPP_DECISION_REASON from '@salesforce/schema/Opportunity.RoE_Exception_Decision_Reason__c';
import ACC_LEAD from '@salesforce/schema/Account.RoE_Engagement_Lead__c';
import ACC_PARTNER from '@salesforce/schema/Account.RoE_Lead_Partner__c';
import ACC_PARTNER_NAME from '@salesforce/schema/Account.RoE_Lead_Partner__r.Name';
import ACC_REASON from '@salesforce/schema/Account.RoE_Reason__c';

import {
    LONG_REASON,
    MAX_REASON,
    REQUESTABLE,
    checkReason,
    describeHold,
    errorText,
    leadBadge,
    splitReason,
    statusBadge,
    statusSummary
} from './roeText';

// The flag syncd decides is required (no access to it = nothing to show); the rest is
// optional so a user without access to one field still sees the others.
const FIELDS = {
    Opportunity: {
        required: [OPP_STATUS],
        optional: [
            OPP_EXPECTED_LEAD, OPP_PARTNER, OPP_PARTNER_NAME, OPP_REASON, OPP_REMEDY, OPP_COMP_ELIGIBLE,
            OPP_REQUESTED, OPP_REQUEST_REASON, OPP_DECISION, OPP_DECISION_REASON
        ]
    },
    Account: { required: [ACC_LEAD], optional: [ACC_PARTNER, ACC_PARTNER_NAME, ACC_REASON] }
};

export default class RoeStatus extends LightningElement {
    @api recordId;
    @api objectApiName;

    record;
    loadError;
    canRequest = false;
    modalOpen = false;
    draftReason = '';
    reasonError = '';
    saving = false;
    reasonExpanded = false;

    get fields() {
        return (FIELDS[this.objectApiName] || FIELDS.Opportunity).required;
    }

    get optionalFields() {
        return (FIELDS[this.objectApiName] || FIELDS.Opportunity).optional;
    }

    // Only Opportunity pages ask whether the user may edit the request fields.
    get requestObject() {
        return this.isOpportunity ? OPPORTUNITY : undefined;
    }

    @wire(getRecord, { recordId: '$recordId', fields: '$fields', optionalFields: '$optionalFields' })
    wiredRecord({ data, error }) {
        this.record = data;
        this.loadError = data ? undefined : error;
    }

    @wire(getObjectInfo, { objectApiName: '$requestObject' })
    wiredInfo({ data }) {
        const fields = (data && data.fields) || {};
        const editable = (f) => Boolean(fields[f.fieldApiName] && fields[f.fieldApiName].updateable);
        this.canRequest = editable(OPP_REQUESTED) && editable(OPP_REQUEST_REASON);
    }

    get isOpportunity() {
        return this.objectApiName !== 'Account';
    }

    get loaded() {
        return Boolean(this.record);
    }

    get errorMessage() {
        return `The rules-of-engagement fields cannot be shown: ${errorText(this.loadError)}. Ask your admin for the syncd_RoE_Read_Only permission set.`;
    }

    value(field) {
        return this.record ? getFieldValue(this.record, field) : undefined;
    }

    get status() {
        return this.value(OPP_STATUS);
    }

    get badge() {
        return this.isOpportunity ? statusBadge(this.status) : leadBadge(this.value(ACC_LEAD));
    }

    get badgeClass() {
        return `roe-badge ${this.badge.cls}`;
    }

    get summary() {
        if (this.isOpportunity) return statusSummary(this.status);
        const lead = this.value(ACC_LEAD);
        return lead ? `${lead === 'Partner' ? 'A partner' : 'Your direct team'} leads this customer.` : statusSummary(undefined);
    }

    get expectedLead() {
        return this.value(OPP_EXPECTED_LEAD) || '—';
    }

    get partnerLabel() {
        return this.isOpportunity ? 'Protected partner' : 'Lead partner';
    }

    get partnerText() {
        const [idField, nameField] = this.isOpportunity ? [OPP_PARTNER, OPP_PARTNER_NAME] : [ACC_PARTNER, ACC_PARTNER_NAME];
        const name = this.value(nameField);
        if (name) return name;
        if (this.value(idField)) return 'A partner account you cannot see';
        return this.isOpportunity ? 'None: no partner’s role is protected on this deal' : 'None';
    }

    get hasPartner() {
        return Boolean(this.value(this.isOpportunity ? OPP_PARTNER_NAME : ACC_PARTNER_NAME));
    }

    get reason() {
        return splitReason(this.value(this.isOpportunity ? OPP_REASON : ACC_REASON));
    }

    get reasonWords() {
        return this.reason.words || 'No reason recorded.';
    }

    get reasonTitle() {
        return this.value(this.isOpportunity ? OPP_REASON : ACC_REASON) || '';
    }

    get reasonIsLong() {
        return this.reason.words.length > LONG_REASON;
    }

    get reasonClass() {
        return this.reasonIsLong && !this.reasonExpanded ? 'roe-reason roe-clamp' : 'roe-reason';
    }

    get reasonToggleLabel() {
        return this.reasonExpanded ? 'Show less' : 'Show more';
    }

    toggleReason() {
        this.reasonExpanded = !this.reasonExpanded;
    }

    get remedyText() {
        return this.value(OPP_REMEDY) || 'None owed.';
    }

    get holdText() {
        return describeHold(this.status, this.value(OPP_COMP_ELIGIBLE));
    }

    get isHeld() {
        return Boolean(this.status) && this.value(OPP_COMP_ELIGIBLE) !== true;
    }

    get holdClass() {
        return this.isHeld ? 'roe-hold slds-text-color_error' : 'roe-hold';
    }

    get requestPending() {
        return this.value(OPP_REQUESTED) === true;
    }

    get pendingText() {
        const reason = this.value(OPP_REQUEST_REASON);
        return `Exception requested${reason ? `: “${reason}”` : ''}. Waiting for channel operations; the violation and its hold stay until they decide.`;
    }

    get decisionText() {
        const decision = this.value(OPP_DECISION);
        if (!decision) return '';
        const why = this.value(OPP_DECISION_REASON);
        return `Channel operations ${decision === 'Approved' ? 'approved' : 'rejected'} the exception${why ? `: ${why}` : '.'}`;
    }

    get showRequestAction() {
        return this.isOpportunity && this.canRequest && REQUESTABLE.has(this.status) && !this.requestPending;
    }

    get maxReason() {
        return MAX_REASON;
    }

    openRequest() {
        this.draftReason = '';
        this.reasonError = '';
        this.modalOpen = true;
    }

    closeRequest() {
        this.modalOpen = false;
    }

    handleKeydown(event) {
        if (event.key === 'Escape' && !this.saving) this.closeRequest();
    }

    handleReasonChange(event) {
        this.draftReason = event.target.value;
        this.reasonError = '';
    }

    async submitRequest() {
        const { reason, error } = checkReason(this.draftReason);
        this.reasonError = error;
        if (error) return;
        this.saving = true;
        try {
            // Exactly the two fields the rep may edit; syncd does the rest.
            await updateRecord({
                fields: { Id: this.recordId, [OPP_REQUESTED.fieldApiName]: true, [OPP_REQUEST_REASON.fieldApiName]: reason }
            });
            this.modalOpen = false;
            this.toast('success', 'Exception requested', 'Channel operations will review it. The violation stands until they decide.');
        } catch (err) {
            this.toast('error', 'The exception request was not saved', errorText(err));
        } finally {
            this.saving = false;
        }
    }

    toast(variant, title, message) {
        this.dispatchEvent(new ShowToastEvent({ title, message, variant }));
    }
}
