import { heatColor, inkOn } from "../lib/heat";

interface HeatMapProps {
  caption: string;
  rowLabels: string[];
  colLabels: string[];
  values: number[][];
  /** What rows and columns are (e.g. "True class" / "Predicted class"). */
  rowTitle: string;
  colTitle: string;
  /** Colour scale: each row by its own total (a confusion matrix's recall view) or one fixed range. */
  scale: "row" | [number, number];
  format?: (v: number) => string;
  testId?: string;
}

/**
 * A matrix as a table whose cells are shaded by value: readable by screen readers as a table,
 * and by eye as a heat map. Hovering a cell shows its row, column and value.
 */
export function HeatMap({ caption, rowLabels, colLabels, values, rowTitle, colTitle, scale, format = String, testId }: HeatMapProps) {
  const shade = (row: number[], v: number) => {
    if (scale === "row") {
      const total = row.reduce((a, b) => a + b, 0);
      return total > 0 ? v / total : 0;
    }
    const [lo, hi] = scale;
    return hi > lo ? Math.min(1, Math.max(0, (v - lo) / (hi - lo))) : 0;
  };
  return (
    <div className="heatmap-wrap">
      <table className="heatmap" data-testid={testId}>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col" className="heatmap-corner">
              <span className="muted">
                {rowTitle} ↓ · {colTitle} →
              </span>
            </th>
            {colLabels.map((c, j) => (
              <th key={`c${j}`} scope="col" title={c}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {values.map((row, i) => (
            <tr key={`r${i}`}>
              <th scope="row" title={rowLabels[i]}>
                {rowLabels[i]}
              </th>
              {row.map((v, j) => {
                const t = shade(row, v);
                return (
                  <td
                    key={`c${j}`}
                    style={{ background: heatColor(t), color: inkOn(t) }}
                    title={`${rowTitle} ${rowLabels[i]}, ${colTitle} ${colLabels[j]}: ${format(v)}`}
                    className={i === j ? "diagonal" : undefined}
                  >
                    {format(v)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
