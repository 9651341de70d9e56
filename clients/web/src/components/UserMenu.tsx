"use client";

import type { Principal } from "@strata/client";
import Link from "next/link";
import { useEffect, useState } from "react";
import { SESSION_PATH } from "../lib/config";

/** Who is signed in (from `/session`, which asks the API), linking to their account, and a sign-out button. */
export function UserMenu() {
  const [principal, setPrincipal] = useState<Principal | undefined>();

  useEffect(() => {
    const controller = new AbortController();
    fetch(SESSION_PATH, { signal: controller.signal })
      .then(async (r) => (r.ok ? setPrincipal((await r.json()) as Principal) : undefined))
      // The API status banner explains outages; the menu just shows no name meanwhile.
      .catch(() => undefined);
    return () => controller.abort();
  }, []);

  async function signOut() {
    await fetch(SESSION_PATH, { method: "DELETE" }).catch(() => undefined);
    window.location.assign("/signin");
  }

  return (
    <div className="usermenu">
      {principal ? (
        <span className="whoami" data-testid="whoami">
          <Link href="/account" title="Your account">
            {principal.name}
          </Link>{" "}
          <span className="role">{principal.role}</span>
        </span>
      ) : null}
      <button type="button" className="button subtle" onClick={() => void signOut()}>
        Sign out
      </button>
    </div>
  );
}
