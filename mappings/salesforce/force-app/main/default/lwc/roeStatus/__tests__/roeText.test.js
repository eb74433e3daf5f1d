import { checkReason, describeHold, errorText, splitReason, statusBadge } from '../roeText';

describe('splitReason', () => {
    it('separates syncd codes from the words', () => {
        expect(splitReason('DIRECT_ON_PARTNER_ACCOUNT, EXCEPTION_REJECTED: direct rep on a partner-led deal')).toEqual({
            codes: 'DIRECT_ON_PARTNER_ACCOUNT, EXCEPTION_REJECTED',
            words: 'Direct rep on a partner-led deal'
        });
    });

    it('keeps text that has no codes as it is', () => {
        expect(splitReason('Set by hand: do not touch')).toEqual({ codes: '', words: 'Set by hand: do not touch' });
        expect(splitReason(null)).toEqual({ codes: '', words: '' });
    });

    it('reads custom rule codes', () => {
        expect(splitReason('CUSTOM:no-gov-direct: government deals go to partners').codes).toBe('CUSTOM:no-gov-direct');
    });
});

describe('checkReason', () => {
    it('trims, and accepts exactly 255 characters', () => {
        expect(checkReason(` ${'a'.repeat(255)} `)).toEqual({ reason: 'a'.repeat(255), error: '' });
    });

    it('refuses empty and overlong reasons', () => {
        expect(checkReason(undefined).error).not.toBe('');
        expect(checkReason('a'.repeat(256)).error).toContain('255');
    });
});

describe('errorText', () => {
    it('reads the UI API error shapes', () => {
        expect(errorText({ body: [{ message: 'one' }, { message: 'two' }] })).toBe('one; two');
        expect(errorText({ body: { message: 'top', output: { errors: [{ message: 'Locked' }] } } })).toBe('Locked');
        expect(errorText({ body: { message: 'top' } })).toBe('top');
        expect(errorText(new Error('network'))).toBe('network');
        expect(errorText(undefined)).toBe('Unknown error');
    });
});

describe('describeHold', () => {
    it('says nothing before syncd decided', () => {
        expect(describeHold(undefined, false)).toBe('');
    });

    it('treats an advisory deal without eligibility as a kept hold, not a standing violation', () => {
        expect(describeHold('Advisory', false)).toContain('sticky');
    });
});

describe('statusBadge', () => {
    it('falls back for unknown values', () => {
        expect(statusBadge('Bogus').label).toBe('Not evaluated yet');
    });
});
