// The split editor's arithmetic: shares are percentages as exact decimals; they must add up to 100.
import { formatDecimal, parseDecimal, roundHalfEven } from './decimal';

export type ShareRow = { payeeId: string; share: string };
export type SplitCheck = {
  /** The sum of the valid shares, as a decimal string. */
  total: string;
  /** Whether every share is a number in (0, 100] and they add up to exactly 100. */
  complete: boolean;
  /** Per row: an error message, or null. */
  rowErrors: (string | null)[];
  /** What's missing (positive) or too much (negative) to reach 100, as a decimal string. */
  remaining: string;
};

const HUNDRED = parseDecimal('100')!;

export function checkSplit(rows: ShareRow[]): SplitCheck {
  let total = 0n;
  const seen = new Set<string>();
  const rowErrors = rows.map((row) => {
    if (!row.payeeId) return 'Choose a payee';
    if (seen.has(row.payeeId)) return 'This payee is already in the split';
    seen.add(row.payeeId);
    const units = parseDecimal(row.share);
    if (units === null) return 'Enter a percentage, such as 50 or 33.33';
    if (units <= 0n || units > HUNDRED) return 'A share is more than 0 and at most 100';
    total += units;
    return null;
  });
  return {
    total: formatDecimal(total),
    complete: rows.length > 0 && rowErrors.every((e) => e === null) && total === HUNDRED,
    rowErrors,
    remaining: formatDecimal(HUNDRED - total),
  };
}

/** A payee's part of `sample` (a decimal string, 100.00 by default) for a share in percent, to the cent, half to even. */
export function shareOf(share: string, sample = '100.00'): string | null {
  const s = parseDecimal(share);
  const amount = parseDecimal(sample);
  if (s === null || amount === null) return null;
  // (amount × share / 100) in 1e-9 units: amount and share both carry 1e9.
  const units = (amount * s) / (HUNDRED);
  return formatDecimal(roundHalfEven(units, 2), 2);
}
