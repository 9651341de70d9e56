import { describe, expect, it } from "vitest";
import { safeNext } from "../src/lib/navigation";

// `next` as the sign-in page reads it: the query parameter already decoded once by URLSearchParams,
// so `?next=/%09/evil.com` arrives here as "/\t/evil.com".
const HOSTILE: [string, string][] = [
  ["tab after the slash (?next=/%09/evil.com)", "/\t/evil.com"],
  ["newline after the slash", "/\n/evil.com"],
  ["carriage return after the slash", "/\r/evil.com"],
  ["leading space", " /evil.com"],
  ["space inside", "/ /evil.com"],
  ["protocol-relative", "//evil.com"],
  ["protocol-relative with a path", "//evil.com/models"],
  ["slash backslash", "/\\evil.com"],
  ["backslash backslash", "\\\\evil.com"],
  ["backslash later in the path", "/models\\..\\\\evil.com"],
  ["encoded slashes", "/%2F%2Fevil.com"],
  ["encoded slashes, lower case", "/%2f%2fevil.com"],
  ["encoded backslash", "/%5Cevil.com"],
  ["encoded tab", "/%09/evil.com"],
  ["encoded null", "/models%00"],
  ["encoded DEL", "/models%7F"],
  ["absolute https URL", "https://evil.com"],
  ["absolute URL with our path", "https://evil.com/models"],
  ["javascript: URL", "javascript:alert(1)"],
  ["data: URL", "data:text/html,<script>alert(1)</script>"],
  ["scheme-relative with credentials", "//user:pass@evil.com"],
  ["no leading slash", "evil.com"],
  ["relative dot path", "../evil.com"],
  ["non-ASCII that some parsers fold", "/\u3002evil.com"],
  ["fullwidth solidus", "/\uff0f\uff0fevil.com"],
  ["null byte", "/models\u0000"],
  ["too long", `/${"a".repeat(3000)}`],
  ["the sign-in page (a loop)", "/signin"],
  ["the sign-in page by a dot segment", "/models/../signin?next=/x"],
  ["the session route", "/session"],
  ["the API proxy", "/api/v1/auth/me"],
  ["empty", ""],
];

const VALID: [string, string][] = [
  ["/", "/"],
  ["/models", "/models"],
  ["/models?x=1#y", "/models?x=1#y"],
  ["/models/digits?version=v1", "/models/digits?version=v1"],
  ["/training/job-1", "/training/job-1"],
  ["/datasets?q=a%20b", "/datasets?q=a%20b"],
  ["/models/./digits", "/models/digits"],
  ["/signinx", "/signinx"],
];

describe("safeNext", () => {
  it.each(HOSTILE)("sends %s to /", (_name, next) => {
    expect(safeNext(next)).toBe("/");
  });

  it.each(VALID)("keeps the path %s", (next, expected) => {
    expect(safeNext(next)).toBe(expected);
  });

  it("answers / when there is no next", () => {
    expect(safeNext(undefined)).toBe("/");
    expect(safeNext(null)).toBe("/");
  });

  it("never answers anything that a browser would resolve to another origin", () => {
    for (const [, next] of [...HOSTILE, ...VALID]) {
      expect(new URL(safeNext(next), "http://web.test").origin).toBe("http://web.test");
    }
  });
});
