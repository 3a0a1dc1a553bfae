// ISRC and UPC checks as the user types, worded like the API's (domain::ids): a hint, the API decides.
export type Check = { ok: true; value: string } | { ok: false; message: string };

const compact = (s: string) => s.replace(/[\s-]/g, '').toUpperCase();

export function checkIsrc(raw: string): Check {
  const code = compact(raw);
  if (!code) return { ok: false, message: 'ISRC is empty' };
  for (let i = 0; i < code.length && i < 12; i++) {
    const c = code[i];
    if (i < 2 && !/[A-Z]/.test(c)) return { ok: false, message: `ISRC character ${i + 1} is '${c}', it must be a letter (country code)` };
    if (i >= 2 && i < 5 && !/[A-Z0-9]/.test(c))
      return { ok: false, message: `ISRC character ${i + 1} is '${c}', it must be a letter or digit (registrant code)` };
    if (i >= 5 && !/[0-9]/.test(c)) return { ok: false, message: `ISRC character ${i + 1} is '${c}', it must be a digit` };
  }
  if (code.length !== 12) return { ok: false, message: `ISRC must be 12 characters (without hyphens or spaces), got ${code.length}` };
  return { ok: true, value: code };
}

/** The GTIN check digit of `body` (all digits but the last). */
export function gtinCheckDigit(body: string): number {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    const digit = body.charCodeAt(body.length - 1 - i) - 48;
    sum += digit * (i % 2 === 0 ? 3 : 1);
  }
  return (10 - (sum % 10)) % 10;
}

export function checkUpc(raw: string): Check {
  const code = compact(raw);
  if (!code) return { ok: false, message: 'UPC is empty' };
  const bad = /[^0-9]/.exec(code);
  if (bad) return { ok: false, message: `UPC character ${bad.index + 1} is '${bad[0]}', it must be a digit` };
  if (![8, 12, 13, 14].includes(code.length))
    return { ok: false, message: `UPC must be 8, 12, 13 or 14 digits (without hyphens or spaces), got ${code.length}` };
  const expected = gtinCheckDigit(code.slice(0, -1));
  const found = Number(code[code.length - 1]);
  if (expected !== found) return { ok: false, message: `UPC check digit is ${found}, expected ${expected}` };
  return { ok: true, value: code };
}
