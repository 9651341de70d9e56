/** Labelled horizontal bars (class counts, class probabilities), as a list a screen reader reads. */
export function BarList({
  items,
  format,
  highlight,
  label,
  testId,
}: {
  items: { label: string; value: number }[];
  format: (v: number) => string;
  highlight?: number | undefined;
  label: string;
  testId?: string;
}) {
  const max = Math.max(0, ...items.map((i) => i.value));
  return (
    <ul className="bars" aria-label={label} data-testid={testId}>
      {items.map((item, i) => (
        <li key={`${item.label}-${i}`} className={i === highlight ? "bar highlight" : "bar"}>
          <span className="bar-label">{item.label}</span>
          <span className="bar-track" aria-hidden="true">
            <span className="bar-fill" style={{ width: `${max > 0 ? (item.value / max) * 100 : 0}%` }} />
          </span>
          <span className="bar-value">{format(item.value)}</span>
        </li>
      ))}
    </ul>
  );
}
