import { describe, expect, it } from "vitest";
import { cosine, rankedPairs, sentences, similarityMatrix } from "../src/lib/similarity";

describe("similarity", () => {
  it("computes cosine similarity regardless of length", () => {
    expect(cosine([1, 0], [2, 0])).toBeCloseTo(1);
    expect(cosine([1, 0], [0, 3])).toBeCloseTo(0);
    expect(cosine([1, 1], [-1, -1])).toBeCloseTo(-1);
    expect(cosine([0, 0], [1, 1])).toBe(0);
    expect(() => cosine([1], [1, 2])).toThrow(RangeError);
  });

  it("builds a symmetric matrix with ones on the diagonal and ranks pairs", () => {
    const m = similarityMatrix([
      [1, 0, 0],
      [0.9, 0.1, 0],
      [0.1, 0.5, 1],
    ]);
    expect(m[0]?.[0]).toBe(1);
    expect(m[0]?.[1]).toBeCloseTo(m[1]?.[0] ?? Number.NaN);
    expect(rankedPairs(m).map((p) => [p.a, p.b])).toEqual([
      [0, 1],
      [1, 2],
      [0, 2],
    ]);
  });

  it("takes one sentence per non-blank line", () => {
    expect(sentences(" a cat \n\n  b dog\n")).toEqual(["a cat", "b dog"]);
  });
});
