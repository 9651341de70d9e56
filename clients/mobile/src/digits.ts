/**
 * Turns finger strokes into the digits sample's input: 8x8 intensities 0..16.
 *
 * The sample (UCI optdigits) was scanned to 32x32 bitmaps, size-normalised and centred, then the
 * "on" cells of each 4x4 block counted. The strokes are drawn the same way: onto a 32x32 bitmap
 * that is fitted to the ink's bounding box (its longer side fills the square, centred), with the
 * pen scaled alike and grown by a cell like the web app's canvas conversion, then counted per
 * block. So a model reads a phone drawing as it reads a web drawing and its training rows.
 */
export interface Point {
  x: number;
  y: number;
}
export type Stroke = Point[];

const BITMAP = 32;
const GRID = 8;
const BLOCK = BITMAP / GRID;
/**
 * Pen width in the drawing's own units (points on the pad). The web app draws 26 px lines on a
 * 280 px canvas; 24 on the 260-point pad is the same proportion, so both playgrounds send a model
 * the same strokes.
 */
export const PEN_WIDTH = 24;
/** Bitmap cells a stroke grows by on each side, as in the web app (the sample's pen was wider). */
const PEN_GROWTH = 1;

export function strokesToGrid(strokes: readonly Stroke[], penWidth: number = PEN_WIDTH): number[][] | undefined {
  const points = strokes.flat();
  if (points.length === 0) return undefined;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  // The ink's box includes the pen: a vertical line is as wide as the pen, not zero.
  const x0 = Math.min(...xs) - penWidth / 2;
  const x1 = Math.max(...xs) + penWidth / 2;
  const y0 = Math.min(...ys) - penWidth / 2;
  const y1 = Math.max(...ys) + penWidth / 2;
  const side = Math.max(x1 - x0, y1 - y0);
  const scale = BITMAP / side;
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const toCell = (p: Point): Point => ({ x: (p.x - cx) * scale + BITMAP / 2, y: (p.y - cy) * scale + BITMAP / 2 });
  const radius = (penWidth / 2) * scale + PEN_GROWTH;

  const on = new Array<boolean>(BITMAP * BITMAP).fill(false);
  const stamp = (c: Point) => {
    for (let y = Math.floor(c.y - radius); y <= Math.ceil(c.y + radius); y++) {
      for (let x = Math.floor(c.x - radius); x <= Math.ceil(c.x + radius); x++) {
        if (x < 0 || y < 0 || x >= BITMAP || y >= BITMAP) continue;
        if ((x + 0.5 - c.x) ** 2 + (y + 0.5 - c.y) ** 2 <= radius ** 2) on[y * BITMAP + x] = true;
      }
    }
  };
  for (const stroke of strokes) {
    const cells = stroke.map(toCell);
    cells.forEach((c, i) => {
      stamp(c);
      const next = cells[i + 1];
      if (!next) return;
      // Fill the gap between touch samples, which a fast finger leaves several cells apart.
      const steps = Math.ceil(Math.hypot(next.x - c.x, next.y - c.y) * 2);
      for (let s = 1; s < steps; s++) stamp({ x: c.x + ((next.x - c.x) * s) / steps, y: c.y + ((next.y - c.y) * s) / steps });
    });
  }

  const grid: number[][] = [];
  for (let row = 0; row < GRID; row++) {
    const values: number[] = [];
    for (let col = 0; col < GRID; col++) {
      let count = 0;
      for (let y = row * BLOCK; y < (row + 1) * BLOCK; y++) {
        for (let x = col * BLOCK; x < (col + 1) * BLOCK; x++) if (on[y * BITMAP + x]) count++;
      }
      values.push(count);
    }
    grid.push(values);
  }
  return grid;
}
