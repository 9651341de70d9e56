import type { JobState, ModelVersion } from "@strata/client";

export function stateLabel(state: JobState | null | undefined): string {
  if (!state) return "Unknown";
  return state.charAt(0).toUpperCase() + state.slice(1);
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return "–";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds - m * 60)} s`;
}

/** What a version takes as input, read from its io_schema (`{"input": {"type": ...}}`). */
export function inputType(version: ModelVersion | undefined): string | undefined {
  return schemaType(version, "input");
}

/** What a version answers with (`{"output": {"type": "embedding" | "classes"}}`). */
export function outputType(version: ModelVersion | undefined): string | undefined {
  return schemaType(version, "output");
}

function schemaType(version: ModelVersion | undefined, side: "input" | "output"): string | undefined {
  const part = (version?.io_schema as Record<string, { type?: unknown } | undefined> | undefined)?.[side];
  return typeof part?.type === "string" ? part.type : undefined;
}
