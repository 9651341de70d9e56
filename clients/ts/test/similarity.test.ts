import { describe, expect, it } from "vitest";
import { cosine } from "../src/index.js";

describe("cosine", () => {
  it("measures direction, not length", () => {
    expect(cosine([1, 0], [5, 0])).toBeCloseTo(1);
    expect(cosine([1, 0], [0, 2])).toBeCloseTo(0);
    expect(cosine([1, 2], [-2, -4])).toBeCloseTo(-1);
  });

  it("calls an all-zero vector unrelated and refuses vectors of different lengths", () => {
    expect(cosine([0, 0], [1, 1])).toBe(0);
    expect(() => cosine([1], [1, 2])).toThrow(RangeError);
  });
});
