import { describe, expect, it } from 'vitest';
import { histogramQuantile, mergeHistograms, type Histogram } from './histogram.js';

const BOUNDS = [0.05, 0.1, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

function histogramOf(values: number[], bounds = BOUNDS): Histogram {
  const counts = new Array<number>(bounds.length + 1).fill(0);
  for (const v of values) {
    let i = 0;
    while (i < bounds.length && v > bounds[i]!) i++;
    counts[i]!++;
  }
  return { bounds, counts };
}

const exact = (sorted: number[], q: number): number => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;

describe('histogram percentiles', () => {
  it('estimates within the bucket that holds the percentile, and within the exact min and max', () => {
    // Uniform 1..100 in buckets of ten: linear interpolation is exact up to the bucket's resolution.
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    const h = histogramOf(values, [10, 20, 30, 40, 50, 60, 70, 80, 90]);
    const range = { min: 1, max: 100 };
    expect(histogramQuantile(h, 0.5, range)).toBeCloseTo(50, 6);
    expect(histogramQuantile(h, 0.99, range)).toBeCloseTo(99, 6);
    expect(histogramQuantile(h, 0, range)).toBe(1);
    expect(histogramQuantile(h, 1, range)).toBe(100);
  });

  it('lands in the right bucket of the timing bounds for skewed data (latency-like)', () => {
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    // Mostly fast calls with a slow tail.
    const values = Array.from({ length: 5000 }, () => (random() < 0.95 ? 1 + random() * 4 : 200 + random() * 3000));
    const sorted = [...values].sort((a, b) => a - b);
    const h = histogramOf(values);
    const range = { min: sorted[0]!, max: sorted[sorted.length - 1]! };
    for (const q of [0.5, 0.9, 0.95, 0.99]) {
      const truth = exact(sorted, q);
      const estimate = histogramQuantile(h, q, range)!;
      const upper = BOUNDS.find((b) => b >= truth) ?? range.max;
      const lower = [...BOUNDS].reverse().find((b) => b < truth) ?? range.min;
      expect(estimate).toBeGreaterThanOrEqual(lower);
      expect(estimate).toBeLessThanOrEqual(upper);
    }
  });

  it('uses the maximum for the overflow bucket and one value for a single-valued histogram', () => {
    const h = histogramOf([20_000, 30_000]);
    expect(histogramQuantile(h, 0.5, { min: 20_000, max: 30_000 })).toBe(25_000);
    expect(histogramQuantile(histogramOf([3, 3, 3]), 0.99, { min: 3, max: 3 })).toBe(3);
    // Without the exact range the bucket's own bounds are used.
    expect(histogramQuantile(histogramOf([3, 3]), 0.5)).toBeCloseTo(3.75, 6);
  });

  it('answers null for nothing counted, a wrong shape or a quantile outside 0..1', () => {
    expect(histogramQuantile(histogramOf([]), 0.5)).toBeNull();
    expect(histogramQuantile({ bounds: [1, 2], counts: [1, 1] }, 0.5)).toBeNull();
    expect(histogramQuantile(histogramOf([1]), 1.5)).toBeNull();
    expect(histogramQuantile(histogramOf([1]), Number.NaN)).toBeNull();
  });

  it('merges histograms with the same bounds and leaves out the others', () => {
    const merged = mergeHistograms([histogramOf([1, 2]), undefined, histogramOf([2, 3000]), histogramOf([5], [1, 10])]);
    expect(merged).toEqual(histogramOf([1, 2, 2, 3000]));
    expect(mergeHistograms([])).toBeUndefined();
  });
});
