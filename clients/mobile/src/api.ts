/**
 * The one place the app makes a `@strata/client`: every request, the event stream included, goes
 * through it, with the bearer token read from the session.
 *
 * Why `expo/fetch`: React Native's built-in fetch (whatwg-fetch over XMLHttpRequest) buffers the
 * whole body, so a Server-Sent Events response would only arrive when the job ends. Expo's
 * WinterCG fetch streams the body as a `ReadableStream` on iOS and Android (and Expo's runtime
 * installs `TextDecoderStream`, which `watchTrainingJob` pipes through), so the client's own
 * `watchTrainingJob` (Last-Event-ID resume, backoff, terminal states) works unchanged; on the web
 * export `expo/fetch` is the browser's fetch, which streams already. `react-native-sse` would mean
 * a second SSE implementation beside the client's, with its own reconnect rules.
 */
import { createStrataClient, type StrataClient, type TokenSource } from "@strata/client";
import { fetch as expoFetch } from "expo/fetch";

export type FetchLike = (input: Request) => Promise<Response>;

/** expo/fetch's Response type is its own class; it implements what openapi-fetch reads. */
const streamingFetch: FetchLike = (input) => expoFetch(input as never) as unknown as Promise<Response>;

let fetchOverride: FetchLike | undefined;

/** Tests replace the transport (recorded answers); the app never calls this. */
export function setFetchForTests(fetch: FetchLike | undefined): void {
  fetchOverride = fetch;
}

export function makeClient(baseUrl: string, token: TokenSource | undefined): StrataClient {
  return createStrataClient({
    baseUrl,
    token,
    // Resolved per request so a test can swap the transport after the client exists.
    fetch: (request) => (fetchOverride ?? streamingFetch)(request),
  });
}
