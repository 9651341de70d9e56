"use client";

import { useState, type FormEvent } from "react";
import { describeError, type ErrorView } from "../lib/errors";
import { safeNext } from "../lib/navigation";
import { startSession } from "../lib/sign-in";
import { ErrorPanel } from "./ErrorPanel";

/** What a failed sign-in means: on this form a 401 is wrong credentials, not an expired session. */
export function describeSignInError(error: unknown): ErrorView {
  const view = describeError(error);
  if (view.kind === "unauthenticated") {
    return { ...view, title: "Wrong user name or password", message: "The API did not accept these credentials.", hint: "Check both and try again." };
  }
  return view;
}

export function SignInForm({ next }: { next?: string | undefined }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorView | undefined>();

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(undefined);
    try {
      await startSession(String(form.get("username") ?? ""), String(form.get("password") ?? ""));
      // A full navigation, so the server renders the next page with the new cookie.
      window.location.assign(safeNext(next));
    } catch (failure) {
      setError(describeSignInError(failure));
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={submit} aria-describedby={error ? "signin-error" : undefined}>
      <div className="field">
        <label htmlFor="username">User name</label>
        <input id="username" name="username" autoComplete="username" required defaultValue="admin" />
      </div>
      <div className="field">
        <label htmlFor="password">Password</label>
        <input id="password" name="password" type="password" autoComplete="current-password" required />
      </div>
      {error ? (
        <div id="signin-error">
          <ErrorPanel error={error} compact />
        </div>
      ) : null}
      <button type="submit" className="button primary" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}
