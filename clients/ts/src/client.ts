import createClient, { type Client, type Middleware } from "openapi-fetch";
import { StrataApiError, StrataNetworkError } from "./errors.js";
import type { paths, SystemInfo } from "./generated/schema.js";

/** A bearer token, or a function that returns the current one (called before every request). */
export type TokenSource = string | (() => string | null | undefined | Promise<string | null | undefined>);

export interface StrataClientOptions {
  /**
   * Where the API lives: an absolute URL (`http://127.0.0.1:8080`) or, in a browser, a path on the
   * page's own origin (`/api`) that the web server forwards to the API.
   */
  baseUrl: string;
  /** Bearer token sent as `Authorization: Bearer <token>`; absent or empty means no header. */
  token?: TokenSource | undefined;
  /** fetch to use; defaults to the global one. Tests and server-side callers may pass their own. */
  fetch?: ((input: Request) => Promise<Response>) | undefined;
  /** Headers sent with every request. */
  headers?: Record<string, string> | undefined;
}

/** What every openapi-fetch call resolves to, reduced to the parts `unwrap` reads. */
interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/**
 * Waits for an openapi-fetch call and returns its data, turning an error status into
 * `StrataApiError` and a failed connection into `StrataNetworkError`. Aborts are re-thrown as they
 * are, so callers can tell a cancelled request from a failed one.
 */
export async function unwrap<T>(call: Promise<FetchResult<T>>): Promise<T> {
  let result: FetchResult<T>;
  try {
    result = await call;
  } catch (error) {
    if (error instanceof Error && error.name === "AbortError") throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new StrataNetworkError(`Could not reach the strata API: ${reason}`, { cause: error });
  }
  const { data, error, response } = result;
  if (!response.ok || error !== undefined) {
    throw StrataApiError.fromResponse(response, error);
  }
  return data as T;
}

/** Adds the bearer token, read afresh for every request so a refreshed token is picked up. */
function bearerAuth(getToken: () => TokenSource | undefined): Middleware {
  return {
    async onRequest({ request }) {
      const source = getToken();
      const token = typeof source === "function" ? await source() : source;
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  };
}

export interface StrataClient {
  /** The typed openapi-fetch client, for endpoints without a helper below; pair it with `unwrap`. */
  readonly raw: Client<paths>;
  /** Replaces the token source used from the next request on (`undefined` signs out). */
  setToken(token: TokenSource | undefined): void;
  /** `GET /v1/system`: versions and device of the API and the ML service behind it. */
  getSystemInfo(init?: { signal?: AbortSignal }): Promise<SystemInfo>;
  /** `GET /healthz`: resolves when the API process is alive. */
  healthz(init?: { signal?: AbortSignal }): Promise<string>;
  /**
   * `GET /readyz`: resolves when the API can reach the ML service, with its plain-text details:
   * `ready`, `device: <device>` and, after an `auto` fallback to the CPU, `device_note: <why>`.
   */
  readyz(init?: { signal?: AbortSignal }): Promise<string>;
}

export function createStrataClient(options: StrataClientOptions): StrataClient {
  let token = options.token;
  const raw = createClient<paths>({
    // openapi-fetch joins baseUrl and path as strings; a trailing slash would double up.
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
  });
  raw.use(bearerAuth(() => token));

  return {
    raw,
    setToken(next) {
      token = next;
    },
    getSystemInfo: (init = {}) => unwrap(raw.GET("/v1/system", { ...init })),
    healthz: (init = {}) => unwrap(raw.GET("/healthz", { ...init, parseAs: "text" })),
    readyz: (init = {}) => unwrap(raw.GET("/readyz", { ...init, parseAs: "text" })),
  };
}
