import createClient, { type Client, type Middleware } from "openapi-fetch";
import { chatApi, type ChatApi } from "./chat.js";
import { StrataApiError, StrataNetworkError } from "./errors.js";
import { watchTrainingJob, type WatchOptions } from "./events.js";
import type {
  CreateApiKeyRequest,
  CreatedApiKey,
  CreateTrainingJob,
  CreateUserRequest,
  Dataset,
  DatasetList,
  DatasetUploadMetadata,
  EmbeddingsResponse,
  EmbeddingVector,
  JobState,
  Model,
  ModelList,
  paths,
  PredictRequest,
  PredictResponse,
  Principal,
  PrincipalEntry,
  SetPasswordRequest,
  SystemInfo,
  TokenRequest,
  TokenResponse,
  TrainingEvent,
  TrainingJob,
  TrainingJobList,
} from "./generated/schema.js";

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

/** Options every call takes. */
export interface CallOptions {
  signal?: AbortSignal | undefined;
}

/** One page of a listing. */
export interface PageOptions extends CallOptions {
  /** At most this many results (server default 50, capped at 500). */
  pageSize?: number | undefined;
  /** `next_page_token` of the previous page. */
  pageToken?: string | undefined;
}

export interface JobFilter extends PageOptions {
  state?: JobState | undefined;
  modelName?: string | undefined;
}

/** The file part of a dataset upload: a Blob (or File) and the name it is sent under. */
export interface UploadFile {
  data: Blob;
  fileName?: string | undefined;
}

export interface StrataClient {
  /** The typed openapi-fetch client, for endpoints without a helper below; pair it with `unwrap`. */
  readonly raw: Client<paths>;
  /** Replaces the token source used from the next request on (`undefined` signs out). */
  setToken(token: TokenSource | undefined): void;

  /** `GET /v1/system`: versions and device of the API and the ML service behind it. */
  getSystemInfo(init?: CallOptions): Promise<SystemInfo>;
  /** `GET /healthz`: resolves when the API process is alive. */
  healthz(init?: CallOptions): Promise<string>;
  /**
   * `GET /readyz`: resolves when the API can reach the ML service, with its plain-text details:
   * `ready`, `device: <device>` and, after an `auto` fallback to the CPU, `device_note: <why>`.
   */
  readyz(init?: CallOptions): Promise<string>;

  /** `POST /v1/auth/token`: exchanges a password or API key for a bearer token. */
  createToken(credentials: TokenRequest, init?: CallOptions): Promise<TokenResponse>;
  /** `GET /v1/auth/me`: who the current token belongs to. */
  getCurrentPrincipal(init?: CallOptions): Promise<Principal>;
  /** `GET /v1/auth/principals` (admin): every user and API key with its role. */
  listPrincipals(init?: CallOptions): Promise<PrincipalEntry[]>;
  /** `POST /v1/auth/users` (admin): adds a user (password of 12-256 characters). */
  createUser(user: CreateUserRequest, init?: CallOptions): Promise<Principal>;
  /** `DELETE /v1/auth/users/{name}` (admin); never the last admin (409). Ends the user's tokens. */
  deleteUser(name: string, init?: CallOptions): Promise<void>;
  /**
   * `PUT /v1/auth/users/{name}/password`: one's own with `current_password`, or anyone's as an
   * admin. Every token the user holds stops working, the caller's own included.
   */
  setUserPassword(name: string, request: SetPasswordRequest, init?: CallOptions): Promise<void>;
  /** `POST /v1/auth/api-keys` (admin): the key is in the answer and nowhere else, ever. */
  createApiKey(key: CreateApiKeyRequest, init?: CallOptions): Promise<CreatedApiKey>;
  /** `DELETE /v1/auth/api-keys/{name}` (admin): revokes a key and the tokens it was exchanged for. */
  deleteApiKey(name: string, init?: CallOptions): Promise<void>;

  /** `GET /v1/datasets`, newest first. */
  listDatasets(init?: PageOptions): Promise<DatasetList>;
  /** `GET /v1/datasets/{id}`. */
  getDataset(id: string, init?: CallOptions): Promise<Dataset>;
  /** `POST /v1/datasets` (multipart: `metadata` JSON first, then the Parquet `file`). */
  uploadDataset(metadata: DatasetUploadMetadata, file: UploadFile, init?: CallOptions): Promise<Dataset>;
  /** `DELETE /v1/datasets/{id}` (admin). */
  deleteDataset(id: string, init?: CallOptions): Promise<void>;

  /** `GET /v1/training-jobs`, newest first. */
  listTrainingJobs(init?: JobFilter): Promise<TrainingJobList>;
  /** `POST /v1/training-jobs`: queues a job. */
  createTrainingJob(job: CreateTrainingJob, init?: CallOptions): Promise<TrainingJob>;
  /** `GET /v1/training-jobs/{id}`. */
  getTrainingJob(id: string, init?: CallOptions): Promise<TrainingJob>;
  /** `POST /v1/training-jobs/{id}:cancel`. */
  cancelTrainingJob(id: string, init?: CallOptions): Promise<TrainingJob>;
  /**
   * Follows `GET /v1/training-jobs/{id}/events` (SSE) until the job ends, reconnecting with
   * `Last-Event-ID` after a dropped connection so no event is lost or repeated.
   */
  watchTrainingJob(id: string, options?: WatchOptions): AsyncGenerator<TrainingEvent, void, undefined>;

  /** `GET /v1/models`. */
  listModels(init?: PageOptions): Promise<ModelList>;
  /** `GET /v1/models/{name}`: versions (oldest first) and aliases. */
  getModel(name: string, init?: CallOptions): Promise<Model>;
  /** `PUT /v1/models/{name}/aliases/{alias}`: points an alias at a version. */
  setModelAlias(name: string, alias: string, version: string, init?: CallOptions): Promise<Model>;
  /** `DELETE /v1/models/{name}/versions/{version}` (admin). */
  deleteModelVersion(name: string, version: string, init?: CallOptions): Promise<void>;
  /** `POST /v1/models/{name}:predict`; `model` is `name`, `name@version` or `name@alias`. */
  predict(model: string, request: PredictRequest, init?: CallOptions): Promise<PredictResponse>;
  /** `POST /v1/embeddings` with float vectors, returned in input order. */
  createEmbeddings(model: string, input: string | string[], init?: CallOptions): Promise<Embeddings>;

  /**
   * `POST /v1/chat/completions` with a text-generator model: `chat.stream` yields the answer's
   * text as it is generated (Server-Sent Events), `chat.complete` returns it whole.
   */
  readonly chat: ChatApi;
}

/** Embeddings with their vectors decoded, in input order. */
export interface Embeddings {
  /** `name@version` that answered. */
  model: string;
  vectors: number[][];
  usage: EmbeddingsResponse["usage"];
}

/**
 * A vector as `POST /v1/embeddings` sends it: JSON numbers, or base64 of little-endian float32
 * (OpenAI's `encoding_format: "base64"`).
 */
export function decodeEmbedding(vector: EmbeddingVector): number[] {
  if (Array.isArray(vector)) return vector;
  const bytes = Uint8Array.from(atob(vector), (c) => c.charCodeAt(0));
  if (bytes.length % 4 !== 0) throw new TypeError(`a base64 embedding of ${bytes.length} bytes is not float32`);
  const view = new DataView(bytes.buffer);
  return Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
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
  const page = (init: PageOptions) => ({
    ...(init.pageSize !== undefined ? { page_size: init.pageSize } : {}),
    ...(init.pageToken ? { page_token: init.pageToken } : {}),
  });

  const client: StrataClient = {
    raw,
    setToken(next) {
      token = next;
    },
    getSystemInfo: (init = {}) => unwrap(raw.GET("/v1/system", { signal: init.signal })),
    healthz: (init = {}) => unwrap(raw.GET("/healthz", { signal: init.signal, parseAs: "text" })),
    readyz: (init = {}) => unwrap(raw.GET("/readyz", { signal: init.signal, parseAs: "text" })),

    createToken: (credentials, init = {}) =>
      unwrap(raw.POST("/v1/auth/token", { body: credentials, signal: init.signal })),
    getCurrentPrincipal: (init = {}) => unwrap(raw.GET("/v1/auth/me", { signal: init.signal })),
    listPrincipals: (init = {}) => unwrap(raw.GET("/v1/auth/principals", { signal: init.signal })),
    createUser: (user, init = {}) => unwrap(raw.POST("/v1/auth/users", { body: user, signal: init.signal })),
    deleteUser: (name, init = {}) =>
      unwrap(raw.DELETE("/v1/auth/users/{name}", { params: { path: { name } }, signal: init.signal })).then(() => undefined),
    setUserPassword: (name, request, init = {}) =>
      unwrap(
        raw.PUT("/v1/auth/users/{name}/password", { params: { path: { name } }, body: request, signal: init.signal }),
      ).then(() => undefined),
    createApiKey: (key, init = {}) => unwrap(raw.POST("/v1/auth/api-keys", { body: key, signal: init.signal })),
    deleteApiKey: (name, init = {}) =>
      unwrap(raw.DELETE("/v1/auth/api-keys/{name}", { params: { path: { name } }, signal: init.signal })).then(
        () => undefined,
      ),

    listDatasets: (init = {}) =>
      unwrap(raw.GET("/v1/datasets", { params: { query: page(init) }, signal: init.signal })),
    getDataset: (id, init = {}) =>
      unwrap(raw.GET("/v1/datasets/{id}", { params: { path: { id } }, signal: init.signal })),
    uploadDataset: (metadata, file, init = {}) => {
      // The API reads `metadata` before the file streams past, so the order of parts matters.
      const form = new FormData();
      form.append("metadata", JSON.stringify(metadata));
      form.append("file", file.data, file.fileName ?? "data.parquet");
      return unwrap(
        raw.POST("/v1/datasets", {
          // The generated type describes the parts; the wire format is the FormData built above.
          body: form as unknown as paths["/v1/datasets"]["post"]["requestBody"]["content"]["multipart/form-data"],
          bodySerializer: (body) => body as unknown as FormData,
          signal: init.signal,
        }),
      );
    },
    deleteDataset: (id, init = {}) =>
      unwrap(raw.DELETE("/v1/datasets/{id}", { params: { path: { id } }, signal: init.signal })).then(() => undefined),

    listTrainingJobs: (init = {}) =>
      unwrap(
        raw.GET("/v1/training-jobs", {
          params: {
            query: {
              ...page(init),
              ...(init.state ? { state: init.state } : {}),
              ...(init.modelName ? { model_name: init.modelName } : {}),
            },
          },
          signal: init.signal,
        }),
      ),
    createTrainingJob: (job, init = {}) => unwrap(raw.POST("/v1/training-jobs", { body: job, signal: init.signal })),
    getTrainingJob: (id, init = {}) =>
      unwrap(raw.GET("/v1/training-jobs/{id}", { params: { path: { id } }, signal: init.signal })),
    cancelTrainingJob: (id, init = {}) =>
      unwrap(raw.POST("/v1/training-jobs/{id}:cancel", { params: { path: { id } }, signal: init.signal })),
    watchTrainingJob: (id, watch = {}) => watchTrainingJob(raw, id, watch),

    listModels: (init = {}) => unwrap(raw.GET("/v1/models", { params: { query: page(init) }, signal: init.signal })),
    getModel: (name, init = {}) =>
      unwrap(raw.GET("/v1/models/{name}", { params: { path: { name } }, signal: init.signal })),
    setModelAlias: (name, alias, version, init = {}) =>
      unwrap(
        raw.PUT("/v1/models/{name}/aliases/{alias}", {
          params: { path: { name, alias } },
          body: { version },
          signal: init.signal,
        }),
      ),
    deleteModelVersion: (name, version, init = {}) =>
      unwrap(
        raw.DELETE("/v1/models/{name}/versions/{version}", { params: { path: { name, version } }, signal: init.signal }),
      ).then(() => undefined),
    predict: (model, request, init = {}) =>
      unwrap(raw.POST("/v1/models/{name}:predict", { params: { path: { name: model } }, body: request, signal: init.signal })),
    createEmbeddings: async (model, input, init = {}) => {
      const response = await unwrap(
        raw.POST("/v1/embeddings", { body: { model, input, encoding_format: "float" }, signal: init.signal }),
      );
      const vectors: number[][] = [];
      for (const item of response.data) vectors[item.index] = decodeEmbedding(item.embedding);
      return { model: response.model, vectors, usage: response.usage };
    },
    chat: chatApi(raw),
  };
  return client;
}
