/**
 * Percentiles from the bucket histograms agents send with timing metrics (`tictoc`, `duration`). A histogram holds
 * counts, not values, so a percentile is an estimate: linear within the bucket that holds it, and never outside the
 * exact minimum and maximum that come with it.
 */

/** `counts[i]` values fell at or below `bounds[i]` (and above `bounds[i - 1]`); the last count is the overflow. */
export interface Histogram {
  bounds: readonly number[];
  counts: readonly number[];
}

/**
 * Estimated `q`-quantile (0 ≤ q ≤ 1; 0.5 is the median, 0.99 the 99th percentile) of the values a histogram counted.
 * `range`, the exact smallest and largest value, bounds the first and the overflow bucket. Null when it counted
 * nothing or its shape is wrong.
 */
export function histogramQuantile(
  h: Histogram,
  q: number,
  range?: { min: number | null; max: number | null },
): number | null {
  if (h.counts.length !== h.bounds.length + 1 || !(q >= 0 && q <= 1)) return null;
  let total = 0;
  for (const c of h.counts) total += c;
  if (total === 0) return null;
  const min = range?.min ?? null;
  const max = range?.max ?? null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const c = h.counts[i] ?? 0;
    if (c === 0 || seen + c < rank) {
      seen += c;
      continue;
    }
    const upperBound = h.bounds[i];
    const lowerBound = i === 0 ? Math.min(0, h.bounds[0] ?? 0) : (h.bounds[i - 1] ?? 0);
    let lo = min === null ? lowerBound : Math.max(lowerBound, min);
    let hi = upperBound === undefined ? (max ?? lowerBound) : max === null ? upperBound : Math.min(upperBound, max);
    if (hi < lo) [lo, hi] = [hi, lo];
    const value = lo + (hi - lo) * ((rank - seen) / c);
    return clamp(value, min, max);
  }
  return clamp(h.bounds[h.bounds.length - 1] ?? 0, min, max);
}

function clamp(v: number, min: number | null, max: number | null): number {
  if (min !== null && v < min) return min;
  if (max !== null && v > max) return max;
  return v;
}

/**
 * Adds `from`'s counts to `into` when both have the same bounds; answers whether it did (histograms with other bounds
 * cannot be added up).
 */
export function addHistogram(into: { bounds: readonly number[]; counts: number[] }, from: Histogram): boolean {
  if (from.bounds.length !== into.bounds.length || from.bounds.some((b, i) => b !== into.bounds[i])) return false;
  for (let i = 0; i < into.counts.length; i++) into.counts[i] = (into.counts[i] ?? 0) + (from.counts[i] ?? 0);
  return true;
}

/**
 * Adds up histograms with the same bounds (several buckets of one metric, for a percentile over a whole period);
 * ones with other bounds are left out. Undefined when none is given.
 */
export function mergeHistograms(histograms: Iterable<Histogram | null | undefined>): Histogram | undefined {
  let merged: { bounds: readonly number[]; counts: number[] } | undefined;
  for (const h of histograms) {
    if (!h || h.counts.length !== h.bounds.length + 1) continue;
    if (merged === undefined) merged = { bounds: h.bounds, counts: [...h.counts] };
    else addHistogram(merged, h);
  }
  return merged;
}
