import { normalizeBaseUrl } from "../src/config";

test("accepts an address as people type it", () => {
  expect(normalizeBaseUrl("192.168.1.20:8080")).toEqual({ ok: true, url: "http://192.168.1.20:8080" });
  expect(normalizeBaseUrl(" https://api.example.com/strata/ ")).toEqual({ ok: true, url: "https://api.example.com/strata" });
});

test("refuses what cannot be an API address, saying why", () => {
  expect(normalizeBaseUrl("")).toMatchObject({ ok: false, message: expect.stringContaining("Enter the address") });
  expect(normalizeBaseUrl("ftp://host")).toMatchObject({ ok: false, message: expect.stringContaining("http://") });
  expect(normalizeBaseUrl("http://host:8080/?x=1")).toMatchObject({ ok: false, message: expect.stringContaining("query") });
  expect(normalizeBaseUrl("http://exa mple")).toMatchObject({ ok: false, message: expect.stringContaining("not an address") });
});
