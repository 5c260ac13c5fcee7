import { histogramQuantile, type MetricPoint, type MetricType } from '@spyglass/protocol';

/** `14:03:07.512 INFO  [shop] order ord-1 total 1800` (local time). */
export function formatLogLine(log: { at: number; level: string; message: string }, source?: string): string {
  const d = new Date(log.at);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  return `${time} ${log.level.toUpperCase().padEnd(5)} ${source === undefined ? '' : `[${source}] `}${log.message}`;
}

export interface MetricSummary {
  count: number;
  sum: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  p50: number | null;
  p99: number | null;
}

/** Adds up stored buckets (any order): count, sum, min, max, and p50/p99 from the timing histograms. */
export function summarizeMetric(points: readonly MetricPoint[]): MetricSummary {
  let count = 0;
  let sum = 0;
  let min: number | null = null;
  let max: number | null = null;
  let bounds: readonly number[] | null = null;
  let counts: number[] | null = null;
  let histogramsAgree = true;
  for (const p of points) {
    count += p.count;
    sum += p.sum;
    if (p.min !== null) min = min === null ? p.min : Math.min(min, p.min);
    if (p.max !== null) max = max === null ? p.max : Math.max(max, p.max);
    const h = p.histogram;
    if (h === undefined) continue;
    if (bounds === null || counts === null) {
      bounds = h.bounds;
      counts = [...h.counts];
    } else if (h.bounds.length === bounds.length && h.bounds.every((b, i) => b === bounds![i])) {
      for (let i = 0; i < counts.length; i++) counts[i] = (counts[i] ?? 0) + (h.counts[i] ?? 0);
    } else histogramsAgree = false;
  }
  const q = (x: number) =>
    bounds === null || counts === null || !histogramsAgree
      ? null
      : histogramQuantile({ bounds, counts }, x, { min, max });
  return { count, sum, mean: count === 0 ? null : sum / count, min, max, p50: q(0.5), p99: q(0.99) };
}

function num(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3);
}

/** One line: `count 12 · p50 2.10 ms · p99 8.40 ms · max 9.00 ms` (timings), `count 12` (counter), gauge values. */
export function metricSummaryText(type: MetricType, s: MetricSummary): string {
  if (s.count === 0) return 'no samples yet';
  if (type === 'counter') return `count ${s.count}`;
  const unit = type === 'gauge' ? '' : ' ms';
  const parts = [`count ${s.count}`];
  if (s.p50 !== null) parts.push(`p50 ${num(s.p50)}${unit}`);
  if (s.p99 !== null) parts.push(`p99 ${num(s.p99)}${unit}`);
  if (s.mean !== null) parts.push(`mean ${num(s.mean)}${unit}`);
  if (s.min !== null && s.max !== null) parts.push(`min ${num(s.min)}${unit}`, `max ${num(s.max)}${unit}`);
  return parts.join(' · ');
}
