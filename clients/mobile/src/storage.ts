/**
 * Where the session survives a restart on a phone: the token in the platform's secure storage
 * (Keychain on iOS, Keystore-backed on Android), never in AsyncStorage or a file. The address and
 * user name are not secrets but live beside it so one store holds the whole session.
 */
import * as SecureStore from "expo-secure-store";

const KEYS = { token: "strata.token", baseUrl: "strata.baseUrl", username: "strata.username" } as const;

export interface SavedSession {
  baseUrl: string | null;
  username: string | null;
  token: string | null;
}

export async function loadSession(): Promise<SavedSession> {
  const [baseUrl, username, token] = await Promise.all([
    SecureStore.getItemAsync(KEYS.baseUrl),
    SecureStore.getItemAsync(KEYS.username),
    SecureStore.getItemAsync(KEYS.token),
  ]);
  return { baseUrl, username, token };
}

export async function saveSession(session: { baseUrl: string; username: string; token: string }): Promise<void> {
  await SecureStore.setItemAsync(KEYS.baseUrl, session.baseUrl);
  await SecureStore.setItemAsync(KEYS.username, session.username);
  await SecureStore.setItemAsync(KEYS.token, session.token);
}

/** Forgets the token but keeps the address and name, so signing in again is one password away. */
export async function clearToken(): Promise<void> {
  await SecureStore.deleteItemAsync(KEYS.token);
}
