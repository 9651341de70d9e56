import { describe, expect, it } from "vitest";
import { parseRetryAfter, toProblem } from "../src/index.js";

describe("parseRetryAfter", () => {
  it("reads delta-seconds", () => {
    expect(parseRetryAfter("120")).toBe(120);
    expect(parseRetryAfter(" 0 ")).toBe(0);
  });

  it("turns an HTTP date into seconds from now, never negative", () => {
    const now = Date.parse("Sun, 06 Nov 1994 08:49:37 GMT");
    expect(parseRetryAfter("Sun, 06 Nov 1994 08:50:07 GMT", now)).toBe(30);
    expect(parseRetryAfter("Sun, 06 Nov 1994 08:00:00 GMT", now)).toBe(0);
  });

  it("ignores absent or malformed values", () => {
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter("")).toBeUndefined();
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter("-5")).toBeUndefined();
  });
});

describe("toProblem", () => {
  const response = (status: number, statusText: string, contentType: string) =>
    new Response(null, { status, statusText, headers: { "content-type": contentType } });

  it("fills what a partial problem object leaves out from the response", () => {
    expect(toProblem(response(404, "Not Found", "application/problem+json"), { detail: "no such model" })).toEqual({
      type: "about:blank",
      title: "Not Found",
      status: 404,
      detail: "no such model",
    });
  });

  it("ignores fields of the wrong type", () => {
    expect(
      toProblem(response(409, "Conflict", "application/json"), { type: 7, title: null, status: "409", detail: 1 }),
    ).toEqual({ type: "about:blank", title: "Conflict", status: 409 });
  });

  it("uses the status code when there is no status text", () => {
    expect(toProblem(response(418, "", "text/html"), "<p>teapot</p>")).toEqual({
      type: "about:blank",
      title: "HTTP 418",
      status: 418,
    });
  });

  it("truncates long plain-text bodies", () => {
    const problem = toProblem(response(500, "Internal Server Error", "text/plain; charset=utf-8"), "x".repeat(2000));
    expect(problem.detail).toHaveLength(501);
    expect(problem.detail?.endsWith("…")).toBe(true);
  });
});
