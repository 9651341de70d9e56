import { describe, expect, it } from "vitest";
import { inkBounds, toDigitGrid, toFeatures, type Raster } from "../src/lib/digits";

/** A white RGBA canvas with black filled where `ink(x, y)` says. */
function canvas(size: number, ink: (x: number, y: number) => boolean): Raster {
  const data = new Uint8ClampedArray(size * size * 4).fill(255);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (ink(x, y)) data.set([0, 0, 0, 255], (y * size + x) * 4);
    }
  }
  return { width: size, height: size, data };
}

describe("toDigitGrid", () => {
  it("finds nothing on a blank canvas (white or fully transparent)", () => {
    expect(toDigitGrid(canvas(280, () => false))).toBeUndefined();
    expect(toDigitGrid({ width: 4, height: 4, data: new Uint8ClampedArray(64) })).toBeUndefined();
  });

  it("crops to the ink, so where the digit was drawn does not matter", () => {
    const a = toDigitGrid(canvas(280, (x, y) => x >= 20 && x < 44 && y >= 20 && y < 220));
    const b = toDigitGrid(canvas(280, (x, y) => x >= 200 && x < 224 && y >= 60 && y < 260));
    expect(a).toEqual(b);
  });

  it("reads a tall thin stroke as a centred '1': ink in the middle columns only, full height", () => {
    const grid = toDigitGrid(canvas(280, (x, y) => x >= 128 && x < 152 && y >= 40 && y < 240)) as number[][];
    for (const row of grid) {
      expect(row.slice(0, 3)).toEqual([0, 0, 0]);
      expect(row.slice(5)).toEqual([0, 0, 0]);
      expect((row[3] ?? 0) + (row[4] ?? 0)).toBeGreaterThan(0);
    }
    expect(Math.max(...grid.flat())).toBeLessThanOrEqual(16);
    // As thick as the sample's pen: its "1"s fill the two middle blocks of a row almost fully
    // (about 16 + 16), where the unthickened stroke gave about 8 + 8.
    for (const row of grid.slice(1, 7)) expect((row[3] ?? 0) + (row[4] ?? 0)).toBeGreaterThanOrEqual(20);
  });

  it("counts a fully inked square as 16 in every block, the sample's maximum", () => {
    expect(toDigitGrid(canvas(64, () => true))?.flat()).toEqual(new Array(64).fill(16));
  });

  it("fits a wide drawing by its width and keeps the rows above and below empty", () => {
    const grid = toDigitGrid(canvas(280, (x, y) => x >= 20 && x < 260 && y >= 130 && y < 150)) as number[][];
    expect(grid[0]).toEqual(new Array(8).fill(0));
    expect(grid[7]).toEqual(new Array(8).fill(0));
    expect(grid.some((row) => row.every((v) => v > 0))).toBe(true);
  });

  it("reports the ink's bounding box", () => {
    expect(inkBounds(canvas(10, (x, y) => x >= 2 && x <= 4 && y === 7))).toEqual({ x0: 2, y0: 7, x1: 4, y1: 7 });
  });
});

describe("toFeatures", () => {
  const grid = Array.from({ length: 8 }, (_, r) => Array.from({ length: 8 }, (_, c) => r * 8 + c));

  it("is row-major by default, as the sample's pixel columns are", () => {
    expect(toFeatures(grid)).toEqual(Array.from({ length: 64 }, (_, i) => i));
  });

  it("follows the model's feature names when they are pixel_<row>_<col>", () => {
    const names = Array.from({ length: 64 }, (_, i) => `pixel_${i % 8}_${Math.floor(i / 8)}`); // column-major
    const features = toFeatures(grid, names);
    expect(features.slice(0, 3)).toEqual([0, 8, 16]);
    expect(features[63]).toBe(63);
  });

  it("falls back to row-major for names it cannot place", () => {
    expect(toFeatures(grid, Array.from({ length: 64 }, (_, i) => `f${i}`))).toEqual(grid.flat());
  });
});
