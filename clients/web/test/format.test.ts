import { describe, expect, it } from "vitest";
import { formatBytes, formatCount, formatEta, formatNumber, formatPercent, formatTime, formatUptime } from "../src/lib/format";

describe("formatUptime", () => {
  it.each([
    [0, "0 s"],
    [59, "59 s"],
    [61, "1 min 1 s"],
    [3_600, "1 h 0 min"],
    [3_725, "1 h 2 min"],
    [90_061, "1 d 1 h"],
    [12.9, "12 s"],
  ])("formats %d seconds as %s", (seconds, text) => {
    expect(formatUptime(seconds)).toBe(text);
  });

  it("says unknown for values the API should never send", () => {
    expect(formatUptime(-1)).toBe("unknown");
    expect(formatUptime(Number.NaN)).toBe("unknown");
  });
});

describe("formatEta", () => {
  it.each([
    [undefined, "estimating…"],
    [null, "estimating…"],
    [-1, "estimating…"],
    [0.3, "less than a second"],
    [12.2, "13 s"],
    [185, "3 min 5 s"],
  ])("formats %s as %s", (seconds, text) => {
    expect(formatEta(seconds)).toBe(text);
  });
});

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [512, "512 B"],
    [1536, "1.50 KiB"],
    [120_832, "118 KiB"],
    [3_355_443, "3.20 MiB"],
  ])("formats %d bytes as %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe("number formats", () => {
  it("shows fractions as percentages, absent values as a dash", () => {
    expect(formatPercent(0.9731)).toBe("97.3%");
    expect(formatPercent(1)).toBe("100.0%");
    expect(formatPercent(undefined)).toBe("–");
    expect(formatPercent(Number.NaN)).toBe("–");
  });

  it("keeps four significant digits, switching to exponents for tiny values", () => {
    expect(formatNumber(0.123456)).toBe("0.1235");
    expect(formatNumber(16)).toBe("16");
    expect(formatNumber(0.00001234)).toBe("1.23e-5");
    expect(formatNumber(null)).toBe("–");
    expect(formatCount(1797)).toBe("1,797");
  });

  it("prints times in UTC so server and browser render the same text", () => {
    expect(formatTime("2025-11-23T14:05:09.123Z")).toBe("2025-11-23 14:05:09 UTC");
    expect(formatTime("2025-11-23T15:05:09+01:00")).toBe("2025-11-23 14:05:09 UTC");
    expect(formatTime(null)).toBe("–");
    expect(formatTime("not a time")).toBe("not a time");
  });
});
