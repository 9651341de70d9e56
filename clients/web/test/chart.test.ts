import { describe, expect, it } from "vitest";
import { decimate, extent, linePath, niceDomain, niceTicks, scaleLinear } from "../src/lib/chart";

describe("scales and ticks", () => {
  it("maps a domain onto a range, flipping for SVG's downward y", () => {
    const y = scaleLinear([0, 2], [200, 0]);
    expect(y(0)).toBe(200);
    expect(y(1)).toBe(100);
    expect(y(2)).toBe(0);
    expect(scaleLinear([3, 3], [0, 10])(3)).toBe(5);
  });

  it("picks ticks at 1, 2 or 5 times a power of ten", () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 2.37, 4)).toEqual([0, 1, 2]);
    expect(niceTicks(0, 2.37, 6)).toEqual([0, 0.5, 1, 1.5, 2]);
    expect(niceTicks(0, 1690, 6)).toEqual([0, 500, 1000, 1500]);
    expect(niceDomain(0, 2.37, 4)).toEqual([0, 3]);
    expect(niceDomain(0, 2.37, 6)).toEqual([0, 2.5]);
    expect(niceDomain(0, 1690, 6)).toEqual([0, 2000]);
  });

  it("widens a flat or empty extent so the chart still has a band", () => {
    expect(extent([])).toEqual([0, 1]);
    expect(extent([2, 2])).toEqual([1.8, 2.2]);
    expect(extent([0.5, 3], { includeZero: true })).toEqual([0, 3]);
    expect(extent([Number.NaN, 1, 4])).toEqual([1, 4]);
  });
});

describe("paths", () => {
  it("draws M then L commands in pixel space", () => {
    const x = scaleLinear([0, 10], [0, 100]);
    const y = scaleLinear([0, 1], [50, 0]);
    expect(linePath([{ x: 0, y: 0 }, { x: 5, y: 0.5 }, { x: 10, y: 1 }], x, y)).toBe("M0 50 L50 25 L100 0");
  });

  it("decimates long series but keeps the ends and the spikes", () => {
    const points = Array.from({ length: 5000 }, (_, i) => ({ x: i, y: i === 2500 ? 100 : Math.sin(i / 50) }));
    const few = decimate(points, 400);
    expect(few.length).toBeLessThanOrEqual(400);
    expect(few[0]).toEqual(points[0]);
    expect(few.at(-1)).toEqual(points.at(-1));
    expect(few.some((p) => p.y === 100)).toBe(true);
    expect(few.every((p, i) => i === 0 || p.x > (few[i - 1]?.x ?? -1))).toBe(true);
    expect(decimate(points.slice(0, 10), 400)).toHaveLength(10);
  });
});
