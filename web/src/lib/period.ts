// Periods for the dashboard: whole months as ISO dates (YYYY-MM-DD), without time zones.
export type Period = { from: string; to: string };

const pad = (n: number) => String(n).padStart(2, '0');
export const iso = (y: number, m: number, d: number) => `${y}-${pad(m)}-${pad(d)}`;

/** The last day of month `m` (1–12) of year `y`. */
export function lastDay(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function parts(date: string): [number, number, number] {
  const [y, m, d] = date.split('-').map(Number);
  return [y, m, d];
}

/** Adds `n` months to (y, m): returns [year, month]. */
export function addMonths(y: number, m: number, n: number): [number, number] {
  const index = y * 12 + (m - 1) + n;
  return [Math.floor(index / 12), (index % 12) + 1];
}

/** The `count` whole months that end with the month of `today`. */
export function lastMonths(today: string, count: number): Period {
  const [y, m] = parts(today);
  const [fy, fm] = addMonths(y, m, -(count - 1));
  return { from: iso(fy, fm, 1), to: iso(y, m, lastDay(y, m)) };
}

/** A calendar year. */
export function year(y: number): Period {
  return { from: iso(y, 1, 1), to: iso(y, 12, 31) };
}

/** How many whole or partial months a period covers. */
export function monthsIn(p: Period): number {
  const [fy, fm] = parts(p.from);
  const [ty, tm] = parts(p.to);
  return (ty - fy) * 12 + (tm - fm) + 1;
}

/** The period of the same number of months just before `p` (for "against the previous period"). */
export function previousPeriod(p: Period): Period {
  const n = monthsIn(p);
  const [fy, fm] = parts(p.from);
  const [py, pm] = addMonths(fy, fm, -n);
  const [ey, em] = addMonths(fy, fm, -1);
  return { from: iso(py, pm, 1), to: iso(ey, em, lastDay(ey, em)) };
}

/** The last day of the month before `today`'s: a natural payout period end. */
export function endOfLastMonth(today: string): string {
  const [y, m] = parts(today);
  const [py, pm] = addMonths(y, m, -1);
  return iso(py, pm, lastDay(py, pm));
}

/** "2025-01-01" → "Jan 2025" by locale. */
export function monthLabel(date: string, locale?: string): string {
  const [y, m] = parts(date);
  return new Intl.DateTimeFormat(locale, { month: 'short', year: 'numeric', timeZone: 'UTC' }).format(
    new Date(Date.UTC(y, m - 1, 1)),
  );
}
