import { describe, expect, it } from 'vitest';
import { formatDecimal, parseDecimal, roundHalfEven } from './decimal';
import { formatChange, formatMoney, formatNumber } from './money';
import { checkIsrc, checkUpc, gtinCheckDigit } from './ids';
import { checkSplit, shareOf } from './splits';
import { endOfLastMonth, lastMonths, monthsIn, previousPeriod, year } from './period';
import { agreementInWords, type AgreementTerms } from './agreement';
import { exitWords } from './exit';

describe('money', () => {
  it('formats by locale and currency, exactly', () => {
    expect(formatMoney({ amount: '1234.5', currency: 'USD' }, 'en-US')).toBe('$1,234.50');
    expect(formatMoney({ amount: '1234.5', currency: 'EUR' }, 'de-DE')).toBe('1.234,50\u00a0€');
    expect(formatMoney({ amount: '-0.125000000', currency: 'USD' }, 'en-US')).toBe('-$0.12');
    // A float would lose the last digits of this amount; the string keeps them.
    expect(formatMoney({ amount: '90071992547409.93', currency: 'USD' }, 'en-US')).toBe('$90,071,992,547,409.93');
    expect(formatMoney({ amount: '1000', currency: 'JPY' }, 'ja-JP')).toBe('￥1,000');
  });
  it('formats counts and changes', () => {
    expect(formatNumber(1234567, 'en-US')).toBe('1,234,567');
    expect(formatChange('12.5', 'en-US')).toBe('+12.5%');
    expect(formatChange('-3', 'en-US')).toBe('-3%');
    expect(formatChange(null, 'en-US')).toBe('—');
  });
});

describe('decimal', () => {
  it('parses and prints without floats', () => {
    expect(parseDecimal('33.333333333')).toBe(33333333333n);
    expect(parseDecimal('1e3')).toBeNull();
    expect(parseDecimal('0.1234567891')).toBeNull();
    expect(formatDecimal(parseDecimal('0.1')! + parseDecimal('0.2')!)).toBe('0.3');
    expect(formatDecimal(parseDecimal('-5')!, 2)).toBe('-5.00');
  });
  it('rounds half to even', () => {
    expect(formatDecimal(roundHalfEven(parseDecimal('0.125')!, 2), 2)).toBe('0.12');
    expect(formatDecimal(roundHalfEven(parseDecimal('0.135')!, 2), 2)).toBe('0.14');
    expect(formatDecimal(roundHalfEven(parseDecimal('-0.135')!, 2), 2)).toBe('-0.14');
  });
});

describe('ISRC and UPC', () => {
  it('accepts good codes, hyphens and case aside', () => {
    expect(checkIsrc('us-rc1-76-07839')).toEqual({ ok: true, value: 'USRC17607839' });
    expect(checkUpc('036000291452')).toEqual({ ok: true, value: '036000291452' });
    expect(checkUpc('4006381333931').ok).toBe(true);
    expect(gtinCheckDigit('03600029145')).toBe(2);
  });
  it('says what is wrong, as the API does', () => {
    expect(checkIsrc('1SRC17607839')).toEqual({ ok: false, message: "ISRC character 1 is '1', it must be a letter (country code)" });
    expect(checkIsrc('USRC1760783')).toEqual({ ok: false, message: 'ISRC must be 12 characters (without hyphens or spaces), got 11' });
    expect(checkIsrc('USRC17A07839').ok).toBe(false);
    expect(checkUpc('036000291453')).toEqual({ ok: false, message: 'UPC check digit is 3, expected 2' });
    expect(checkUpc('03600029145')).toEqual({ ok: false, message: 'UPC must be 8, 12, 13 or 14 digits (without hyphens or spaces), got 11' });
    expect(checkUpc('0360002914X2').ok).toBe(false);
  });
});

describe('split editor', () => {
  it('sums exactly and knows when it is complete', () => {
    const thirds = checkSplit([
      { payeeId: 'a', share: '33.33' },
      { payeeId: 'b', share: '33.33' },
      { payeeId: 'c', share: '33.34' },
    ]);
    expect(thirds).toMatchObject({ total: '100', complete: true, remaining: '0' });
    const short = checkSplit([{ payeeId: 'a', share: '60' }, { payeeId: 'b', share: '30.5' }]);
    expect(short).toMatchObject({ total: '90.5', complete: false, remaining: '9.5' });
  });
  it('flags bad rows', () => {
    const r = checkSplit([{ payeeId: 'a', share: '50' }, { payeeId: 'a', share: '50' }, { payeeId: '', share: '1' }, { payeeId: 'd', share: 'x' }]);
    expect(r.rowErrors).toEqual([null, 'This payee is already in the split', 'Choose a payee', 'Enter a percentage, such as 50 or 33.33']);
    expect(r.complete).toBe(false);
    expect(checkSplit([{ payeeId: 'a', share: '120' }]).rowErrors[0]).toMatch(/at most 100/);
  });
  it("shows each payee's part of 100.00, to the cent", () => {
    expect(shareOf('33.33')).toBe('33.33');
    expect(shareOf('12.345')).toBe('12.34');
    expect(shareOf('12.355')).toBe('12.36');
    expect(shareOf('50', '7.01')).toBe('3.50');
    expect(shareOf('nope')).toBeNull();
  });
});

describe('periods', () => {
  it('counts whole months and the previous period', () => {
    const p = lastMonths('2025-03-15', 12);
    expect(p).toEqual({ from: '2024-04-01', to: '2025-03-31' });
    expect(monthsIn(p)).toBe(12);
    expect(previousPeriod(p)).toEqual({ from: '2023-04-01', to: '2024-03-31' });
    expect(previousPeriod({ from: '2024-01-01', to: '2024-02-29' })).toEqual({ from: '2023-11-01', to: '2023-12-31' });
    expect(year(2024)).toEqual({ from: '2024-01-01', to: '2024-12-31' });
    expect(endOfLastMonth('2025-03-01')).toBe('2025-02-28');
    expect(endOfLastMonth('2024-03-31')).toBe('2024-02-29');
    expect(endOfLastMonth('2025-01-10')).toBe('2024-12-31');
  });
});

describe('agreements in plain words', () => {
  const base: AgreementTerms = {
    masterOwner: 'LABEL',
    labelMasterShare: '100',
    artistRevenueShare: '50',
    labelRevenueShare: '50',
    dealBasis: 'NET',
    recoupmentScope: 'RELEASE',
    advance: { amount: '500.00', currency: 'USD' },
    artistMayTakeDown: false,
    mastersRevertAfterMonths: 24,
    exitReleasePolicy: 'STAY',
    futureRights: 'OPTIONS',
    futureOptionsCount: 2,
    startsOn: '2024-01-01',
    endsOn: null,
  };
  const money = (m: { amount: string; currency: string }) => `${m.currency} ${m.amount}`;
  it('says who owns what and what happens on exit', () => {
    expect(agreementInWords(base, money)).toEqual([
      'The label owns the masters.',
      'The artist receives 50 % and the label 50 % of what is left once costs are recouped.',
      'An advance of USD 500.00 is won back from the earnings of the release it was paid for.',
      'Only the label may take releases down.',
      'If the artist leaves, the masters go back to the artist 24 months after she leaves and her releases stay up.',
      'The label holds 2 options on future records.',
      'Runs from 2024-01-01, with no end date.',
    ]);
  });
  it('words the other terms', () => {
    const words = agreementInWords(
      { ...base, masterOwner: 'JOINT', labelMasterShare: '40', dealBasis: 'GROSS', recoupmentScope: 'CROSS_COLLATERALIZED', advance: { amount: '0', currency: 'USD' }, artistMayTakeDown: true, mastersRevertAfterMonths: null, exitReleasePolicy: 'TAKE_DOWN', futureRights: 'FIRST_REFUSAL', endsOn: '2026-12-31' },
      money,
    );
    expect(words).toContain('The masters are owned jointly: the label holds 40 %.');
    expect(words).toContain('No advance.');
    expect(words).toContain('If the artist leaves, her releases are taken down.');
    expect(words).toContain('The label may make the first offer for the next record.');
    expect(words[1]).toMatch(/of everything the stores pay/);
  });
});

describe('an exit in words', () => {
  it('says what the exit terms did', () => {
    expect(
      exitWords('Bo Lind', { artist: { leftOn: '2026-03-01' }, agreement: { title: 'Record deal' }, mastersRevertOn: '2027-03-01', takenDownReleases: [{ title: 'Night Ferry' }] }),
    ).toBe('Bo Lind left on 2026-03-01. The exit terms of “Record deal” were applied: the masters go back to Bo Lind on 2027-03-01; 1 release was taken down (Night Ferry).');
    expect(exitWords('Bo Lind', { artist: { leftOn: '2026-03-01' }, agreement: { title: 'Deal' }, mastersRevertOn: null, takenDownReleases: [] })).toBe(
      'Bo Lind left on 2026-03-01. The exit terms of “Deal” were applied: the masters stay with the label; her releases stay up.',
    );
    expect(exitWords('Ada', { artist: { leftOn: '2026-01-31' }, agreement: null, takenDownReleases: [{ title: 'A' }, { title: 'B' }] })).toBe(
      'Ada left on 2026-01-31. No agreement was in force, so no exit terms applied; 2 releases were taken down (A, B).',
    );
  });
});
