"use client";

import { useState, type FormEvent } from "react";
import { apiClient } from "../../lib/api";
import { describeError, type ErrorView } from "../../lib/errors";
import { newPasswordError } from "../../lib/passwords";
import { startSession } from "../../lib/sign-in";
import { useAction } from "../../lib/use-action";
import { useApi } from "../../lib/use-api";
import { ErrorPanel, Loading } from "../ErrorPanel";
import { PasswordField } from "../PasswordField";

interface Problems {
  current?: string | undefined;
  next?: string | undefined;
  repeat?: string | undefined;
}

/** On this form a 403 is a wrong current password, not a missing role. */
function describeChangeError(error: unknown): ErrorView {
  const view = describeError(error);
  if (view.kind === "forbidden") {
    return {
      ...view,
      title: "Wrong current password",
      message: "The API did not accept your current password; nothing changed.",
      hint: "Type it again. If it is forgotten, an admin can set a new one on the Access page.",
    };
  }
  return view;
}

/** The signed-in user changes their own password, given the current one. */
export function ChangePasswordForm() {
  const me = useApi("me", (client, signal) => client.getCurrentPrincipal({ signal }));
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [tried, setTried] = useState(false);
  const [changed, setChanged] = useState(false);
  const { busy, failure, run } = useAction(describeChangeError);
  const problems: Problems = {
    current: current === "" ? "Enter your current password" : undefined,
    next: newPasswordError(next),
    repeat: repeat === next ? undefined : "The two new passwords differ",
  };
  const name = me.data?.name;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setTried(true);
    setChanged(false);
    if (!name || problems.current || problems.next || problems.repeat) return;
    await run(async () => {
      await apiClient().setUserPassword(name, { current_password: current, new_password: next });
      // The change revoked this session's token too; the new password opens a new one.
      await startSession(name, next);
      setCurrent("");
      setNext("");
      setRepeat("");
      setTried(false);
      setChanged(true);
    });
  }

  const shown = (problem: string | undefined) => (tried ? problem : undefined);
  return (
    <section className="card narrow" aria-labelledby="change-password-heading">
      <header className="card-header">
        <h2 id="change-password-heading">Change your password</h2>
      </header>
      {me.state.status === "error" ? <ErrorPanel error={me.state.error} compact /> : null}
      {me.state.status === "loading" ? <Loading label="Loading your account…" /> : null}
      {failure ? <ErrorPanel error={failure} compact /> : null}
      {changed ? <p role="status">Password changed. Your other sessions and tokens were signed out.</p> : null}
      <form className="form" onSubmit={(e) => void submit(e)} noValidate>
        {/* For password managers: the account the new password belongs to. */}
        <input type="text" name="username" value={name ?? ""} autoComplete="username" readOnly hidden />
        <PasswordField
          id="current-password"
          label="Current password"
          value={current}
          onChange={setCurrent}
          error={shown(problems.current)}
          autoComplete="current-password"
        />
        <PasswordField id="new-password" label="New password" value={next} onChange={setNext} error={shown(problems.next)} />
        <PasswordField
          id="repeat-password"
          label="Repeat the new password"
          value={repeat}
          onChange={setRepeat}
          error={shown(problems.repeat)}
        />
        <div className="form-actions">
          <button type="submit" className="button primary" disabled={busy || !name}>
            {busy ? "Changing…" : "Change password"}
          </button>
        </div>
      </form>
    </section>
  );
}
