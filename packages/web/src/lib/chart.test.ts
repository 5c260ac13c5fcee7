import { describe, expect, it } from 'vitest';
import { bucketSeries, niceTicks, scaleSeries, shortNumber } from './chart.js';

describe('chart geometry', () => {
  it('picks round ticks that cover the range', () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0, 93, 4)).toEqual([0, 20, 40, 60, 80, 100]);
    const t = niceTicks(0.001, 0.0042, 4);
    expect(t[0]).toBeLessThanOrEqual(0.001);
    expect(t[t.length - 1]).toBeGreaterThanOrEqual(0.0042);
    expect(niceTicks(5, 5).length).toBeGreaterThan(1);
  });

  it('maps samples into the plot area and breaks the line at gaps', () => {
    const layout = { width: 200, height: 100, padding: { top: 10, right: 10, bottom: 20, left: 30 } };
    const s = scaleSeries(
      [
        { t: 0, v: 0 },
        { t: 10, v: 10 },
        { t: 20, v: null },
        { t: 30, v: 5 },
      ],
      layout,
    );
    expect(s.points[0]).toEqual({ x: 30, y: 80 });
    expect(s.points[1]).toEqual({ x: 83.3, y: 10 });
    expect(s.path).toBe('M30 80L83.3 10M190 45');
    expect(s.xTicks[0]?.x).toBe(30);
    expect(s.xTicks[s.xTicks.length - 1]?.x).toBe(190);
    expect(s.yTicks.map((y) => y.value)).toEqual([0, 2, 4, 6, 8, 10]);
  });

  it('handles a single sample and no samples', () => {
    const layout = { width: 100, height: 100, padding: { top: 0, right: 0, bottom: 0, left: 0 } };
    expect(scaleSeries([{ t: 5, v: 3 }], layout).points).toHaveLength(1);
    expect(scaleSeries([], layout).path).toBe('');
  });

  it('writes short numbers', () => {
    expect(shortNumber(1234)).toBe('1.23k');
    expect(shortNumber(2_500_000)).toBe('2.5M');
    expect(shortNumber(0.25)).toBe('0.25');
  });

  it('fills quiet buckets up to now, per series', () => {
    const points = [
      { start: 20_000, count: 4, sum: 40, max: 15 },
      { start: 0, count: 2, sum: 10, max: 6 },
    ];
    expect(bucketSeries(points, 'count', 45_000, 10_000)).toEqual([
      { t: 0, v: 2 },
      { t: 10_000, v: 0 },
      { t: 20_000, v: 4 },
      { t: 30_000, v: 0 },
      { t: 40_000, v: 0 },
    ]);
    expect(bucketSeries(points, 'avg', 25_000, 10_000).map((p) => p.v)).toEqual([5, null, 10]);
    expect(bucketSeries(points, 'max', 25_000, 10_000).map((p) => p.v)).toEqual([6, null, 15]);
    expect(bucketSeries([], 'count', 0, 10_000)).toEqual([]);
    expect(bucketSeries([{ start: 0, count: 1, sum: 1, max: 1 }], 'count', 1e9, 10_000, 50)).toHaveLength(50);
  });

  it('plots percentiles from the buckets that carry a histogram', () => {
    const points = [
      // Ten calls between 1 and 2.5 ms: p50 lands in the (1, 2.5] bucket.
      { start: 0, count: 10, sum: 15, min: 1.2, max: 2.4, histogram: { bounds: [1, 2.5, 5], counts: [0, 10, 0, 0] } },
      { start: 10_000, count: 2, sum: 2, min: 1, max: 1 },
    ];
    const p50 = bucketSeries(points, 'p50', 10_000, 10_000).map((p) => p.v);
    expect(p50[0]).toBeCloseTo(1.8, 6);
    expect(p50[1]).toBeNull();
    expect(bucketSeries(points, 'p99', 10_000, 10_000)[0]!.v).toBeCloseTo(2.388, 6);
  });
});
