/**
 * A recorded strata API for component tests: the app's real @strata/client runs, and only the
 * transport under it (fetch) answers from these routes, with the bodies and problem+json the real
 * API sends. Every request is kept so a test can check what the app asked for.
 */
import { render, screen } from "@testing-library/react-native";
import * as SecureStore from "expo-secure-store";
import type { ReactElement } from "react";
import App from "../App";
import { SessionProvider, useSession } from "../src/session";
import { setFetchForTests } from "../src/api";

export const BASE = "http://10.0.2.2:8080";
export type Handler = (request: Request, url: URL) => Response | Promise<Response>;

export interface RecordedApi {
  requests: Request[];
  /** Requests whose path (with query) starts with `prefix`. */
  calls(method: string, prefix: string): Request[];
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

export function problem(status: number, title: string, detail?: string, headers: Record<string, string> = {}): Response {
  const body = { type: "about:blank", title, status, ...(detail ? { detail } : {}) };
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/problem+json", ...headers } });
}

/** A text/event-stream body that sends `chunks` and then, unless `hang`, ends. */
export function eventStream(chunks: string[], options: { hang?: boolean } = {}): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      for (const chunk of chunks) {
        await Promise.resolve();
        controller.enqueue(encoder.encode(chunk));
      }
      if (!options.hang) controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
}

export function sse(event: { sequence: number; kind: string; job: unknown }): string {
  return `id: ${event.sequence}\nevent: ${event.kind}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** Routes keyed "METHOD /path" (the path without query); the first matching prefix wins. */
export function recordApi(routes: Record<string, Handler>): RecordedApi {
  const requests: Request[] = [];
  setFetchForTests(async (request) => {
    requests.push(request.clone());
    const url = new URL(request.url);
    const key = `${request.method} ${url.pathname}`;
    const route = Object.entries(routes).find(([pattern]) => key === pattern || (pattern.endsWith("*") && key.startsWith(pattern.slice(0, -1))));
    if (!route) return problem(404, "Not Found", `no recorded answer for ${key}`);
    return route[1](request, url);
  });
  return {
    requests,
    calls: (method, prefix) =>
      requests.filter((r) => {
        const url = new URL(r.url);
        return r.method === method && `${url.pathname}${url.search}`.startsWith(prefix);
      }),
  };
}

/** The app as it opens after an earlier sign-in on this device (token in secure storage). */
export async function renderSignedIn(options: { waitForHeader?: boolean } = {}): Promise<void> {
  await SecureStore.setItemAsync("strata.baseUrl", BASE);
  await SecureStore.setItemAsync("strata.username", "ada");
  await SecureStore.setItemAsync("strata.token", "token-1");
  render(<App />);
  if (options.waitForHeader ?? true) await screen.findByText("ada");
}

export const digitsModel = {
  name: "digits",
  aliases: { production: "v2" },
  versions: [
    { version: "v1", kind: "mlp-classifier", size_bytes: 20480, hyperparameters: {}, io_schema: { input: { type: "features", dim: 64 } }, created_at: "2026-12-01T10:00:00Z", test_metrics: { accuracy: 0.912, macro_f1: 0.905, loss: 0.31, confusion_matrix: [] } },
    { version: "v2", kind: "mlp-classifier", size_bytes: 40960, hyperparameters: {}, io_schema: { input: { type: "features", dim: 64 } }, created_at: "2026-12-02T10:00:00Z", test_metrics: { accuracy: 0.964, macro_f1: 0.962, loss: 0.12, confusion_matrix: [] } },
  ],
};

export const minilm = {
  name: "minilm",
  aliases: {},
  versions: [{ version: "v1", kind: "text-encoder", size_bytes: 90_000_000, hyperparameters: {}, io_schema: { input: { type: "text" }, output: { type: "embedding", dim: 384 } } }],
};

/** Renders one screen inside a signed-in session, as the app does once the saved session is read. */
export async function renderScreen(element: ReactElement): Promise<void> {
  await SecureStore.setItemAsync("strata.baseUrl", BASE);
  await SecureStore.setItemAsync("strata.username", "ada");
  await SecureStore.setItemAsync("strata.token", "token-1");
  function SignedInOnly() {
    const { state } = useSession();
    return state.status === "signedIn" ? element : null;
  }
  render(
    <SessionProvider>
      <SignedInOnly />
    </SessionProvider>,
  );
}

afterEach(() => setFetchForTests(undefined));
