// Exact decimals as scaled BigInts (9 places, like the API's nano-units): never a float.
export const SCALE = 9;
const FACTOR = 10n ** BigInt(SCALE);

/** Parses "12", "-3.5", "0.333333333"; null when it is not a plain decimal of at most 9 places. */
export function parseDecimal(raw: string): bigint | null {
  const s = raw.trim();
  const m = /^(-)?(\d*)(?:\.(\d*))?$/.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return null;
  const frac = m[3] ?? '';
  if (frac.length > SCALE) return null;
  const units = BigInt(m[2] || '0') * FACTOR + BigInt((frac + '0'.repeat(SCALE)).slice(0, SCALE) || '0');
  return m[1] ? -units : units;
}

/** Writes scaled units back as a decimal string with at least `minPlaces` places. */
export function formatDecimal(units: bigint, minPlaces = 0): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const whole = abs / FACTOR;
  let frac = (abs % FACTOR).toString().padStart(SCALE, '0').replace(/0+$/, '');
  if (frac.length < minPlaces) frac = frac.padEnd(minPlaces, '0');
  return (negative ? '-' : '') + whole.toString() + (frac ? '.' + frac : '');
}

/** Rounds scaled units to `places` decimals, half to even. */
export function roundHalfEven(units: bigint, places: number): bigint {
  const step = 10n ** BigInt(SCALE - places);
  const negative = units < 0n;
  const abs = negative ? -units : units;
  let q = abs / step;
  const r = abs % step;
  const twice = r * 2n;
  if (twice > step || (twice === step && q % 2n === 1n)) q += 1n;
  const out = q * step;
  return negative ? -out : out;
}
