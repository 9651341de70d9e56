import { isStrataApiError, isStrataNetworkError } from "@strata/client";
import { API_UNREACHABLE_PROBLEM, PROBLEM_TYPE_BASE } from "./config";

/** Every kind of failure the app tells apart; each gets its own headline and advice. */
export type ErrorKind =
  | "api-unreachable"
  | "ml-unavailable"
  | "ml-timeout"
  | "ml-error"
  | "unauthenticated"
  | "forbidden"
  | "not-found"
  | "invalid"
  | "conflict"
  | "too-large"
  | "rate-limited"
  | "network"
  | "http"
  | "unexpected";

/** What the app shows for a failure: one headline, what happened, and what to do. */
export interface ErrorView {
  kind: ErrorKind;
  title: string;
  message: string;
  /** The server's own words, when they add something to the message. */
  detail?: string | undefined;
  hint: string;
  /** HTTP status, when the failure had one. */
  status?: number | undefined;
}

const slug = (type: string) => (type.startsWith(PROBLEM_TYPE_BASE) ? type.slice(PROBLEM_TYPE_BASE.length) : "");

/**
 * Turns any failed API call into what a person needs to read. The API answers problem+json with
 * a stable `type` slug (services/strata-api error.rs); this app's `/api` proxy answers 502
 * `api-unreachable` when the API itself is down, as may a gateway in front of it (502/504 with
 * no problem type of ours); no answer at all means the browser could not reach this web server.
 * The problem's `detail` is always shown: it is the API's explanation of this very request.
 */
export function describeError(error: unknown): ErrorView {
  if (isStrataApiError(error)) {
    const { status, detail } = error;
    const kind = slug(error.type);
    const retry = error.retryAfterSeconds === undefined ? "" : ` The API suggests retrying in ${error.retryAfterSeconds} s.`;
    const view = (v: Omit<ErrorView, "status">): ErrorView => ({ ...v, status });

    if (kind === "ml-unavailable" || status === 503) {
      return view({
        kind: "ml-unavailable",
        title: "ML service unavailable",
        message: "The API is up but cannot reach the ML service.",
        detail,
        hint: `Start strata-ml and make sure strata-api points at it with --ml-url.${retry}`,
      });
    }
    const fromGateway = (status === 502 || status === 504) && error.type === "about:blank";
    if (error.type === API_UNREACHABLE_PROBLEM || fromGateway) {
      return view({
        kind: "api-unreachable",
        title: "API unreachable",
        message: "The web server got no answer from the strata API.",
        // Our proxy's detail only repeats the message; a gateway's may say more.
        detail: fromGateway ? detail : undefined,
        hint: "Start strata-api and make sure STRATA_API_URL points at it.",
      });
    }
    if (kind === "ml-timeout" || status === 504) {
      return view({
        kind: "ml-timeout",
        title: "ML service timed out",
        message: "The ML service did not answer in time.",
        detail,
        hint: "It may be busy training or loading a model; try again in a moment.",
      });
    }
    if (kind === "ml-error" || status === 502) {
      return view({
        kind: "ml-error",
        title: "ML service error",
        message: "The ML service failed while handling the request.",
        detail,
        hint: "Check the strata-ml logs for this request.",
      });
    }
    if (status === 401) {
      return view({
        kind: "unauthenticated",
        title: "Signed out",
        message: "Your session has expired or is no longer valid (a restarted API in --dev mode forgets its tokens).",
        detail,
        hint: "Sign in again to continue.",
      });
    }
    if (status === 403) {
      return view({
        kind: "forbidden",
        title: "Not allowed",
        message: "Your role does not allow this.",
        detail,
        hint: "Ask an admin for a role that does (viewer < trainer < admin).",
      });
    }
    if (status === 404) {
      return view({
        kind: "not-found",
        title: "Not found",
        message: "The API has no such resource.",
        detail,
        hint: "It may have been deleted, or the link is wrong.",
      });
    }
    if (status === 400 || status === 422) {
      return view({
        kind: "invalid",
        title: error.title === "Bad Request" || error.title === "" ? "Invalid request" : error.title,
        message: "The API refused the request.",
        detail,
        hint: "Correct the input and try again.",
      });
    }
    if (status === 409) {
      return view({
        kind: "conflict",
        title: error.title || "Conflict",
        message: "The request conflicts with the current state.",
        detail,
        hint: "Reload to see the current state, then try again.",
      });
    }
    if (status === 413) {
      return view({
        kind: "too-large",
        title: "Too large",
        message: "The request is larger than the API accepts.",
        detail,
        hint: "Send less, or raise the limit (STRATA_API_MAX_UPLOAD_BYTES for uploads).",
      });
    }
    if (status === 429) {
      return view({
        kind: "rate-limited",
        title: "Too busy",
        message: "The API or the ML service has too much to do right now (rate limit or a full queue).",
        detail,
        hint: `Wait a moment and try again.${retry}`,
      });
    }
    return view({
      kind: "http",
      title: `API error ${status}: ${error.title}`,
      message: detail ?? "The API did not say more.",
      hint: "Check the API logs for this request.",
    });
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

/** Whether the failure means the whole API is out of reach (so a page-wide banner says it once). */
export function isOutage(view: ErrorView): boolean {
  return view.kind === "api-unreachable" || view.kind === "ml-unavailable" || view.kind === "network";
}
