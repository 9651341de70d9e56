import { apiBaseUrl } from "../../lib/proxy";
import { currentSession, signIn, signOut } from "../../lib/session";

// Sessions are per request and per browser: never cached, never pre-rendered.
export const dynamic = "force-dynamic";

export function GET(request: Request): Promise<Response> {
  return currentSession(request, { base: apiBaseUrl() });
}

export function POST(request: Request): Promise<Response> {
  return signIn(request, { base: apiBaseUrl() });
}

export function DELETE(request: Request): Response {
  return signOut(request);
}
