/** The path on this app's origin under which the browser reaches the strata API. */
export const API_PREFIX = "/api";

/** Where the API is when STRATA_API_URL is not set: the dev stack's default. */
export const DEFAULT_API_URL = "http://127.0.0.1:8080";

/** How often the System page refreshes while open. */
export const SYSTEM_REFRESH_MS = 5_000;

/** Prefix of the API's problem `type` URIs; the suffix is a stable slug (services/strata-api error.rs). */
export const PROBLEM_TYPE_BASE = "https://strata.dev/problems/";

/** The problem this app's proxy answers with when the API does not answer at all. */
export const API_UNREACHABLE_PROBLEM = `${PROBLEM_TYPE_BASE}api-unreachable`;
