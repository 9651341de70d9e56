import { createStrataClient, type StrataClient } from "@strata/client";
import { API_PREFIX } from "./config";

let browserClient: StrataClient | undefined;

/** The client the browser uses: same origin, through the `/api` proxy route. */
export function apiClient(): StrataClient {
  browserClient ??= createStrataClient({ baseUrl: API_PREFIX });
  return browserClient;
}
