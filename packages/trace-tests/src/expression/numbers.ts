/**
 * Number formatting as Go's fmt does it, where verdicts depend on the exact text: `%.Nf` rounds exact ties to even
 * (`%.1f` of 1.25 is `1.2`, JS's toFixed gives `1.3`), `%v` of a float64 switches to an exponent from 1e+06 on.
 */

/** Go's `%.{digits}f`. */
export function goFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  const negative = x < 0 || Object.is(x, -0);
  const magnitude = Math.abs(x);
  let text = magnitude.toFixed(digits);
  // x·10^digits ends in exactly .5 iff x·2^(digits+1) is an odd integer (a product by a power of two is exact).
  // toFixed then picked the larger neighbour; Go picks the even one.
  const scaled = magnitude * 2 ** (digits + 1);
  if (magnitude < 1e21 && Number.isInteger(scaled) && scaled % 2 === 1) {
    const last = Number(text[text.length - 1]);
    if (last % 2 === 1) text = text.slice(0, -1) + String(last - 1);
  }
  return negative ? `-${text}` : text;
}

/** Go's `%v` of a float64 (`strconv.FormatFloat(x, 'g', -1, 64)`): shortest digits, an exponent below 1e-4 and from 1e+06. */
export function goFloatString(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const exponential = x.toExponential(); // shortest digits, e.g. "1.234567e+6"
  const [mantissa = '', exponentText = '0'] = exponential.split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return String(x);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Go's `strconv.ParseInt(s, 10, 64)`; undefined when it would fail. */
export function parseInt64(text: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const value = BigInt(text);
  return value < INT64_MIN || value > INT64_MAX ? undefined : value;
}

/** Go's `strconv.Atoi`; undefined when it would fail. */
export function parseInt(text: string): number | undefined {
  const value = parseInt64(text);
  return value === undefined ? undefined : Number(value);
}

/** Go's `fmt.Sprintf("%d", int64(x))` for a finite x (truncation toward zero). */
export function goInt(x: number): string {
  return BigInt(Math.trunc(x)).toString();
}
