import { useMemo } from 'react';
import { scaleSeries, shortNumber } from '../lib/chart';
import { formatTime } from '../lib/format';

interface LineChartProps {
  samples: { t: number; v: number | null }[];
  label: string;
  unit?: string;
}

const LAYOUT = { width: 760, height: 240, padding: { top: 12, right: 16, bottom: 28, left: 52 } };

/** A small SVG line chart (no dependency): time on x, value on y. */
export function LineChart({ samples, label, unit }: LineChartProps) {
  const s = useMemo(() => scaleSeries(samples, LAYOUT), [samples]);
  const { width, height, padding } = LAYOUT;
  const last = [...samples].reverse().find((p) => p.v !== null);
  return (
    <figure className="chart" style={{ margin: 0 }}>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`${label}: ${samples.length} points${last ? `, latest ${last.v}` : ''}`}
      >
        <g className="grid">
          {s.yTicks.map((t) => (
            <line key={t.value} x1={padding.left} x2={width - padding.right} y1={t.y} y2={t.y} />
          ))}
        </g>
        <g className="axis">
          {s.yTicks.map((t) => (
            <text key={t.value} x={padding.left - 6} y={t.y + 4} textAnchor="end">
              {shortNumber(t.value)}
            </text>
          ))}
          {s.xTicks.map((t, i) => (
            <text
              key={t.value}
              x={t.x}
              y={height - 8}
              textAnchor={
                s.xTicks.length > 1 && i === s.xTicks.length - 1
                  ? 'end'
                  : i === 0 && s.xTicks.length > 1
                    ? 'start'
                    : 'middle'
              }
            >
              {formatTime(t.value).slice(0, 8)}
            </text>
          ))}
        </g>
        <path className="series" d={s.path} />
        {s.points.length <= 120 && s.points.map((p, i) => <circle key={i} className="pt" cx={p.x} cy={p.y} r={2.5} />)}
      </svg>
      <figcaption className="subtle">
        {label}
        {unit !== undefined && ` (${unit})`}
      </figcaption>
    </figure>
  );
}
