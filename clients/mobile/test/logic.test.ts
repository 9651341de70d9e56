import { StrataApiError, StrataNetworkError, StreamInterruptedError } from "@strata/client";
import { strokesToGrid } from "../src/digits";
import { describeError, isUnauthorized } from "../src/errors";
import { cosine, sentences } from "../src/similarity";
import { problem } from "./api";

const apiError = (response: Response, body: unknown) => StrataApiError.fromResponse(response, body);

describe("describeError", () => {
  test("keeps the API's problem detail and leads with what kind of failure it is", async () => {
    const response = problem(422, "Unprocessable Entity", "input must have 64 features, got 3");
    expect(describeError(apiError(response, await response.clone().json()))).toBe("The server did not accept that. input must have 64 features, got 3.");
    const forbidden = problem(403, "Forbidden", "training needs the trainer role");
    expect(describeError(apiError(forbidden, await forbidden.clone().json()))).toBe("Your account is not allowed to do that. training needs the trainer role.");
  });

  test("tells a missing answer from a refusal, and says when to retry after a rate limit", async () => {
    expect(describeError(new StrataNetworkError("Could not reach the strata API: Network request failed"))).toMatch(/^Can't reach the strata API\. Check that you are online/);
    const limited = problem(429, "Too Many Requests", undefined, { "retry-after": "7" });
    expect(describeError(apiError(limited, await limited.clone().json()))).toBe("Too many requests. Try again in 7 s.");
    const down = problem(503, "Service Unavailable", "the ML service is unavailable");
    expect(describeError(apiError(down, await down.clone().json()))).toMatch(/^The server is not ready .* the ML service is unavailable\. Try again shortly\.$/);
    expect(describeError(new StreamInterruptedError("the event stream ended before the job did"))).toBe("The live updates stopped: the event stream ended before the job did.");
  });

  test("a 401 is an ended session; other statuses are not", async () => {
    const expired = problem(401, "Unauthorized", "token expired");
    expect(isUnauthorized(apiError(expired, await expired.clone().json()))).toBe(true);
    expect(isUnauthorized(apiError(problem(403, "Forbidden"), {}))).toBe(false);
    expect(isUnauthorized(new StrataNetworkError("offline"))).toBe(false);
  });
});

describe("similarity", () => {
  test("cosine (the client's) of the same, orthogonal and opposite directions", () => {
    expect(cosine([1, 2, 3], [2, 4, 6])).toBeCloseTo(1);
    expect(cosine([1, 0], [0, 5])).toBeCloseTo(0);
    expect(cosine([1, 1], [-1, -1])).toBeCloseTo(-1);
    expect(cosine([0, 0], [1, 1])).toBe(0);
    expect(() => cosine([1], [1, 2])).toThrow("different lengths (1 and 2)");
  });

  test("sentences are the non-blank lines, trimmed", () => {
    expect(sentences(" a \n\n b\n  \n")).toEqual(["a", "b"]);
  });
});

describe("strokesToGrid", () => {
  test("nothing drawn is no input", () => {
    expect(strokesToGrid([])).toBeUndefined();
  });

  test("a vertical bar, wherever it is drawn, fills the centre columns from top to bottom", () => {
    const bar = (x: number, top: number) => [Array.from({ length: 20 }, (_, i) => ({ x, y: top + (i * 200) / 19 }))];
    const small = strokesToGrid(bar(40, 10)) as number[][];
    const large = strokesToGrid(bar(200, 40)) as number[][];
    expect(small).toEqual(large);
    // The pen is part of the ink's box, so the bar reaches the top and bottom rows.
    expect(small[0]?.some((v) => v > 0)).toBe(true);
    expect(small[7]?.some((v) => v > 0)).toBe(true);
    expect(small).toHaveLength(8);
    for (const row of small) {
      expect(row).toHaveLength(8);
      expect(row.every((v) => v >= 0 && v <= 16)).toBe(true);
      // Ink only near the middle: columns 0-2 and 5-7 stay empty.
      expect([row[0], row[1], row[2], row[5], row[6], row[7]]).toEqual([0, 0, 0, 0, 0, 0]);
      expect((row[3] as number) + (row[4] as number)).toBeGreaterThan(0);
    }
  });

  test("a horizontal bar fills the centre rows instead", () => {
    const grid = strokesToGrid([Array.from({ length: 20 }, (_, i) => ({ x: i * 10, y: 50 }))]) as number[][];
    expect(grid[0]?.every((v) => v === 0)).toBe(true);
    expect(grid[7]?.every((v) => v === 0)).toBe(true);
    expect((grid[3] as number[]).reduce((a, b) => a + b, 0) + (grid[4] as number[]).reduce((a, b) => a + b, 0)).toBeGreaterThan(40);
  });
});
