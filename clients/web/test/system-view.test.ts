import { StrataApiError, StrataNetworkError } from "@strata/client";
import { describe, expect, it } from "vitest";
import { describeSystemError, formatUptime } from "../src/lib/system-view";

describe("describeSystemError", () => {
  it("calls a 503 from the API an unavailable ML service and passes on its detail and Retry-After", () => {
    const error = new StrataApiError(
      { type: "about:blank", title: "Service Unavailable", status: 503, detail: "ML service at 127.0.0.1:50051 refused the connection" },
      { retryAfterSeconds: 5 },
    );
    const view = describeSystemError(error);
    expect(view.kind).toBe("ml-unavailable");
    expect(view.title).toBe("ML service unavailable");
    expect(view.detail).toBe("ML service at 127.0.0.1:50051 refused the connection");
    expect(view.hint).toContain("retrying in 5 s");
  });

  it("recognises the API's ml-unavailable problem type and leaves out what the API did not say", () => {
    const view = describeSystemError(
      new StrataApiError({ type: "https://strata.dev/problems/ml-unavailable", title: "ML service unavailable", status: 503 }),
    );
    expect(view.kind).toBe("ml-unavailable");
    expect(view.detail).toBeUndefined();
    expect(view.hint).not.toContain("retrying");
  });

  it("calls the proxy's api-unreachable problem an unreachable API", () => {
    const view = describeSystemError(
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
    const view = describeSystemError(
      new StrataApiError({ type: "about:blank", title: "Bad Gateway", status, detail: "upstream reset" }),
    );
    expect(view.kind).toBe("api-unreachable");
    expect(view.detail).toBe("upstream reset");
  });

  it("keeps the API's own ML timeout an API error, not an unreachable API", () => {
    const view = describeSystemError(
      new StrataApiError({ type: "https://strata.dev/problems/ml-timeout", title: "ML service timed out", status: 504 }),
    );
    expect(view).toMatchObject({ kind: "http", title: "API error 504: ML service timed out" });
  });

  it("shows any other API error with its status and title", () => {
    const view = describeSystemError(
      new StrataApiError({ type: "about:blank", title: "Unauthorized", status: 401, detail: "token expired" }),
    );
    expect(view).toMatchObject({ kind: "http", title: "API error 401: Unauthorized", message: "token expired" });
  });

  it("calls a failed fetch a network problem between browser and web server", () => {
    const view = describeSystemError(new StrataNetworkError("Could not reach the strata API: Failed to fetch"));
    expect(view.kind).toBe("network");
    expect(view.title).toBe("Cannot reach the web server");
    expect(view.detail).toContain("Failed to fetch");
  });

  it("still explains an error of unknown kind", () => {
    expect(describeSystemError(new RangeError("boom"))).toMatchObject({ kind: "unexpected", message: "boom" });
    expect(describeSystemError("plain string")).toMatchObject({ kind: "unexpected", message: "plain string" });
  });
});

describe("formatUptime", () => {
  it.each([
    [0, "0 s"],
    [59, "59 s"],
    [61, "1 min 1 s"],
    [3_600, "1 h 0 min"],
    [3_725, "1 h 2 min"],
    [90_061, "1 d 1 h"],
    [12.9, "12 s"],
  ])("formats %d seconds as %s", (seconds, text) => {
    expect(formatUptime(seconds)).toBe(text);
  });

  it("says unknown for values the API should never send", () => {
    expect(formatUptime(-1)).toBe("unknown");
    expect(formatUptime(Number.NaN)).toBe("unknown");
  });
});
