import { decimate, extent, linePath, niceDomain, niceTicks, scaleLinear, type Point } from "../lib/chart";
import { formatNumber } from "../lib/format";

export interface ChartSeries {
  id: string;
  label: string;
  points: Point[];
  /** A CSS color (the palette lives in globals.css as --series-N). */
  color: string;
  /** Draw a dot per point (sparse series such as per-epoch metrics). */
  dots?: boolean;
}

interface LineChartProps {
  title: string;
  series: ChartSeries[];
  xLabel: string;
  yLabel: string;
  /** Fixed y range (e.g. [0, 1] for accuracy); otherwise fitted to the data, from zero. */
  yDomain?: [number, number];
  /** Smallest x range, so an axis does not rescale with every early point. */
  xMax?: number;
  width?: number;
  height?: number;
  formatY?: (v: number) => string;
}

const MARGIN = { top: 12, right: 16, bottom: 40, left: 56 };
const MAX_POINTS = 400;

/**
 * A line chart drawn as SVG: axes with nice ticks, one path per series, a legend. Server-renderable
 * and dependency-free; the parent re-renders it with new points as events arrive.
 */
export function LineChart({
  title,
  series,
  xLabel,
  yLabel,
  yDomain,
  xMax,
  width = 520,
  height = 260,
  formatY = (v) => formatNumber(v, 3),
}: LineChartProps) {
  const all = series.flatMap((s) => s.points);
  const [x0, x1] = niceDomain(...extent([...all.map((p) => p.x), ...(xMax ? [xMax] : [])], { includeZero: true }), 6);
  const [y0, y1] = yDomain ?? niceDomain(...extent(all.map((p) => p.y), { includeZero: true }), 4);
  const x = scaleLinear([x0, x1], [MARGIN.left, width - MARGIN.right]);
  const y = scaleLinear([y0, y1], [height - MARGIN.bottom, MARGIN.top]);
  const xTicks = niceTicks(x0, x1, 6);
  const yTicks = niceTicks(y0, y1, 4);
  const latest = series
    .filter((s) => s.points.length > 0)
    .map((s) => `${s.label} ${formatY((s.points.at(-1) as Point).y)}`)
    .join(", ");
  const summary = all.length === 0 ? `${title}: no data yet` : `${title}: latest ${latest}`;

  return (
    <figure className="chart" data-points={all.length}>
      <figcaption className="chart-title">{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={summary} preserveAspectRatio="xMidYMid meet">
        <g className="chart-grid">
          {yTicks.map((t) => (
            <line key={`y${t}`} x1={MARGIN.left} x2={width - MARGIN.right} y1={y(t)} y2={y(t)} />
          ))}
        </g>
        <g className="chart-axis">
          <line x1={MARGIN.left} x2={width - MARGIN.right} y1={height - MARGIN.bottom} y2={height - MARGIN.bottom} />
          {xTicks.map((t) => (
            <text key={`xt${t}`} x={x(t)} y={height - MARGIN.bottom + 16} textAnchor="middle">
              {formatNumber(t, 4)}
            </text>
          ))}
          {yTicks.map((t) => (
            <text key={`yt${t}`} x={MARGIN.left - 8} y={y(t) + 4} textAnchor="end">
              {formatY(t)}
            </text>
          ))}
          <text x={(MARGIN.left + width - MARGIN.right) / 2} y={height - 6} textAnchor="middle" className="chart-label">
            {xLabel}
          </text>
          <text
            x={14}
            y={(MARGIN.top + height - MARGIN.bottom) / 2}
            textAnchor="middle"
            className="chart-label"
            transform={`rotate(-90 14 ${(MARGIN.top + height - MARGIN.bottom) / 2})`}
          >
            {yLabel}
          </text>
        </g>
        {series.map((s) => {
          const points = decimate(s.points, MAX_POINTS);
          return (
            <g key={s.id} className="chart-series" data-series={s.id} data-count={s.points.length}>
              {points.length > 1 ? <path d={linePath(points, x, y)} stroke={s.color} fill="none" strokeWidth={2} /> : null}
              {s.dots || points.length === 1
                ? points.map((p) => <circle key={`${p.x}:${p.y}`} cx={x(p.x)} cy={y(p.y)} r={3.5} fill={s.color} />)
                : null}
            </g>
          );
        })}
        {all.length === 0 ? (
          <text x={width / 2} y={height / 2} textAnchor="middle" className="chart-empty">
            Waiting for the first progress event…
          </text>
        ) : null}
      </svg>
      <ul className="legend">
        {series.map((s) => (
          <li key={s.id}>
            <span className="swatch" style={{ background: s.color }} aria-hidden="true" />
            {s.label}
            {s.points.length > 0 ? <span className="muted"> · {formatY((s.points.at(-1) as Point).y)}</span> : null}
          </li>
        ))}
      </ul>
    </figure>
  );
}
