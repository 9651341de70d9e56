import type { Problem } from "./generated/schema.js";

/** Longest plain-text body kept as a problem's detail; error pages from proxies can be large. */
const MAX_TEXT_DETAIL = 500;

/**
 * The API answered with an error status. Carries the RFC 9457 problem the API sent, or one
 * derived from the status line when the body was not problem+json (a proxy's error page, say).
 */
export class StrataApiError extends Error {
  override readonly name = "StrataApiError";
  /** HTTP status of the response. */
  readonly status: number;
  /** Problem type URI; `about:blank` when the server gave none. */
  readonly type: string;
  /** Short summary of the problem type. */
  readonly title: string;
  /** What went wrong this time, when the server said. */
  readonly detail: string | undefined;
  /** URI of this occurrence, when the server gave one. */
  readonly instance: string | undefined;
  /** Seconds the server asked the client to wait (`Retry-After`), when it did. */
  readonly retryAfterSeconds: number | undefined;
  /** The problem object as normalised from the response. */
  readonly problem: Problem;

  constructor(problem: Problem, options: { retryAfterSeconds?: number | undefined; cause?: unknown } = {}) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title, { cause: options.cause });
    this.problem = problem;
    this.status = problem.status;
    this.type = problem.type;
    this.title = problem.title;
    // A spec generated from Rust types the optional fields as `string | null`; callers get one "absent".
    this.detail = problem.detail ?? undefined;
    this.instance = problem.instance ?? undefined;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** Builds the error from a failed response and its body as openapi-fetch parsed it. */
  static fromResponse(response: Response, body: unknown): StrataApiError {
    return new StrataApiError(toProblem(response, body), {
      retryAfterSeconds: parseRetryAfter(response.headers.get("retry-after")),
    });
  }
}

/** The request never got an HTTP answer: connection refused, DNS failure, CORS, offline. */
export class StrataNetworkError extends Error {
  override readonly name = "StrataNetworkError";

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
  }
}

export function isStrataApiError(error: unknown): error is StrataApiError {
  return error instanceof StrataApiError;
}

export function isStrataNetworkError(error: unknown): error is StrataNetworkError {
  return error instanceof StrataNetworkError;
}

/**
 * Normalises whatever came back into a Problem. A body that is a problem object keeps its fields;
 * anything else gets RFC 9457's `about:blank` type and the status text as its title, so callers
 * never have to check which kind of server produced the error.
 */
export function toProblem(response: Response, body: unknown): Problem {
  const fallbackTitle = response.statusText || `HTTP ${response.status}`;
  if (isRecord(body)) {
    const problem: Problem = {
      type: typeof body.type === "string" && body.type !== "" ? body.type : "about:blank",
      title: typeof body.title === "string" && body.title !== "" ? body.title : fallbackTitle,
      status: typeof body.status === "number" && Number.isInteger(body.status) ? body.status : response.status,
    };
    if (typeof body.detail === "string") problem.detail = body.detail;
    if (typeof body.instance === "string") problem.instance = body.instance;
    return problem;
  }
  const problem: Problem = { type: "about:blank", title: fallbackTitle, status: response.status };
  const contentType = response.headers.get("content-type") ?? "";
  // Plain text can explain the failure; an HTML error page would only be noise in a message.
  if (typeof body === "string" && body.trim() !== "" && contentType.startsWith("text/plain")) {
    const text = body.trim();
    problem.detail = text.length > MAX_TEXT_DETAIL ? `${text.slice(0, MAX_TEXT_DETAIL)}…` : text;
  }
  return problem;
}

/** `Retry-After` as seconds: either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number.parseInt(trimmed, 10);
  // HTTP dates always name the weekday and month; without letters Date.parse would accept "-5".
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
