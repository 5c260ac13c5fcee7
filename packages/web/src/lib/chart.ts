import { histogramQuantile, type Histogram } from '@spyglass/protocol';

/** Geometry for the dependency-free SVG line chart of metric buckets. */
export interface Point {
  x: number;
  y: number;
}

/** Round tick values covering [min, max] (1, 2 or 5 × 10^n steps), about `count` of them. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0];
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const residual = raw / magnitude;
  const step =
    (residual >= Math.sqrt(50) ? 10 : residual >= Math.sqrt(10) ? 5 : residual >= Math.sqrt(2) ? 2 : 1) * magnitude;
  const first = Math.floor(min / step) * step;
  const ticks: number[] = [];
  for (let v = first; v <= max + step * 0.5 && ticks.length < 50; v += step) ticks.push(Number(v.toPrecision(12)));
  if ((ticks[ticks.length - 1] ?? 0) < max) ticks.push(Number((first + ticks.length * step).toPrecision(12)));
  return ticks;
}

export interface Layout {
  width: number;
  height: number;
  padding: { top: number; right: number; bottom: number; left: number };
}

export interface Scaled {
  points: Point[];
  yTicks: { value: number; y: number }[];
  xTicks: { value: number; x: number }[];
  /** SVG path (`M…L…`) through the points, broken where a value is missing. */
  path: string;
}

/** Maps `(t, value)` samples to chart coordinates; y starts at 0 for non-negative data. */
export function scaleSeries(
  samples: readonly { t: number; v: number | null }[],
  layout: Layout,
  xTickCount = 6,
): Scaled {
  const { width, height, padding } = layout;
  const plotW = Math.max(1, width - padding.left - padding.right);
  const plotH = Math.max(1, height - padding.top - padding.bottom);
  const values = samples.map((s) => s.v).filter((v): v is number => v !== null && Number.isFinite(v));
  const vMin = Math.min(0, ...values);
  const vMax = values.length === 0 ? 1 : Math.max(...values);
  const yTicksRaw = niceTicks(vMin, vMax, 4);
  const yLo = Math.min(vMin, yTicksRaw[0] ?? vMin);
  const yHi = Math.max(vMax, yTicksRaw[yTicksRaw.length - 1] ?? vMax);
  const ts = samples.map((s) => s.t);
  const tMin = ts.length === 0 ? 0 : Math.min(...ts);
  const tMax = ts.length === 0 ? 1 : Math.max(...ts);
  const xOf = (t: number): number => padding.left + (tMax === tMin ? plotW / 2 : ((t - tMin) / (tMax - tMin)) * plotW);
  const yOf = (v: number): number =>
    padding.top + plotH - (yHi === yLo ? plotH / 2 : ((v - yLo) / (yHi - yLo)) * plotH);
  const points: Point[] = [];
  let path = '';
  let pen = false;
  for (const s of samples) {
    if (s.v === null || !Number.isFinite(s.v)) {
      pen = false;
      continue;
    }
    const p = { x: round(xOf(s.t)), y: round(yOf(s.v)) };
    points.push(p);
    path += `${pen ? 'L' : 'M'}${p.x} ${p.y}`;
    pen = true;
  }
  const xTicks: { value: number; x: number }[] = [];
  if (ts.length > 0) {
    const n = tMax === tMin ? 1 : xTickCount;
    for (let i = 0; i < n; i++) {
      const value = tMax === tMin ? tMin : tMin + ((tMax - tMin) * i) / (n - 1);
      xTicks.push({ value, x: round(xOf(value)) });
    }
  }
  return { points, path, yTicks: yTicksRaw.map((value) => ({ value, y: round(yOf(value)) })), xTicks };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Compact number for axis labels: 1.2k, 3.4M, 0.25. */
export function shortNumber(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${trim(n / 1e9)}G`;
  if (a >= 1e6) return `${trim(n / 1e6)}M`;
  if (a >= 1e3) return `${trim(n / 1e3)}k`;
  return trim(n);
}

function trim(n: number): string {
  return Number(n.toPrecision(3)).toString();
}

export type Series = 'count' | 'avg' | 'p50' | 'p99' | 'max' | 'sum';

export interface Bucket {
  start: number;
  count: number;
  sum: number;
  min?: number | null;
  max: number | null;
  /** Timings only: what percentiles are estimated from. */
  histogram?: Histogram | undefined;
}

const QUANTILE: Partial<Record<Series, number>> = { p50: 0.5, p99: 0.99 };

/**
 * One value per bucket from the first stored bucket up to `now`. Buckets without samples count 0 (and have no
 * average or maximum), so a quiet period shows as such instead of a line joining distant points. The bucket width is
 * the smallest gap between stored buckets, or `defaultBucketMs`.
 */
export function bucketSeries(
  points: readonly Bucket[],
  series: Series,
  now: number,
  defaultBucketMs: number,
  maxPoints = 2000,
): { t: number; v: number | null }[] {
  const sorted = [...points].sort((a, b) => a.start - b.start);
  const first = sorted[0];
  if (first === undefined) return [];
  let width = defaultBucketMs;
  for (let i = 1; i < sorted.length; i++) {
    const gap = (sorted[i]?.start ?? 0) - (sorted[i - 1]?.start ?? 0);
    if (gap > 0 && gap < width) width = gap;
  }
  const q = QUANTILE[series];
  const value = (p: Bucket): number | null =>
    q !== undefined
      ? p.histogram === undefined
        ? null
        : histogramQuantile(p.histogram, q, { min: p.min ?? null, max: p.max })
      : series === 'count'
        ? p.count
        : series === 'sum'
          ? p.sum
          : series === 'max'
            ? p.max
            : p.count === 0
              ? null
              : p.sum / p.count;
  const empty = series === 'count' || series === 'sum' ? 0 : null;
  const byStart = new Map(sorted.map((p) => [p.start, p]));
  const lastStored = sorted[sorted.length - 1]?.start ?? first.start;
  const end = Math.max(lastStored, lastStored + Math.floor((now - lastStored) / width) * width);
  // Never more than maxPoints: keep the newest.
  const from = Math.max(first.start, end - (maxPoints - 1) * width);
  const out: { t: number; v: number | null }[] = [];
  for (let t = from; t <= end; t += width) {
    const p = byStart.get(t);
    out.push({ t, v: p === undefined ? empty : value(p) });
  }
  return out;
}
