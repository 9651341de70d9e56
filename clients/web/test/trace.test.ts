import { describe, expect, it } from "vitest";
import { isValidTraceparent, newTraceparent, tracedFetch } from "../src/lib/trace";

describe("traceparent", () => {
  it("makes a new valid, sampled traceparent each time", () => {
    const a = newTraceparent();
    const b = newTraceparent();
    expect(a).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(isValidTraceparent(a)).toBe(true);
    expect(a.slice(3, 35)).not.toBe(b.slice(3, 35));
  });

  it("rejects what the services would not continue", () => {
    expect(isValidTraceparent(undefined)).toBe(false);
    expect(isValidTraceparent("")).toBe(false);
    expect(isValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7")).toBe(false);
    expect(isValidTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01")).toBe(false);
    expect(isValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")).toBe(false);
    expect(isValidTraceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")).toBe(false);
  });

  it("gives each API call of the browser its own trace, keeping one that is already set", async () => {
    const sent: string[] = [];
    const doFetch = tracedFetch(async (request) => {
      sent.push(request.headers.get("traceparent") ?? "");
      return new Response("{}");
    });
    const own = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    await doFetch(new Request("http://web.test/api/v1/system"));
    await doFetch(new Request("http://web.test/api/v1/system"));
    await doFetch(new Request("http://web.test/api/v1/system", { headers: { traceparent: own } }));

    expect(sent[0]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(sent[1]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(sent[0]).not.toBe(sent[1]);
    expect(sent[2]).toBe(own);
  });
});
