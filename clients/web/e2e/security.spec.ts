/**
 * The web app's own defences, in Chromium against the real stack: the session cookie's `__Host-`
 * prefix over plain HTTP on loopback, the security headers on a page, a static file and an /api
 * answer, pages that work under their nonce CSP without a single violation, an injected inline
 * script that the CSP stops, the bounded `POST /session`, and a hostile `?next=` after sign-in.
 */
import { expect, test, type BrowserContext, type Page, type Response } from "@playwright/test";
import { signIn, stackPerFile } from "./helpers";
import { E2E_ADMIN_PASSWORD } from "./stack";

const stack = stackPerFile();

/** CSP violations the page reports (the DOM event) and Chromium logs (the console), as text. */
async function watchViolations(context: BrowserContext, page: Page): Promise<string[]> {
  const seen: string[] = [];
  await context.exposeFunction("reportViolation", (text: string) => seen.push(text));
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      (window as unknown as { reportViolation(text: string): void }).reportViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
    });
  });
  page.on("console", (message) => {
    if (/Content Security Policy|Content-Security-Policy/i.test(message.text())) seen.push(`console: ${message.text()}`);
  });
  return seen;
}

/** The value of `name`, asserting the response carries it exactly once. */
async function single(response: Response, name: string): Promise<string> {
  const values = (await response.headersArray()).filter((h) => h.name.toLowerCase() === name.toLowerCase());
  expect(values.map((h) => h.value), `${name} on ${response.url()}`).toHaveLength(1);
  return values[0]?.value ?? "";
}

/** The headers every response of the app carries, whatever it is. */
async function expectSecurityHeaders(response: Response): Promise<string> {
  expect(await single(response, "x-frame-options")).toBe("DENY");
  expect(await single(response, "x-content-type-options")).toBe("nosniff");
  expect(await single(response, "referrer-policy")).toBe("strict-origin-when-cross-origin");
  expect(await single(response, "permissions-policy")).toContain("camera=()");
  // A production build sends HSTS always; over this plain-HTTP loopback Chromium ignores it.
  expect(await single(response, "strict-transport-security")).toMatch(/^max-age=\d{7,}/);
  const csp = await single(response, "content-security-policy");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain("unsafe-eval");
  return csp;
}

test("pages, static files and /api answers carry the security headers; pages work under a nonce CSP with no violation", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations = await watchViolations(context, page);
  const responses: Response[] = [];
  page.on("response", (r) => responses.push(r));

  await signIn(page, stack, "/models");
  await expect(page.getByRole("heading", { level: 1, name: "Models" })).toBeVisible();

  // The session cookie: __Host- prefixed and Secure, and Chromium keeps it on http://127.0.0.1.
  const cookies = await context.cookies(stack.web.url);
  expect(cookies.map((c) => c.name)).toEqual(["__Host-strata_session"]);
  expect(cookies[0]).toMatchObject({ path: "/", secure: true, httpOnly: true, sameSite: "Strict" });

  // Every page of the nav renders and hydrates (the user menu fills in from a client-side fetch).
  for (const [path, heading] of [
    ["/", "Overview"],
    ["/datasets", "Datasets"],
    ["/training", "Training"],
    ["/playground/digits", "Playground"],
    ["/access", "Access"],
  ] as const) {
    const response = await page.goto(`${stack.web.url}${path}`);
    await expect(page.getByRole("heading", { level: 1 }).first()).toContainText(heading);
    await expect(page.getByTestId("whoami")).toContainText("admin");
    const csp = await expectSecurityHeaders(response as Response);
    expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]{16,}' 'strict-dynamic'/);
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("base-uri 'self'");
    expect(csp).toContain("form-action 'self'");
  }
  // A fresh nonce for every page.
  const nonces = responses
    .filter((r) => r.request().resourceType() === "document")
    .map((r) => /'nonce-([^']+)'/.exec(r.headers()["content-security-policy"] ?? "")?.[1]);
  expect(new Set(nonces).size).toBe(nonces.length);

  const script = responses.find((r) => new URL(r.url()).pathname.startsWith("/_next/static/") && r.request().resourceType() === "script");
  expect(script, "a script from /_next/static").toBeDefined();
  expect(await expectSecurityHeaders(script as Response)).toContain("default-src 'none'");
  const icon = await page.request.get(`${stack.web.url}/favicon.svg`);
  expect(icon.headers()["content-security-policy"]).toContain("default-src 'none'");
  expect(icon.headers()["x-content-type-options"]).toBe("nosniff");

  const api = responses.find((r) => new URL(r.url()).pathname.startsWith("/api/") && r.status() === 200);
  expect(api, "an /api answer the pages fetched").toBeDefined();
  expect(await expectSecurityHeaders(api as Response)).toContain("default-src 'none'");

  expect(violations).toEqual([]);

  // The CSP is enforced, not only sent: markup injected the way an XSS would (an inline event
  // handler; no nonce) does not run.
  const ran = await page.evaluate(async () => {
    const state = window as unknown as { __injected?: boolean };
    document.body.insertAdjacentHTML("beforeend", '<img src="/no-such-image.png" alt="" onerror="window.__injected = true">');
    await new Promise((r) => setTimeout(r, 500));
    return state.__injected ?? false;
  });
  expect(ran).toBe(false);
  await expect.poll(() => violations.some((v) => v.startsWith("script-src"))).toBe(true);
  await context.close();
});

test("POST /session reads at most 8 KiB: 413 beyond it, 400 for a body that is not JSON", async ({ request }) => {
  const big = await request.post(`${stack.web.url}/session`, {
    headers: { "content-type": "application/json" },
    data: JSON.stringify({ username: "admin", password: "x".repeat(1024 * 1024) }),
  });
  expect(big.status()).toBe(413);
  expect(big.headers()["content-type"]).toBe("application/problem+json");
  expect(await big.json()).toMatchObject({ type: "https://strata.dev/problems/payload-too-large", status: 413 });

  const malformed = await request.post(`${stack.web.url}/session`, { headers: { "content-type": "application/json" }, data: '{"username": "admin", ' });
  expect(malformed.status()).toBe(400);
  expect(await malformed.json()).toMatchObject({ type: "https://strata.dev/problems/bad-request", status: 400 });

  const good = await request.post(`${stack.web.url}/session`, { data: { username: "admin", password: E2E_ADMIN_PASSWORD } });
  expect(good.status()).toBe(200);
  expect(good.headers()["set-cookie"]).toMatch(/^__Host-strata_session=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Strict/);
});

test("sign-in with ?next=/%09/evil.com stays on this site", async ({ page }) => {
  for (const hostile of ["/%09/evil.com", "/%5Cevil.com", "%2F%2Fevil.com"]) {
    await page.context().clearCookies();
    await page.goto(`${stack.web.url}/signin?next=${hostile}`);
    await page.getByLabel("User name").fill("admin");
    await page.getByLabel("Password").fill(E2E_ADMIN_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
    expect(new URL(page.url()).origin, hostile).toBe(stack.web.url);
  }
});
