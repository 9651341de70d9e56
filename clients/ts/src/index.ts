/**
 * @strata/client: the typed client of the strata REST API.
 *
 * The types in `generated/schema.ts` come from `services/strata-api/openapi.json` and are never
 * edited by hand; this package adds only what a spec cannot say: how tokens are attached, how
 * failures surface (`StrataApiError` for problem+json answers, `StrataNetworkError` for no answer),
 * how multipart uploads and base64 embeddings are encoded, and how a job's Server-Sent Events are
 * followed across reconnects (`watchTrainingJob`), how a chat answer streams in (`chat.stream`),
 * and how embeddings compare (`cosine`).
 */
export { createStrataClient, decodeEmbedding, unwrap } from "./client.js";
export { sseData } from "./chat.js";
export type { ChatApi, ChatCallOptions, ChatCompletionChunk, ChatRequest, ChatResult, ChatStream } from "./chat.js";
export { cosine } from "./similarity.js";
export type {
  CallOptions,
  Embeddings,
  JobFilter,
  PageOptions,
  StrataClient,
  StrataClientOptions,
  TokenSource,
  UploadFile,
} from "./client.js";
export {
  StrataApiError,
  StrataNetworkError,
  isStrataApiError,
  isStrataNetworkError,
  parseRetryAfter,
  toProblem,
} from "./errors.js";
export {
  StreamInterruptedError,
  TERMINAL_JOB_STATES,
  isRetryableWatchError,
  isTerminalJobState,
  watchTrainingJob,
} from "./events.js";
export type { WatchOptions } from "./events.js";
export type * from "./generated/schema.js";
