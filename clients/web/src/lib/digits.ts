/**
 * Turns a drawing into the input of the digits sample: an 8x8 grid of 0..16 intensities.
 *
 * The sample is scikit-learn's copy of UCI "optdigits": each digit was scanned to a 32x32 bitmap,
 * size-normalised and centred, then the "on" pixels of each non-overlapping 4x4 block were
 * counted (0..16). We do the same with the canvas: crop to the ink, fit its longer side into a
 * centred 32x32 square, threshold each cell, thicken the strokes, count per 4x4 block. The result
 * lines up with the training rows, so a model trained on the sample reads a drawing as it reads
 * the data.
 */

export const GRID = 8;
const BITMAP = 32;
const BLOCK = BITMAP / GRID;
/** Mean ink a 32x32 cell needs to count as "on". */
const ON_THRESHOLD = 0.3;
/**
 * Cells a stroke grows by on each side once on the 32x32 bitmap. The sample's digits were written
 * with a pen whose stroke is 6-10 of 32 cells wide once normalised (a "1" fills two blocks
 * almost fully); a finger or mouse line scaled the same way is 3-4 cells, which a model trained
 * on the sample reads as a faint, different digit.
 */
const PEN_GROWTH = 1;
/** Ink below this does not count toward the drawing's bounding box (anti-aliasing fringe). */
const BOUNDS_THRESHOLD = 0.1;

/** RGBA pixels, as `CanvasRenderingContext2D.getImageData` returns them. */
export interface Raster {
  width: number;
  height: number;
  data: ArrayLike<number>;
}

/** Ink at pixel i: darkness on white, scaled by opacity (a transparent pixel has none). */
function ink(data: ArrayLike<number>, i: number): number {
  const r = data[i * 4] ?? 255;
  const g = data[i * 4 + 1] ?? 255;
  const b = data[i * 4 + 2] ?? 255;
  const a = (data[i * 4 + 3] ?? 0) / 255;
  return a * (1 - (0.299 * r + 0.587 * g + 0.114 * b) / 255);
}

export interface Bounds {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The smallest box holding every inked pixel, or undefined for a blank canvas. */
export function inkBounds(raster: Raster): Bounds | undefined {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < raster.height; y++) {
    for (let x = 0; x < raster.width; x++) {
      if (ink(raster.data, y * raster.width + x) > BOUNDS_THRESHOLD) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
    }
  }
  return x1 < 0 ? undefined : { x0, y0, x1, y1 };
}

/** The drawing as 8 rows of 8 intensities 0..16, or undefined when nothing is drawn. */
export function toDigitGrid(raster: Raster): number[][] | undefined {
  const bounds = inkBounds(raster);
  if (!bounds) return undefined;
  const side = Math.max(bounds.x1 - bounds.x0 + 1, bounds.y1 - bounds.y0 + 1);
  const cx = (bounds.x0 + bounds.x1 + 1) / 2;
  const cy = (bounds.y0 + bounds.y1 + 1) / 2;
  const left = cx - side / 2;
  const top = cy - side / 2;
  const cell = side / BITMAP;

  const on: boolean[] = new Array<boolean>(BITMAP * BITMAP).fill(false);
  for (let by = 0; by < BITMAP; by++) {
    for (let bx = 0; bx < BITMAP; bx++) {
      // Average the source pixels under this cell; cells smaller than a pixel take the nearest one.
      const sx0 = Math.floor(left + bx * cell);
      const sy0 = Math.floor(top + by * cell);
      const sx1 = Math.max(sx0 + 1, Math.floor(left + (bx + 1) * cell));
      const sy1 = Math.max(sy0 + 1, Math.floor(top + (by + 1) * cell));
      let sum = 0;
      let count = 0;
      for (let sy = sy0; sy < sy1; sy++) {
        for (let sx = sx0; sx < sx1; sx++) {
          count += 1;
          if (sx >= 0 && sy >= 0 && sx < raster.width && sy < raster.height) sum += ink(raster.data, sy * raster.width + sx);
        }
      }
      on[by * BITMAP + bx] = count > 0 && sum / count >= ON_THRESHOLD;
    }
  }

  const grid = Array.from({ length: GRID }, () => new Array<number>(GRID).fill(0));
  for (let by = 0; by < BITMAP; by++) {
    for (let bx = 0; bx < BITMAP; bx++) {
      if (!inkedNear(on, bx, by)) continue;
      const row = grid[Math.floor(by / BLOCK)] as number[];
      row[Math.floor(bx / BLOCK)] = (row[Math.floor(bx / BLOCK)] as number) + 1;
    }
  }
  return grid;
}

/** Whether a bitmap cell within PEN_GROWTH cells of (x, y) is on: the thickened stroke. */
function inkedNear(on: boolean[], x: number, y: number): boolean {
  for (let dy = -PEN_GROWTH; dy <= PEN_GROWTH; dy++) {
    for (let dx = -PEN_GROWTH; dx <= PEN_GROWTH; dx++) {
      const nx = x + dx;
      const ny = y + dy;
      if (nx >= 0 && ny >= 0 && nx < BITMAP && ny < BITMAP && on[ny * BITMAP + nx]) return true;
    }
  }
  return false;
}

const PIXEL_NAME = /^pixel_(\d+)_(\d+)$/;

/**
 * The grid as the feature vector a model expects. Its input schema names the dataset columns in
 * order; `pixel_<row>_<col>` names are placed by row and column, any other 64 names are taken as
 * row-major, as the sample stores them.
 */
export function toFeatures(grid: number[][], names: string[] = []): number[] {
  const rowMajor = grid.flat();
  if (names.length !== GRID * GRID) return rowMajor;
  const positions = names.map((n) => PIXEL_NAME.exec(n));
  if (positions.some((m) => m === null)) return rowMajor;
  return positions.map((m) => grid[Number((m as RegExpExecArray)[1])]?.[Number((m as RegExpExecArray)[2])] ?? 0);
}
