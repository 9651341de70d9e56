import { isStrataApiError, type StrataClient } from "@strata/client";
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { makeClient } from "./api";
import { normalizeBaseUrl } from "./config";
import { describeError } from "./errors";
import { clearToken, loadSession, saveSession } from "./storage";

export type SessionState =
  | { status: "loading" }
  | { status: "signedOut"; baseUrl: string; username: string; notice?: string | undefined }
  | { status: "signedIn"; baseUrl: string; username: string; client: StrataClient };

export interface Session {
  state: SessionState;
  /** Checks the address, exchanges the password for a token and keeps both; throws a plain-words Error. */
  signIn(baseUrl: string, username: string, password: string): Promise<void>;
  /** Drops the token; `notice` is shown on the sign-in screen (why the user is there again). */
  signOut(notice?: string): Promise<void>;
}

const SessionContext = createContext<Session | undefined>(undefined);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: "loading" });
  const stateRef = useRef(state);
  stateRef.current = state;

  useEffect(() => {
    let live = true;
    loadSession()
      .then((saved) => {
        if (!live) return;
        const baseUrl = saved.baseUrl ?? "";
        const username = saved.username ?? "";
        if (saved.token && baseUrl) {
          // An expired saved token is found out by the first request (401 → back here).
          setState({ status: "signedIn", baseUrl, username, client: makeClient(baseUrl, saved.token) });
        } else {
          setState({ status: "signedOut", baseUrl, username });
        }
      })
      .catch(() => live && setState({ status: "signedOut", baseUrl: "", username: "" }));
    return () => {
      live = false;
    };
  }, []);

  const signIn = useCallback(async (baseUrlInput: string, usernameInput: string, password: string) => {
    const checked = normalizeBaseUrl(baseUrlInput);
    if (!checked.ok) throw new Error(checked.message);
    const username = usernameInput.trim();
    if (username === "") throw new Error("Enter your user name.");
    if (password === "") throw new Error("Enter your password.");
    const client = makeClient(checked.url, undefined);
    let token: string;
    try {
      ({ access_token: token } = await client.createToken({ username, password }));
    } catch (error) {
      // 401 on the token endpoint means wrong credentials, not an ended session.
      if (isStrataApiError(error) && error.status === 401) {
        throw new Error("The user name or password is wrong.");
      }
      throw new Error(describeError(error));
    }
    client.setToken(token);
    await saveSession({ baseUrl: checked.url, username, token });
    setState({ status: "signedIn", baseUrl: checked.url, username, client });
  }, []);

  const signOut = useCallback(async (notice?: string) => {
    const current = stateRef.current;
    await clearToken();
    setState({
      status: "signedOut",
      baseUrl: current.status === "loading" ? "" : current.baseUrl,
      username: current.status === "loading" ? "" : current.username,
      notice,
    });
  }, []);

  const value = useMemo(() => ({ state, signIn, signOut }), [state, signIn, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}

/** The signed-in client; screens behind sign-in only. */
export function useClient(): StrataClient {
  const { state } = useSession();
  if (state.status !== "signedIn") throw new Error("useClient while signed out");
  return state.client;
}
