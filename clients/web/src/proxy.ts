// Next.js "proxy" (formerly middleware): runs before a page renders. Not to be confused with
// lib/proxy.ts, the /api route that forwards to the strata API.
import { NextResponse, type NextRequest } from "next/server";
import { SESSION_COOKIE } from "./lib/config";
import { newNonce, pageCsp } from "./lib/security-headers";

/**
 * Every page gets a Content-Security-Policy with a fresh nonce (Next.js reads it from the request's
 * header and puts it on its scripts). Pages but the sign-in page need a session: without the
 * cookie, go to sign-in and come back afterwards.
 */
export function proxy(request: NextRequest) {
  const csp = pageCsp(newNonce(), process.env.NODE_ENV === "development");
  let response: NextResponse;
  if (request.nextUrl.pathname === "/signin" || request.cookies.get(SESSION_COOKIE)?.value) {
    const headers = new Headers(request.headers);
    headers.set("content-security-policy", csp);
    response = NextResponse.next({ request: { headers } });
  } else {
    const signin = new URL("/signin", request.url);
    const next = `${request.nextUrl.pathname}${request.nextUrl.search}`;
    if (next !== "/") signin.searchParams.set("next", next);
    response = NextResponse.redirect(signin);
  }
  response.headers.set("content-security-policy", csp);
  return response;
}

export const config = {
  // Every page, the sign-in page included; not the session and API routes or static files, which
  // keep the deny-all CSP of next.standalone.mjs. Keeping /api out also keeps uploads streaming: a
  // matched request's body is buffered for the proxy.
  matcher: ["/((?!api/|session$|_next/|favicon\\.svg).*)"],
};
