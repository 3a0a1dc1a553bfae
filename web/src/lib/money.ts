// Money and numbers for people: `Intl`, from the API's exact decimal strings (no float on the way).
export type Money = { amount: string; currency: string };

const cache = new Map<string, Intl.NumberFormat>();
function formatter(locale: string | undefined, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = `${locale ?? ''}|${JSON.stringify(options)}`;
  let f = cache.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, options);
    cache.set(key, f);
  }
  return f;
}

/** "1234.5" USD → "$1,234.50" (en-US), "1 234,50 €" for EUR in fr-FR. Exact: the string is formatted as is. */
export function formatMoney(money: Money, locale?: string): string {
  const amount = money.amount.trim();
  // Intl.NumberFormat formats decimal strings exactly (ES2023); the cast keeps older lib typings happy.
  return formatter(locale, { style: 'currency', currency: money.currency, roundingMode: 'halfEven' } as Intl.NumberFormatOptions).format(amount as unknown as number);
}

/** Whole numbers (quantities, counts) by locale. */
export function formatNumber(n: number, locale?: string): string {
  return formatter(locale, { maximumFractionDigits: 0 }).format(n);
}

/** "12.5" → "+12.5 %", by locale; null stays an em dash (no previous figures). */
export function formatChange(percent: string | null | undefined, locale?: string): string {
  if (percent == null) return '—';
  return formatter(locale, { style: 'percent', signDisplay: 'exceptZero', maximumFractionDigits: 1 }).format(
    (Number(percent) / 100) as number,
  );
}

/** A money amount as a number for charts only (never for sums). */
export function chartValue(money: Money): number {
  return Number(money.amount);
}
