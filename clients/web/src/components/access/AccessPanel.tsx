"use client";

import type { CreatedApiKey, PrincipalEntry, Role } from "@strata/client";
import Link from "next/link";
import { useState, type FormEvent } from "react";
import { apiClient } from "../../lib/api";
import { newPasswordError } from "../../lib/passwords";
import { useAction } from "../../lib/use-action";
import { useApi } from "../../lib/use-api";
import { ErrorPanel, Loading } from "../ErrorPanel";
import { Field } from "../Field";
import { PasswordField } from "../PasswordField";
import { Pill } from "../Pill";

const ROLES: Role[] = ["viewer", "trainer", "admin"];
const NAME_RULE = /^[A-Za-z0-9_][A-Za-z0-9._@-]{0,63}$/;
const NAME_HINT = "1-64 letters, digits or . _ @ -";

/** Users and API keys: the list, removal, forms to add either, and password resets. */
export function AccessPanel() {
  const principals = useApi("principals", (client, signal) => client.listPrincipals({ signal }));
  const me = useApi("me", (client, signal) => client.getCurrentPrincipal({ signal }));
  const [created, setCreated] = useState<CreatedApiKey | undefined>();
  return (
    <>
      {created ? <NewKey created={created} onDismiss={() => setCreated(undefined)} /> : null}
      <section className="card" aria-labelledby="principals-heading" aria-busy={principals.state.status === "loading"}>
        <header className="card-header">
          <h2 id="principals-heading">Users and API keys</h2>
          <button type="button" className="button" onClick={principals.reload} disabled={principals.refreshing}>
            {principals.refreshing ? "Refreshing…" : "Refresh"}
          </button>
        </header>
        {principals.state.status === "error" ? <ErrorPanel error={principals.state.error} /> : null}
        {principals.state.status === "loading" ? <Loading label="Loading users and keys…" /> : null}
        {principals.data ? <PrincipalTable principals={principals.data} onChange={principals.reload} /> : null}
      </section>
      <div className="columns">
        <NewUserForm onCreated={principals.reload} />
        <NewKeyForm
          onCreated={(key) => {
            setCreated(key);
            principals.reload();
          }}
        />
      </div>
      <ResetPasswordForm
        users={(principals.data ?? []).filter((p) => p.kind === "user" && p.name !== me.data?.name).map((p) => p.name)}
      />
    </>
  );
}

function PrincipalTable({ principals, onChange }: { principals: PrincipalEntry[]; onChange: () => void }) {
  const removal = useAction();
  async function remove(p: PrincipalEntry) {
    const what = p.kind === "user" ? `user ${p.name}` : `API key ${p.name}`;
    if (!window.confirm(`Remove ${what}? Its tokens stop working at once.`)) return;
    await removal.run(async () => {
      if (p.kind === "user") await apiClient().deleteUser(p.name);
      else await apiClient().deleteApiKey(p.name);
      onChange();
    });
  }
  return (
    <>
      {removal.failure ? <ErrorPanel error={removal.failure} compact /> : null}
      <div className="table-wrap">
        <table className="table" data-testid="principals-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Role</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {principals.map((p) => (
              <tr key={`${p.kind}:${p.name}`}>
                <th scope="row">{p.name}</th>
                <td>{p.kind === "user" ? "user" : "API key"}</td>
                <td>
                  <Pill tone={p.role === "admin" ? "warn" : "neutral"}>{p.role}</Pill>
                </td>
                <td>
                  <button
                    type="button"
                    className="button subtle"
                    aria-label={`Remove ${p.kind === "user" ? "user" : "API key"} ${p.name}`}
                    onClick={() => void remove(p)}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function RoleSelect({ id, value, onChange }: { id: string; value: Role; onChange: (role: Role) => void }) {
  return (
    <select id={id} value={value} onChange={(e) => onChange(e.target.value as Role)}>
      {ROLES.map((r) => (
        <option key={r} value={r}>
          {r}
        </option>
      ))}
    </select>
  );
}

function NewUserForm({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [tried, setTried] = useState(false);
  const { busy, failure, run } = useAction();
  const nameError = NAME_RULE.test(name) ? undefined : NAME_HINT;
  const passwordError = newPasswordError(password);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setTried(true);
    if (nameError || passwordError) return;
    await run(async () => {
      await apiClient().createUser({ username: name, password, role });
      setName("");
      setPassword("");
      setTried(false);
      onCreated();
    });
  }
  return (
    <section className="card" aria-labelledby="new-user-heading">
      <header className="card-header">
        <h2 id="new-user-heading">Add a user</h2>
      </header>
      {failure ? <ErrorPanel error={failure} compact /> : null}
      <form className="form" onSubmit={(e) => void submit(e)} noValidate>
        <Field id="new-user-name" label="User name" error={tried ? nameError : undefined}>
          <input id="new-user-name" value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
        </Field>
        <PasswordField
          id="new-user-password"
          label="Initial password"
          value={password}
          onChange={setPassword}
          error={tried ? passwordError : undefined}
        />
        <Field id="new-user-role" label="Role">
          <RoleSelect id="new-user-role" value={role} onChange={setRole} />
        </Field>
        <div className="form-actions">
          <button type="submit" className="button primary" disabled={busy}>
            {busy ? "Adding…" : "Add user"}
          </button>
        </div>
      </form>
    </section>
  );
}

function NewKeyForm({ onCreated }: { onCreated: (key: CreatedApiKey) => void }) {
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [tried, setTried] = useState(false);
  const { busy, failure, run } = useAction();
  const nameError = NAME_RULE.test(name) ? undefined : NAME_HINT;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setTried(true);
    if (nameError) return;
    await run(async () => {
      const key = await apiClient().createApiKey({ name, role });
      setName("");
      setTried(false);
      onCreated(key);
    });
  }
  return (
    <section className="card" aria-labelledby="new-key-heading">
      <header className="card-header">
        <h2 id="new-key-heading">Create an API key</h2>
      </header>
      {failure ? <ErrorPanel error={failure} compact /> : null}
      <form className="form" onSubmit={(e) => void submit(e)} noValidate>
        <Field id="new-key-name" label="Key name" hint="What uses it, e.g. ci-pipeline" error={tried ? nameError : undefined}>
          <input id="new-key-name" value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
        </Field>
        <Field id="new-key-role" label="Role">
          <RoleSelect id="new-key-role" value={role} onChange={setRole} />
        </Field>
        <div className="form-actions">
          <button type="submit" className="button primary" disabled={busy}>
            {busy ? "Creating…" : "Create key"}
          </button>
        </div>
      </form>
    </section>
  );
}

/**
 * An admin sets another user's password without the current one (a forgotten one, a new
 * colleague). One's own changes on the account page, which asks for the current one.
 */
function ResetPasswordForm({ users }: { users: string[] }) {
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [tried, setTried] = useState(false);
  const [done, setDone] = useState<string | undefined>();
  const { busy, failure, run } = useAction();
  const target = user || users[0] || "";
  const passwordError = newPasswordError(password);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setTried(true);
    setDone(undefined);
    if (passwordError || !target) return;
    await run(async () => {
      await apiClient().setUserPassword(target, { new_password: password });
      setPassword("");
      setTried(false);
      setDone(target);
    });
  }
  return (
    <section className="card narrow" aria-labelledby="reset-password-heading">
      <header className="card-header">
        <h2 id="reset-password-heading">Set a password</h2>
      </header>
      <p className="hint">
        For another user; yours changes on <Link href="/account">your account page</Link>.
      </p>
      {failure ? <ErrorPanel error={failure} compact /> : null}
      {done ? (
        <p role="status">
          Password of {done} set; the sessions and tokens {done} held were signed out.
        </p>
      ) : null}
      <form className="form" onSubmit={(e) => void submit(e)} noValidate>
        <Field id="reset-user" label="User">
          <select id="reset-user" value={target} onChange={(e) => setUser(e.target.value)}>
            {users.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </Field>
        <PasswordField
          id="reset-password"
          label="New password"
          value={password}
          onChange={setPassword}
          error={tried ? passwordError : undefined}
        />
        <div className="form-actions">
          <button type="submit" className="button primary" disabled={busy || !target}>
            {busy ? "Setting…" : "Set password"}
          </button>
        </div>
      </form>
    </section>
  );
}

/** The one time a key is visible: only its digest is stored. */
function NewKey({ created, onDismiss }: { created: CreatedApiKey; onDismiss: () => void }) {
  return (
    <section className="card" aria-labelledby="created-key-heading" role="status">
      <header className="card-header">
        <h2 id="created-key-heading">API key {created.name} created</h2>
        <button type="button" className="button subtle" onClick={onDismiss}>
          Done
        </button>
      </header>
      <p>Copy it now; it is not shown again. Exchange it at POST /v1/auth/token as {"{"}&quot;api_key&quot;: …{"}"}.</p>
      <pre className="secret" data-testid="created-api-key">
        {created.api_key}
      </pre>
    </section>
  );
}
