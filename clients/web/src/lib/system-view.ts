import { isStrataApiError, isStrataNetworkError } from "@strata/client";
import { API_UNREACHABLE_PROBLEM, PROBLEM_TYPE_BASE } from "./config";

/** What the System page shows for a failure: one headline, what happened, and what to do. */
export interface ErrorView {
  kind: "ml-unavailable" | "api-unreachable" | "network" | "http" | "unexpected";
  title: string;
  message: string;
  /** The server's own words, when they add something to the message. */
  detail?: string | undefined;
  hint: string;
}

/**
 * Classifies a failed `getSystemInfo` call. The API answers 503 (`ml-unavailable`) when it is up
 * but the ML service is not; this app's proxy answers 502 `api-unreachable` when the API itself is
 * down, as may a gateway in front of it (502/504 with no problem type of ours); no answer at all
 * means the browser could not reach this web server. The API's own 502/504 (an ML error or
 * timeout) are API errors like any other.
 */
export function describeSystemError(error: unknown): ErrorView {
  if (isStrataApiError(error)) {
    if (error.status === 503 || error.type === `${PROBLEM_TYPE_BASE}ml-unavailable`) {
      const retry = error.retryAfterSeconds === undefined ? "" : ` The API suggests retrying in ${error.retryAfterSeconds} s.`;
      return {
        kind: "ml-unavailable",
        title: "ML service unavailable",
        message: "The API is up but cannot reach the ML service.",
        detail: error.detail,
        hint: `Start strata-ml and make sure strata-api points at it with --ml-url.${retry}`,
      };
    }
    const fromGateway = (error.status === 502 || error.status === 504) && error.type === "about:blank";
    if (error.type === API_UNREACHABLE_PROBLEM || fromGateway) {
      return {
        kind: "api-unreachable",
        title: "API unreachable",
        message: "The web server got no answer from the strata API.",
        // Our proxy's detail only repeats the message; a gateway's may say more.
        detail: fromGateway ? error.detail : undefined,
        hint: "Start strata-api and make sure STRATA_API_URL points at it.",
      };
    }
    return {
      kind: "http",
      title: `API error ${error.status}: ${error.title}`,
      message: error.detail ?? "The API did not say more.",
      hint: "Check the API logs for this request.",
    };
  }
  if (isStrataNetworkError(error)) {
    return {
      kind: "network",
      title: "Cannot reach the web server",
      message: "The browser got no answer from this app's server.",
      detail: error.message,
      hint: "Check your connection and that the web app is still running, then retry.",
    };
  }
  return {
    kind: "unexpected",
    title: "Something went wrong",
    message: error instanceof Error ? error.message : String(error),
    hint: "Reload the page; if it keeps happening, check the browser console.",
  };
}

/** Uptime as the two largest units: `42 s`, `3 min 5 s`, `2 h 7 min`, `4 d 1 h`. */
export function formatUptime(totalSeconds: number): string {
  if (!Number.isFinite(totalSeconds) || totalSeconds < 0) return "unknown";
  const seconds = Math.floor(totalSeconds);
  const units: [string, number][] = [
    ["d", Math.floor(seconds / 86_400)],
    ["h", Math.floor((seconds % 86_400) / 3_600)],
    ["min", Math.floor((seconds % 3_600) / 60)],
    ["s", seconds % 60],
  ];
  const first = units.findIndex(([, value]) => value > 0);
  if (first === -1) return "0 s";
  return units
    .slice(first, first + 2)
    .map(([unit, value]) => `${value} ${unit}`)
    .join(" ");
}
