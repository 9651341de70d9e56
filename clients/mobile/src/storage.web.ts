/**
 * The web export's session store. A browser has no secure storage a script can use, so the token
 * is kept in memory only (a reload signs out) and never written to localStorage; the address and
 * user name, which are not secrets, are remembered there.
 */
import type { SavedSession } from "./storage";

let token: string | null = null;
const KEYS = { baseUrl: "strata.baseUrl", username: "strata.username" } as const;

function local(): Storage | undefined {
  return typeof localStorage === "undefined" ? undefined : localStorage;
}

export async function loadSession(): Promise<SavedSession> {
  return { baseUrl: local()?.getItem(KEYS.baseUrl) ?? null, username: local()?.getItem(KEYS.username) ?? null, token };
}

export async function saveSession(session: { baseUrl: string; username: string; token: string }): Promise<void> {
  local()?.setItem(KEYS.baseUrl, session.baseUrl);
  local()?.setItem(KEYS.username, session.username);
  token = session.token;
}

export async function clearToken(): Promise<void> {
  token = null;
}
