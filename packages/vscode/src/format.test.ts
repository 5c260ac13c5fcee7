import type { MetricPoint } from '@spyglass/protocol';
import { describe, expect, it } from 'vitest';
import { formatLogLine, metricSummaryText, summarizeMetric } from './format.js';

const point = (over: Partial<MetricPoint>): MetricPoint => ({
  actionId: '00000000-0000-4000-8000-0000000000aa',
  start: 0,
  end: 10_000,
  count: 0,
  sum: 0,
  min: null,
  max: null,
  ...over,
});

describe('log lines', () => {
  it('prints local time, level and the service', () => {
    const at = new Date(2026, 11, 4, 9, 5, 7, 12).getTime();
    expect(formatLogLine({ at, level: 'info', message: 'order ord-1 total 1800' }, 'shop')).toBe(
      '09:05:07.012 INFO  [shop] order ord-1 total 1800',
    );
    expect(formatLogLine({ at, level: 'error', message: 'x' })).toBe('09:05:07.012 ERROR x');
  });
});

describe('metric summary', () => {
  it('adds buckets up and estimates p50/p99 from the histograms', () => {
    const bounds = [1, 2, 5, 10];
    const s = summarizeMetric([
      point({ count: 50, sum: 75, min: 1, max: 2, histogram: { bounds, counts: [0, 50, 0, 0, 0] } }),
      point({ count: 50, sum: 400, min: 6, max: 10, histogram: { bounds, counts: [0, 0, 0, 50, 0] } }),
    ]);
    expect(s.count).toBe(100);
    expect(s.mean).toBe(4.75);
    expect(s.min).toBe(1);
    expect(s.max).toBe(10);
    expect(s.p50).toBe(2);
    expect(s.p99).toBeGreaterThan(9);
    expect(s.p99).toBeLessThanOrEqual(10);
    expect(metricSummaryText('tictoc', s)).toMatch(
      /^count 100 · p50 2 ms · p99 9\.\d+ ms · mean 4\.75 ms · min 1 ms · max 10 ms$/,
    );
  });

  it('says so when there is nothing, and counts a counter', () => {
    expect(metricSummaryText('duration', summarizeMetric([]))).toBe('no samples yet');
    expect(metricSummaryText('counter', summarizeMetric([point({ count: 3, sum: 3, min: 1, max: 1 })]))).toBe(
      'count 3',
    );
    const g = summarizeMetric([point({ count: 2, sum: 5, min: 2, max: 3 })]);
    expect(g.p50).toBeNull();
    expect(metricSummaryText('gauge', g)).toBe('count 2 · mean 2.50 · min 2 · max 3');
  });
});
