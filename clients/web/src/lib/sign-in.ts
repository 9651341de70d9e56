import { StrataApiError, StrataNetworkError } from "@strata/client";
import { SESSION_PATH } from "./config";

/**
 * Exchanges a user name and password for a session (the httpOnly cookie `/session` sets). Throws
 * `StrataApiError` with the API's problem when refused, `StrataNetworkError` when the web server
 * did not answer.
 */
export async function startSession(username: string, password: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(SESSION_PATH, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
  } catch (cause) {
    throw new StrataNetworkError(`Could not reach the web server: ${(cause as Error).message}`, { cause });
  }
  if (!response.ok) {
    const body: unknown = await response.json().catch(() => undefined);
    throw StrataApiError.fromResponse(response, body);
  }
}
