/** Number and time formatting shared by every page; fixed locale so server and browser agree. */

const LOCALE = "en-US";

/** Uptime as the two largest units: `42 s`, `3 min 5 s`, `2 h 7 min`, `4 d 1 h`. */
export function formatUptime(totalSeconds: number): string {
  if (!Number.isFinite(totalSeconds) || totalSeconds < 0) return "unknown";
  const seconds = Math.floor(totalSeconds);
  const units: [string, number][] = [
    ["d", Math.floor(seconds / 86_400)],
    ["h", Math.floor((seconds % 86_400) / 3_600)],
    ["min", Math.floor((seconds % 3_600) / 60)],
    ["s", seconds % 60],
  ];
  const first = units.findIndex(([, value]) => value > 0);
  if (first === -1) return "0 s";
  return units
    .slice(first, first + 2)
    .map(([unit, value]) => `${value} ${unit}`)
    .join(" ");
}

/** A remaining time for people: `less than a second`, `12 s`, `3 min 5 s`. */
export function formatEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "estimating…";
  if (seconds < 1) return "less than a second";
  return formatUptime(Math.ceil(seconds));
}

/** Bytes in binary units with three significant digits: `512 B`, `1.50 KiB`, `118 KiB`, `3.20 MiB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "unknown";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${value} B`;
  return `${value.toPrecision(3)} ${units[unit]}`;
}

/** A fraction as a percentage with one decimal: `0.9731` → `97.3%`. */
export function formatPercent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return "–";
  return `${(fraction * 100).toFixed(1)}%`;
}

/** A metric value with four significant digits, or a dash when absent. */
export function formatNumber(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  if (value !== 0 && Math.abs(value) < 1e-3) return value.toExponential(2);
  return Number(value.toPrecision(digits)).toLocaleString(LOCALE, { maximumFractionDigits: 6 });
}

/** An integer with thousands separators: `1797` → `1,797`. */
export function formatCount(value: number): string {
  return value.toLocaleString(LOCALE);
}

/** An RFC 3339 time as `2025-11-23 14:05:09 UTC` (UTC so the server render equals the browser's). */
export function formatTime(rfc3339: string | null | undefined): string {
  if (!rfc3339) return "–";
  const date = new Date(rfc3339);
  if (Number.isNaN(date.getTime())) return rfc3339;
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}
