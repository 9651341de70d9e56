/**
 * @strata/client: the typed client of the strata REST API.
 *
 * The types in `generated/schema.ts` come from `services/strata-api/openapi.json` and are never
 * edited by hand; this package adds only what a spec cannot say: how tokens are attached and how
 * failures surface (`StrataApiError` for problem+json answers, `StrataNetworkError` for no answer).
 */
export { createStrataClient, unwrap } from "./client.js";
export type { StrataClient, StrataClientOptions, TokenSource } from "./client.js";
export {
  StrataApiError,
  StrataNetworkError,
  isStrataApiError,
  isStrataNetworkError,
  parseRetryAfter,
  toProblem,
} from "./errors.js";
export type { components, operations, paths, MlServiceInfo, Problem, SystemInfo } from "./generated/schema.js";
