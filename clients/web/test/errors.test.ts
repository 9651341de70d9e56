import { StrataApiError, StrataNetworkError } from "@strata/client";
import { describe, expect, it } from "vitest";
import { describeError, isOutage } from "../src/lib/errors";

describe("describeError", () => {
  it("calls a 503 from the API an unavailable ML service and passes on its detail and Retry-After", () => {
    const error = new StrataApiError(
      { type: "about:blank", title: "Service Unavailable", status: 503, detail: "ML service at 127.0.0.1:50051 refused the connection" },
      { retryAfterSeconds: 5 },
    );
    const view = describeError(error);
    expect(view.kind).toBe("ml-unavailable");
    expect(view.title).toBe("ML service unavailable");
    expect(view.detail).toBe("ML service at 127.0.0.1:50051 refused the connection");
    expect(view.hint).toContain("retrying in 5 s");
  });

  it("recognises the API's ml-unavailable problem type and leaves out what the API did not say", () => {
    const view = describeError(
      new StrataApiError({ type: "https://strata.dev/problems/ml-unavailable", title: "ML service unavailable", status: 503 }),
    );
    expect(view.kind).toBe("ml-unavailable");
    expect(view.detail).toBeUndefined();
    expect(view.hint).not.toContain("retrying");
  });

  it("calls the proxy's api-unreachable problem an unreachable API", () => {
    const view = describeError(
      new StrataApiError({
        type: "https://strata.dev/problems/api-unreachable",
        title: "API unreachable",
        status: 502,
        detail: "The web server could not reach the strata API.",
      }),
    );
    expect(view.kind).toBe("api-unreachable");
    expect(view.title).toBe("API unreachable");
    expect(view.detail).toBeUndefined();
    expect(view.hint).toContain("STRATA_API_URL");
  });

  it.each([502, 504])("calls a bare %i from a gateway an unreachable API and keeps its words", (status) => {
    const view = describeError(
      new StrataApiError({ type: "about:blank", title: "Bad Gateway", status, detail: "upstream reset" }),
    );
    expect(view.kind).toBe("api-unreachable");
    expect(view.detail).toBe("upstream reset");
  });

  it("keeps the API's own ML timeout its own kind, not an unreachable API", () => {
    const view = describeError(
      new StrataApiError({ type: "https://strata.dev/problems/ml-timeout", title: "ML service timed out", status: 504, detail: "deadline" }),
    );
    expect(view).toMatchObject({ kind: "ml-timeout", title: "ML service timed out", detail: "deadline", status: 504 });
    expect(isOutage(view)).toBe(false);
  });

  it.each([
    [401, "https://strata.dev/problems/unauthenticated", "unauthenticated", "Signed out", "token expired"],
    [403, "https://strata.dev/problems/forbidden", "forbidden", "Not allowed", "alice has role Viewer; this operation needs Trainer"],
    [404, "https://strata.dev/problems/not-found", "not-found", "Not found", "ML service: model `nope` not found"],
    [400, "https://strata.dev/problems/invalid-argument", "invalid", "Invalid argument", "features must have 64 values"],
    [409, "https://strata.dev/problems/failed-precondition", "conflict", "Failed precondition", "job already ended"],
    [413, "https://strata.dev/problems/payload-too-large", "too-large", "Too large", "upload exceeds 1 GiB"],
    [429, "https://strata.dev/problems/resource-exhausted", "rate-limited", "Too busy", "queue full"],
    [502, "https://strata.dev/problems/ml-error", "ml-error", "ML service error", "candle: shape mismatch"],
  ])("maps %i %s to %s and always shows the API's detail", (status, type, kind, title, detail) => {
    const view = describeError(new StrataApiError({ type, title: "from the API", status, detail }));
    expect(view).toMatchObject({ kind, detail, status });
    if (kind !== "invalid" && kind !== "conflict") expect(view.title).toBe(title);
    expect(view.hint.length).toBeGreaterThan(0);
  });

  it("keeps the API's title for a 400, and says when to retry a 429", () => {
    const invalid = describeError(new StrataApiError({ type: "https://strata.dev/problems/bad-request", title: "Bad request", status: 400, detail: "x" }));
    expect(invalid.title).toBe("Bad request");
    const busy = describeError(new StrataApiError({ type: "about:blank", title: "Too Many Requests", status: 429 }, { retryAfterSeconds: 2 }));
    expect(busy.hint).toContain("retrying in 2 s");
  });

  it("shows an unknown status with its number and title", () => {
    const view = describeError(new StrataApiError({ type: "about:blank", title: "I'm a teapot", status: 418, detail: "short and stout" }));
    expect(view).toMatchObject({ kind: "http", title: "API error 418: I'm a teapot", message: "short and stout" });
  });

  it("calls a failed fetch a network problem between browser and web server", () => {
    const view = describeError(new StrataNetworkError("Could not reach the strata API: Failed to fetch"));
    expect(view.kind).toBe("network");
    expect(isOutage(view)).toBe(true);
    expect(view.title).toBe("Cannot reach the web server");
    expect(view.detail).toContain("Failed to fetch");
  });

  it("still explains an error of unknown kind", () => {
    expect(describeError(new RangeError("boom"))).toMatchObject({ kind: "unexpected", message: "boom" });
    expect(describeError("plain string")).toMatchObject({ kind: "unexpected", message: "plain string" });
  });
});
