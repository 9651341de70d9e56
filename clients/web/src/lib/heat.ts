/** The heat-map colour scale: white-ish blue for 0 to deep blue for 1, in one place. */

const LOW = [240, 244, 252];
const HIGH = [31, 63, 153];

/** Background colour for t in 0..1 (clamped). */
export function heatColor(t: number): string {
  const k = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
  const [r, g, b] = LOW.map((lo, i) => Math.round(lo + ((HIGH[i] as number) - lo) * k));
  return `rgb(${r}, ${g}, ${b})`;
}

/** Text colour readable on `heatColor(t)` (WCAG contrast flips around the middle of the scale). */
export function inkOn(t: number): string {
  return t > 0.45 ? "#ffffff" : "#1b2330";
}
