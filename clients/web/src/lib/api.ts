import { createStrataClient, type StrataClient } from "@strata/client";
import { API_PREFIX } from "./config";
import { tracedFetch } from "./trace";

let browserClient: StrataClient | undefined;

/**
 * The client the browser uses: same origin, through the `/api` proxy route, which adds the
 * session's bearer token from its httpOnly cookie (so this client never holds one). Every call
 * starts a trace (`traceparent`) that the proxy, the API and the ML service continue.
 */
export function apiClient(): StrataClient {
  browserClient ??= createStrataClient({ baseUrl: API_PREFIX, fetch: tracedFetch() });
  return browserClient;
}
