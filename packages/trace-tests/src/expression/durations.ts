/**
 * Durations as Tracetest converts them (server/traces/time_converter.go): text → integer nanoseconds, and
 * nanoseconds → the display text (`38ns`, `93us`, `27ms`, `1.2s`, `27.5m`, `2h`), which is also the precision an
 * assertion on a duration compares at.
 */
import { goFixed, parseInt } from './numbers.js';

const UNIT_NS: Readonly<Record<string, number>> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const DURATION_TEXT = /^([0-9]+(?:\.[0-9]+)?) ?(ns|us|ms|s|m|h)$/;

/**
 * `68.35ms` → 68350000 (the product truncated, as Go's `int(number * scale)`), `200 ms` (the lexer accepts one space)
 * → 200000000, an integer (ns) → itself; undefined for anything else.
 */
export function toNanoseconds(text: string): number | undefined {
  const m = DURATION_TEXT.exec(text);
  if (m === null) return parseInt(text);
  return Math.trunc(Number(m[1]) * (UNIT_NS[m[2] ?? 'ns'] ?? 1));
}

/** Half-to-even division of integers (Go's `%.0f` of an exact quotient). */
function roundedQuotient(value: number, divisor: number): number {
  const q = Math.floor(value / divisor);
  const twice = 2 * (value - q * divisor);
  if (twice > divisor) return q + 1;
  if (twice === divisor) return q % 2 === 0 ? q : q + 1;
  return q;
}

/**
 * The display text of a duration: the largest unit up to seconds with no decimals below a second; from a second on
 * `s`, `m` or `h` (hours are the largest unit) with one decimal unless whole. Thresholds are compared as integers
 * (Tracetest's log₁₀₀₀ is meant to do that; a float log is off by one at exact powers of 1000 in JS).
 * Zero is `0ns` and negative values keep their sign (Tracetest has no answer for either).
 */
export function formatNanoseconds(ns: number): string {
  if (ns < 0) return `-${formatNanoseconds(-ns)}`;
  if (ns < 1e3) return `${Math.trunc(ns)}ns`;
  if (ns < 1e6) return `${roundedQuotient(ns, 1e3)}us`;
  if (ns < 1e9) return `${roundedQuotient(ns, 1e6)}ms`;
  let number = ns / 1e9;
  let unit = 's';
  if (number >= 60) {
    number /= 60;
    unit = 'm';
  }
  if (number >= 60) {
    number /= 60;
    unit = 'h';
  }
  return Number.isInteger(number) ? `${goFixed(number, 0)}${unit}` : `${goFixed(number, 1)}${unit}`;
}

/** A duration at display precision, back in nanoseconds: 42.3 ms → 42 ms, 1.47 s → 1.5 s. */
export function roundNanoseconds(ns: number): number {
  return (toNanoseconds(formatNanoseconds(Math.abs(ns))) ?? 0) * Math.sign(ns);
}
