/**
 * Money is never a JS float in arithmetic. Amounts are bigint counts of
 * pico-USD (1e-12 USD), the scale of the database's `numeric(30,12)` columns.
 * Token budgets use the same columns and scale, so one parser serves both.
 */
export const SCALE = 12;
const UNIT = 10n ** BigInt(SCALE);

/** Parses a decimal string ("12.5", "-0.000000140000", "3e-7") into units of 1e-12. Throws on more than 12 decimals. */
export function parseUnits(input: string | number | bigint): bigint {
  if (typeof input === 'bigint') return input * UNIT;
  let s = typeof input === 'number' ? numberToPlain(input) : input.trim();
  const neg = s.startsWith('-');
  if (neg || s.startsWith('+')) s = s.slice(1);
  const m = /^(\d*)(?:\.(\d*))?$/.exec(s);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) throw new RangeError(`not a decimal: ${String(input)}`);
  const frac = (m[2] ?? '').replace(/0+$/, '');
  if (frac.length > SCALE) throw new RangeError(`more than ${SCALE} decimal places: ${String(input)}`);
  const v = BigInt(m[1] || '0') * UNIT + BigInt(frac.padEnd(SCALE, '0') || '0');
  return neg ? -v : v;
}

/** Formats units of 1e-12 as a plain decimal string with trailing zeros trimmed ("0.42"). */
export function formatUnits(v: bigint): string {
  const neg = v < 0n;
  const a = neg ? -v : v;
  const int = a / UNIT;
  const frac = (a % UNIT).toString().padStart(SCALE, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}

/** The nearest float, for GraphQL `Float` output only: never feed it back into arithmetic. */
export function unitsToNumber(v: bigint): number {
  return Number(formatUnits(v));
}

/** A float from GraphQL input, taken at its shortest decimal form and rounded half-up to 12 places. */
export function numberToUnits(n: number): bigint {
  if (!Number.isFinite(n)) throw new RangeError(`not a finite number: ${n}`);
  const s = numberToPlain(n);
  const [i, f = ''] = s.replace('-', '').split('.');
  let v = BigInt(i || '0') * UNIT + BigInt(f.slice(0, SCALE).padEnd(SCALE, '0'));
  if (f.length > SCALE && Number(f[SCALE]) >= 5) v += 1n;
  return n < 0 ? -v : v;
}

/** The number's shortest round-trip decimal, without exponent notation (1e-13 → "0.0000000000001"). */
export function numberToPlain(n: number): string {
  const s = String(n);
  if (!/e/i.test(s)) return s;
  const [mant, expS] = s.toLowerCase().split('e');
  const exp = Number(expS);
  const neg = mant.startsWith('-');
  const [ip, fp = ''] = mant.replace('-', '').split('.');
  const digits = ip + fp;
  const point = ip.length + exp;
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return (neg ? '-' : '') + out;
}

/** a * b / d rounded half-up, all bigint (d > 0). */
export function mulDivRound(a: bigint, b: bigint, d: bigint): bigint {
  const p = a * b;
  const q = p / d;
  const r = p % d;
  if (r === 0n) return q;
  return p >= 0n ? (2n * r >= d ? q + 1n : q) : -2n * r >= d ? q - 1n : q;
}

/** Formats USD for people: "$475.00", "$0.0042". */
export function formatUsd(v: bigint): string {
  const n = unitsToNumber(v);
  if (Math.abs(n) >= 0.01 || n === 0) return `$${n.toFixed(2)}`;
  return `$${n.toPrecision(2)}`;
}
