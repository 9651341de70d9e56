/** The path on this app's origin under which the browser reaches the strata API. */
export const API_PREFIX = "/api";

/** Where the API is when STRATA_API_URL is not set: the dev stack's default. */
export const DEFAULT_API_URL = "http://127.0.0.1:8080";

/**
 * The httpOnly cookie that holds the API's bearer token. Page scripts never see the token: the
 * `/api` proxy reads the cookie and sends `Authorization: Bearer` to the API on the browser's behalf.
 * The `__Host-` prefix makes browsers accept it only Secure, with Path=/ and no Domain: a sibling
 * subdomain or a plain-HTTP page cannot set or overwrite it (session fixation).
 */
export const SESSION_COOKIE = "__Host-strata_session";

/** Where the sign-in form posts and sign-out deletes (a route handler, not part of the API). */
export const SESSION_PATH = "/session";

/** How often the System panel refreshes while open. */
export const SYSTEM_REFRESH_MS = 5_000;

/** How often the API status banner checks `/readyz`. */
export const STATUS_REFRESH_MS = 10_000;

/** How often job and model listings refresh while a job may be running. */
export const LIST_REFRESH_MS = 3_000;

/** Page size of the listings (the API caps it at 500). */
export const LIST_PAGE_SIZE = 100;

/** Prefix of the API's problem `type` URIs; the suffix is a stable slug (services/strata-api error.rs). */
export const PROBLEM_TYPE_BASE = "https://strata.dev/problems/";

/** The problem this app's proxy answers with when the API does not answer at all. */
export const API_UNREACHABLE_PROBLEM = `${PROBLEM_TYPE_BASE}api-unreachable`;

/** The problem this app's proxy answers with when a state-changing request comes from another origin. */
export const CROSS_ORIGIN_PROBLEM = `${PROBLEM_TYPE_BASE}cross-origin`;

/** The problem of a request this app's own routes cannot read (not JSON, fields missing). */
export const BAD_REQUEST_PROBLEM = `${PROBLEM_TYPE_BASE}bad-request`;

/** The problem of a body over the limit of this app's own routes (the API's slug for the same). */
export const PAYLOAD_TOO_LARGE_PROBLEM = `${PROBLEM_TYPE_BASE}payload-too-large`;
