import { isStrataApiError, isStrataNetworkError, StreamInterruptedError } from "@strata/client";

/** Whether the server said the token is missing, expired or revoked: the app signs out. */
export function isUnauthorized(error: unknown): boolean {
  return isStrataApiError(error) && error.status === 401;
}

/**
 * One sentence a person can act on. The API's problem+json `detail` is written for people, so it
 * is kept; the status decides the lead-in, and a missing answer is told apart from a refusal.
 */
export function describeError(error: unknown): string {
  if (isStrataNetworkError(error)) {
    return "Can't reach the strata API. Check that you are online and that the address is right, then try again.";
  }
  if (isStrataApiError(error)) {
    const detail = error.detail ? ` ${withPeriod(error.detail)}` : "";
    switch (error.status) {
      case 400:
      case 422:
        return `The server did not accept that.${detail || ` ${withPeriod(error.title)}`}`;
      case 401:
        return "Your session has ended. Sign in again.";
      case 403:
        return `Your account is not allowed to do that.${detail}`;
      case 404:
        return `Not found.${detail}`;
      case 409:
        return `That conflicts with the current state.${detail}`;
      case 429: {
        const wait = error.retryAfterSeconds !== undefined ? ` Try again in ${error.retryAfterSeconds} s.` : " Try again shortly.";
        return `Too many requests.${wait}`;
      }
      case 502:
      case 503:
      case 504:
        return `The server is not ready (the ML service may be starting or down).${detail} Try again shortly.`;
      default:
        return `${error.status >= 500 ? "The server failed" : "The request failed"} (${error.status} ${error.title}).${detail}`;
    }
  }
  if (error instanceof StreamInterruptedError) return `The live updates stopped: ${error.message}.`;
  if (error instanceof Error) return error.message;
  return String(error);
}

function withPeriod(text: string): string {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}
