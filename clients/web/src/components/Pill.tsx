import type { JobState } from "@strata/client";
import { stateLabel } from "../lib/training";

export type Tone = "neutral" | "info" | "ok" | "error" | "warn";

export function Pill({ tone = "neutral", children, testId }: { tone?: Tone; children: React.ReactNode; testId?: string }) {
  return (
    <span className={`pill pill-${tone}`} data-testid={testId}>
      {children}
    </span>
  );
}

export function JobStatePill({ state }: { state: JobState | null | undefined }) {
  const { text, tone } = stateLabel(state);
  return (
    <Pill tone={tone} testId="job-state">
      {text}
    </Pill>
  );
}
