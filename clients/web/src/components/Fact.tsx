import type { ReactNode } from "react";

/** One labelled value in a `<dl className="facts">` grid. */
export function Fact({ label, value, testId, wide = false }: { label: string; value: ReactNode; testId?: string | undefined; wide?: boolean }) {
  return (
    <div className={wide ? "fact wide" : "fact"}>
      <dt>{label}</dt>
      <dd data-testid={testId}>{value}</dd>
    </div>
  );
}
