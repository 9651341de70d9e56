import { afterEach, describe, expect, it } from "vitest";
import {
  createStrataClient,
  decodeEmbedding,
  StrataApiError,
  StrataNetworkError,
  type SystemInfo,
} from "../src/index.js";
import { closedPort, sendJson, startServer, type TestServer } from "./server.js";

const SYSTEM: SystemInfo = {
  api_version: "0.1.0",
  ml: {
    service: "strata-ml",
    version: "0.1.0",
    device: "cpu",
    cuda_compiled: false,
    device_note: "",
    uptime_seconds: 42,
    model_kinds: ["mlp-classifier", "text-encoder"],
    kinds: [
      {
        name: "mlp-classifier",
        title: "MLP classifier",
        description: "Feature vector to class.",
        input: "features",
        trainable: true,
        base_model: "none",
        parameters: { type: "object", properties: { hidden: { type: "array", items: { type: "integer" } } }, additionalProperties: false },
      },
    ],
    hyperparameters: { type: "object", properties: { epochs: { type: "integer", default: 30 } }, additionalProperties: false },
  },
};

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("getSystemInfo", () => {
  it("returns the system info the API sends", async () => {
    server = await startServer((req, res) => {
      if (req.method === "GET" && req.url === "/v1/system") sendJson(res, 200, SYSTEM);
      else sendJson(res, 404, { type: "about:blank", title: "Not Found", status: 404 });
    });
    // A trailing slash on the base URL must not produce `//v1/system`.
    const client = createStrataClient({ baseUrl: `${server.baseUrl}/` });

    await expect(client.getSystemInfo()).resolves.toEqual(SYSTEM);
    expect(server.requests.map((r) => r.url)).toEqual(["/v1/system"]);
  });

  it("turns a 503 problem+json into a StrataApiError with every problem field", async () => {
    server = await startServer((_req, res) => {
      res.writeHead(503, { "content-type": "application/problem+json", "retry-after": "5" });
      res.end(
        JSON.stringify({
          type: "https://strata.invalid/problems/ml-unavailable",
          title: "ML service unavailable",
          status: 503,
          detail: "connection refused",
          instance: "/v1/system",
        }),
      );
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    const error = await client.getSystemInfo().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StrataApiError);
    const apiError = error as StrataApiError;
    expect(apiError.status).toBe(503);
    expect(apiError.type).toBe("https://strata.invalid/problems/ml-unavailable");
    expect(apiError.title).toBe("ML service unavailable");
    expect(apiError.detail).toBe("connection refused");
    expect(apiError.instance).toBe("/v1/system");
    expect(apiError.retryAfterSeconds).toBe(5);
    expect(apiError.message).toBe("ML service unavailable: connection refused");
  });

  it("derives a problem from the status line when a proxy answers with HTML", async () => {
    server = await startServer((_req, res) => {
      res.writeHead(502, "Bad Gateway", { "content-type": "text/html" });
      res.end("<html><body><h1>502 Bad Gateway</h1></body></html>");
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    const error = (await client.getSystemInfo().catch((e: unknown) => e)) as StrataApiError;
    expect(error).toBeInstanceOf(StrataApiError);
    expect(error.problem).toEqual({ type: "about:blank", title: "Bad Gateway", status: 502 });
    expect(error.retryAfterSeconds).toBeUndefined();
  });

  it("keeps a plain-text error body as the detail", async () => {
    server = await startServer((_req, res) => {
      res.writeHead(500, "Internal Server Error", { "content-type": "text/plain" });
      res.end("database is locked\n");
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    const error = (await client.getSystemInfo().catch((e: unknown) => e)) as StrataApiError;
    expect(error.status).toBe(500);
    expect(error.title).toBe("Internal Server Error");
    expect(error.detail).toBe("database is locked");
  });

  it("reports a refused connection as a StrataNetworkError", async () => {
    const port = await closedPort();
    const client = createStrataClient({ baseUrl: `http://127.0.0.1:${port}` });

    const error = await client.getSystemInfo().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StrataNetworkError);
    expect((error as Error).message).toMatch(/^Could not reach the strata API/);
  });

  it("re-throws an abort unchanged", async () => {
    server = await startServer(() => {
      // Never answer: only the abort can end the request.
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });
    const controller = new AbortController();

    const pending = client.getSystemInfo({ signal: controller.signal }).catch((e: unknown) => e);
    controller.abort();
    const error = await pending;
    expect(error).not.toBeInstanceOf(StrataNetworkError);
    expect((error as Error).name).toBe("AbortError");
  });
});

describe("bearer token", () => {
  async function authorizationHeaders(configure: (client: ReturnType<typeof createStrataClient>) => Promise<void>) {
    server = await startServer((_req, res) => sendJson(res, 200, SYSTEM));
    const client = createStrataClient({ baseUrl: server.baseUrl });
    await configure(client);
    return server.requests.map((r) => r.headers.authorization);
  }

  it("sends no Authorization header without a token", async () => {
    expect(await authorizationHeaders((c) => c.getSystemInfo().then(() => {}))).toEqual([undefined]);
  });

  it("sends a fixed token, a token from an async source, and follows setToken", async () => {
    const headers = await authorizationHeaders(async (client) => {
      client.setToken("fixed");
      await client.getSystemInfo();
      let current = "first";
      client.setToken(async () => current);
      await client.getSystemInfo();
      current = "refreshed";
      await client.getSystemInfo();
      client.setToken(undefined);
      await client.getSystemInfo();
    });
    expect(headers).toEqual(["Bearer fixed", "Bearer first", "Bearer refreshed", undefined]);
  });

  it("takes the token from the options", async () => {
    server = await startServer((_req, res) => sendJson(res, 200, SYSTEM));
    const client = createStrataClient({ baseUrl: server.baseUrl, token: () => "from-options" });
    await client.getSystemInfo();
    expect(server.requests[0]?.headers.authorization).toBe("Bearer from-options");
  });
});

describe("probes", () => {
  it("reads the plain-text bodies of /healthz and /readyz", async () => {
    server = await startServer((req, res) => {
      if (req.url === "/healthz") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("ok");
      } else {
        res.writeHead(503, { "content-type": "application/problem+json" });
        res.end(JSON.stringify({ type: "about:blank", title: "Service Unavailable", status: 503 }));
      }
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    await expect(client.healthz()).resolves.toBe("ok");
    const error = (await client.readyz().catch((e: unknown) => e)) as StrataApiError;
    expect(error).toBeInstanceOf(StrataApiError);
    expect(error.status).toBe(503);
    expect(error.title).toBe("Service Unavailable");
  });
});

/** Reads a request body in full. */
function readBody(req: import("node:http").IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

describe("endpoint helpers", () => {
  it("uploads a dataset as multipart with metadata before the file", async () => {
    let parts: { name: string; value: string; fileName?: string }[] = [];
    let contentType = "";
    let rawBody = "";
    server = await startServer(async (req, res) => {
      contentType = req.headers["content-type"] ?? "";
      const body = await readBody(req);
      rawBody = body.toString("latin1");
      // undici's multipart parser, so the test does not trust the client's own encoding.
      const form = await new Request("http://x/", { method: "POST", headers: { "content-type": contentType }, body: new Uint8Array(body) }).formData();
      parts = [];
      for (const [name, value] of form.entries()) {
        parts.push(
          typeof value === "string" ? { name, value } : { name, value: await value.text(), fileName: value.name },
        );
      }
      sendJson(res, 201, { id: "ds-1" });
    });
    const client = createStrataClient({ baseUrl: server.baseUrl, token: "t" });

    const dataset = await client.uploadDataset(
      { name: "digits", description: "8x8", schema: { label_column: "label" } },
      { data: new Blob([new Uint8Array([80, 65, 82, 49])]), fileName: "digits.parquet" },
    );

    expect(dataset).toEqual({ id: "ds-1" });
    expect(contentType).toMatch(/^multipart\/form-data; boundary=/);
    expect(server.requests[0]?.headers.authorization).toBe("Bearer t");
    expect(parts).toEqual([
      { name: "metadata", value: JSON.stringify({ name: "digits", description: "8x8", schema: { label_column: "label" } }) },
      { name: "file", value: "PAR1", fileName: "digits.parquet" },
    ]);
    expect(rawBody.indexOf('name="metadata"')).toBeLessThan(rawBody.indexOf('name="file"'));
  });

  it("encodes model references in the predict path and sends the body as JSON", async () => {
    let body = "";
    server = await startServer(async (req, res) => {
      body = (await readBody(req)).toString();
      sendJson(res, 200, { model: "digits@v2", predictions: [{ class_index: 1, label: "1", probabilities: [0, 1] }] });
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    const answer = await client.predict("digits@production", { features: [[0, 16]] });

    expect(answer.predictions[0]?.label).toBe("1");
    expect(server.requests[0]?.method).toBe("POST");
    expect(decodeURIComponent(server.requests[0]?.url ?? "")).toBe("/v1/models/digits@production:predict");
    expect(JSON.parse(body)).toEqual({ features: [[0, 16]] });
  });

  it("points an alias with PUT and a version body", async () => {
    let body = "";
    server = await startServer(async (req, res) => {
      body = (await readBody(req)).toString();
      sendJson(res, 200, { name: "digits", aliases: { production: "v1" }, versions: [] });
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    const model = await client.setModelAlias("digits", "production", "v1");

    expect(model.aliases).toEqual({ production: "v1" });
    expect(server.requests[0]?.method).toBe("PUT");
    expect(server.requests[0]?.url).toBe("/v1/models/digits/aliases/production");
    expect(JSON.parse(body)).toEqual({ version: "v1" });
  });

  it("asks for float embeddings and returns the vectors in input order", async () => {
    let body = "";
    server = await startServer(async (req, res) => {
      body = (await readBody(req)).toString();
      sendJson(res, 200, {
        object: "list",
        model: "minilm@v1",
        // Out of order on purpose: `index` is what places a vector.
        data: [
          { object: "embedding", index: 1, embedding: [0, 1] },
          { object: "embedding", index: 0, embedding: [1, 0] },
        ],
        usage: { prompt_tokens: 7, total_tokens: 7 },
      });
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    const result = await client.createEmbeddings("minilm", ["a", "b"]);

    expect(JSON.parse(body)).toEqual({ model: "minilm", input: ["a", "b"], encoding_format: "float" });
    expect(result).toEqual({ model: "minilm@v1", vectors: [[1, 0], [0, 1]], usage: { prompt_tokens: 7, total_tokens: 7 } });
  });

  it("lists jobs with paging and filters as query parameters", async () => {
    server = await startServer((_req, res) => sendJson(res, 200, { jobs: [] }));
    const client = createStrataClient({ baseUrl: server.baseUrl });

    await client.listTrainingJobs({ pageSize: 20, pageToken: "p2", state: "running", modelName: "digits" });
    await client.listDatasets();

    const first = new URL(server.requests[0]?.url ?? "", "http://x");
    expect(first.pathname).toBe("/v1/training-jobs");
    expect(Object.fromEntries(first.searchParams)).toEqual({
      page_size: "20",
      page_token: "p2",
      state: "running",
      model_name: "digits",
    });
    expect(server.requests[1]?.url).toBe("/v1/datasets");
  });

  it("resolves deletes (204, no body) to undefined and cancels with the :cancel action", async () => {
    server = await startServer((req, res) => {
      if (req.method === "DELETE") {
        res.writeHead(204);
        res.end();
      } else sendJson(res, 200, { id: "job-1", state: "cancelled" });
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    await expect(client.deleteDataset("ds-1")).resolves.toBeUndefined();
    await expect(client.deleteModelVersion("digits", "v1")).resolves.toBeUndefined();
    await expect(client.cancelTrainingJob("job-1")).resolves.toMatchObject({ state: "cancelled" });
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      "DELETE /v1/datasets/ds-1",
      "DELETE /v1/models/digits/versions/v1",
      "POST /v1/training-jobs/job-1:cancel",
    ]);
  });

  it("manages users and API keys with the admin endpoints", async () => {
    server = await startServer(async (req, res) => {
      const body = (await readBody(req)).toString();
      if (req.method === "DELETE" || req.method === "PUT") {
        res.writeHead(204);
        res.end();
      } else if (req.url === "/v1/auth/api-keys") sendJson(res, 201, { ...JSON.parse(body), api_key: "strata_secret" });
      else if (req.url === "/v1/auth/users") sendJson(res, 201, { name: JSON.parse(body).username, role: JSON.parse(body).role });
      else sendJson(res, 200, [{ kind: "api_key", name: "ci", role: "trainer" }]);
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    await expect(client.createUser({ username: "ann", password: "a-long-password", role: "viewer" })).resolves.toEqual({ name: "ann", role: "viewer" });
    await expect(client.createApiKey({ name: "ci", role: "trainer" })).resolves.toEqual({ name: "ci", role: "trainer", api_key: "strata_secret" });
    await expect(client.listPrincipals()).resolves.toEqual([{ kind: "api_key", name: "ci", role: "trainer" }]);
    await expect(client.setUserPassword("ann", { new_password: "another-long-one" })).resolves.toBeUndefined();
    await expect(client.deleteUser("ann")).resolves.toBeUndefined();
    await expect(client.deleteApiKey("ci")).resolves.toBeUndefined();
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      "POST /v1/auth/users",
      "POST /v1/auth/api-keys",
      "GET /v1/auth/principals",
      "PUT /v1/auth/users/ann/password",
      "DELETE /v1/auth/users/ann",
      "DELETE /v1/auth/api-keys/ci",
    ]);
  });

  it("exchanges a password for a token", async () => {
    let body = "";
    server = await startServer(async (req, res) => {
      body = (await readBody(req)).toString();
      if (JSON.parse(body).password === "right") sendJson(res, 200, { access_token: "jwt", token_type: "Bearer", expires_in: 3600 });
      else {
        res.writeHead(401, { "content-type": "application/problem+json" });
        res.end(JSON.stringify({ type: "https://strata.dev/problems/unauthenticated", title: "Unauthenticated", status: 401, detail: "wrong username or password" }));
      }
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    await expect(client.createToken({ username: "admin", password: "right" })).resolves.toMatchObject({ access_token: "jwt" });
    const error = (await client.createToken({ username: "admin", password: "wrong" }).catch((e: unknown) => e)) as StrataApiError;
    expect(error).toBeInstanceOf(StrataApiError);
    expect(error.status).toBe(401);
    expect(error.detail).toBe("wrong username or password");
  });
});

describe("decodeEmbedding", () => {
  it("passes JSON vectors through and decodes base64 little-endian float32", () => {
    expect(decodeEmbedding([0.5, -1])).toEqual([0.5, -1]);
    const bytes = new Uint8Array(new Float32Array([0.5, -1, 2]).buffer);
    const base64 = btoa(String.fromCharCode(...bytes));
    expect(decodeEmbedding(base64)).toEqual([0.5, -1, 2]);
  });

  it("refuses base64 that is not a whole number of float32s", () => {
    expect(() => decodeEmbedding(btoa("abc"))).toThrow(/not float32/);
  });
});
