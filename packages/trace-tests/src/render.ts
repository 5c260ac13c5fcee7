import type { AttributeValue } from '@spyglass/protocol';

/**
 * How values become the strings tests see. Tracetest keeps every attribute as a string; selectors and `attr:` compare
 * those strings, so the rendering decides what `span[http.status_code=200]` or `attr:x = 1.5` match.
 */

/**
 * An attribute value as a string: strings as they are, integers as `%d` (no exponent, however large), booleans as
 * `true`/`false`, other numbers exactly in plain decimal (`1.5` → "1.5"), arrays and key/value lists as JSON text,
 * an empty value as "".
 *
 * Deliberate differences from Tracetest, whose converter renders a positive double with `%.0f` (1.5 → "2"), a negative
 * one with `%f` (-1.5 → "-1.500000"), 0.0 and arrays/lists as "unsupported value type": those lose the value, and a
 * test written against them would assert on a rounding bug.
 */
export function renderAttributeValue(value: AttributeValue | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return plainDecimal(value);
  return JSON.stringify(value);
}

/**
 * A number in plain decimal notation with the shortest digits that read back to the same double (JavaScript's
 * `String(x)` without its exponent form: 1e21 → "1000000000000000000000", 1.5e-7 → "0.00000015").
 */
export function plainDecimal(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const text = String(x);
  const e = text.indexOf('e');
  if (e < 0) return text;
  const negative = text.startsWith('-');
  const mantissa = text.slice(negative ? 1 : 0, e);
  const exponent = Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  // Position of the decimal point within `digits` once the exponent is applied.
  const point = (dot < 0 ? mantissa.length : dot) + exponent;
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${out}` : out;
}

/**
 * Go's `%.<digits>f`: the exact binary value rounded to `digits` decimals, exact ties to even (Go) rather than away
 * from zero (`toFixed`): 0.125 → "0.12", 0.375 → "0.38". Selectors render float literals this way with 2 digits.
 */
export function formatFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : x < 0 ? '-Inf' : 'NaN';
  const negative = x < 0 || Object.is(x, -0);
  const abs = Math.abs(x);
  if (abs >= 1e21) {
    // toFixed switches to exponent notation here; such doubles are integers.
    const whole = BigInt(abs).toString();
    return `${negative ? '-' : ''}${whole}${digits > 0 ? '.' + '0'.repeat(digits) : ''}`;
  }
  // An exact tie at `digits` decimals is j / 2^(digits+1) with j odd (5^digits must divide the denominator out).
  const scaled = abs * 2 ** (digits + 1);
  if (Number.isSafeInteger(scaled) && scaled % 2 === 1) {
    const numerator = BigInt(scaled) * 5n ** BigInt(digits); // abs * 10^digits * 2
    const low = (numerator - 1n) / 2n;
    const n = low % 2n === 0n ? low : low + 1n;
    return (negative ? '-' : '') + withDecimals(n, digits);
  }
  const fixed = abs.toFixed(digits);
  return negative ? `-${fixed}` : fixed;
}

function withDecimals(n: bigint, digits: number): string {
  if (digits === 0) return n.toString();
  const text = n.toString().padStart(digits + 1, '0');
  return `${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

/** Epoch (or duration) microseconds as integer nanoseconds, exactly (beyond 2^53 ns a double would lose digits). */
export function usToNs(us: number): bigint {
  if (Number.isInteger(us)) return BigInt(us) * 1000n;
  const whole = Math.trunc(us);
  return BigInt(whole) * 1000n + BigInt(Math.round((us - whole) * 1000));
}

/**
 * Unix nanoseconds as Go's `time.Time` JSON (RFC 3339 with nanoseconds, trailing zeros dropped, UTC):
 * `2024-05-01T10:00:00.0015Z`. Span events carry their timestamp this way in `span.events`.
 */
export function formatRfc3339Ns(ns: bigint): string {
  let seconds = ns / 1_000_000_000n;
  let fraction = ns % 1_000_000_000n;
  if (fraction < 0n) {
    fraction += 1_000_000_000n;
    seconds -= 1n;
  }
  const iso = new Date(Number(seconds) * 1000).toISOString(); // 2024-05-01T10:00:00.000Z
  const base = iso.slice(0, 19);
  const frac = fraction === 0n ? '' : '.' + fraction.toString().padStart(9, '0').replace(/0+$/, '');
  return `${base}${frac}Z`;
}
