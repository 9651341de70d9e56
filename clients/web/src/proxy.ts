// Next.js "proxy" (formerly middleware): runs before a page renders. Not to be confused with
// lib/proxy.ts, the /api route that forwards to the strata API.
import { NextResponse, type NextRequest } from "next/server";
import { SESSION_COOKIE } from "./lib/config";

/** Pages need a session: without the cookie, go to sign-in and come back afterwards. */
export function proxy(request: NextRequest) {
  if (request.cookies.get(SESSION_COOKIE)?.value) return NextResponse.next();
  const signin = new URL("/signin", request.url);
  const next = `${request.nextUrl.pathname}${request.nextUrl.search}`;
  if (next !== "/") signin.searchParams.set("next", next);
  return NextResponse.redirect(signin);
}

export const config = {
  // Everything but the sign-in page, the session and API routes, and static files. Keeping /api
  // out also keeps uploads streaming: a matched request's body is buffered for the proxy.
  matcher: ["/((?!api/|session|signin|_next/|favicon\\.svg).*)"],
};
