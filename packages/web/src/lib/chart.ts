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
