"use client";

import type { Model, TrainingJob } from "@strata/client";
import Link from "next/link";
import { useEffect, useState } from "react";
import { LIST_PAGE_SIZE, LIST_REFRESH_MS } from "../lib/config";
import { DEV_ADMIN_PASSWORD_FILE, gettingStartedCommands, playgroundModels } from "../lib/getting-started";
import { isActive } from "../lib/training";
import { useApi } from "../lib/use-api";

/** Remembers, per browser, that the panel was dismissed. */
export const DISMISSED_KEY = "strata.gettingStarted.dismissed";

/**
 * What this stack holds and what to try next, with commands for its own API: the first thing a
 * new user sees on the overview. Dismissible; a button brings it back.
 */
export function GettingStarted({ apiUrl }: { apiUrl: string }) {
  // Unknown until mounted (localStorage is browser-only); shown by default.
  const [dismissed, setDismissed] = useState<boolean | undefined>();
  useEffect(() => setDismissed(window.localStorage.getItem(DISMISSED_KEY) === "1"), []);

  const content = useApi(
    "getting-started",
    async (client, signal) => {
      const [models, jobs, me] = await Promise.all([
        client.listModels({ pageSize: LIST_PAGE_SIZE, signal }),
        client.listTrainingJobs({ pageSize: LIST_PAGE_SIZE, signal }),
        client.getCurrentPrincipal({ signal }),
      ]);
      return { models: models.models, active: jobs.jobs.filter((j) => isActive(j.state)), user: me.name };
    },
    { refreshMs: LIST_REFRESH_MS * 2, enabled: dismissed === false },
  );

  const setShown = (shown: boolean) => {
    if (shown) window.localStorage.removeItem(DISMISSED_KEY);
    else window.localStorage.setItem(DISMISSED_KEY, "1");
    setDismissed(!shown);
  };

  if (dismissed === undefined) return null;
  if (dismissed) {
    return (
      <p className="getting-started-restore">
        <button type="button" className="button subtle" onClick={() => setShown(true)}>
          Show getting started
        </button>
      </p>
    );
  }

  const data = content.data;
  const commands = gettingStartedCommands({ apiUrl, user: data?.user ?? "admin", ...playgroundModels(data?.models ?? []) });
  return (
    <section className="card getting-started" aria-labelledby="getting-started-title">
      <div className="card-header">
        <h2 id="getting-started-title">Getting started</h2>
        <button type="button" className="button subtle" onClick={() => setShown(false)} aria-label="Dismiss getting started">
          Dismiss
        </button>
      </div>
      <h3>What is here</h3>
      {data ? <Inventory models={data.models} active={data.active} /> : <p className="muted">Loading…</p>}
      <h3>Try next</h3>
      <ul className="next-steps">
        <li>
          <Link href="/playground/digits">Draw a digit</Link> and see the MLP classifier read it.
        </li>
        <li>
          <Link href="/playground/embeddings">Compare sentences</Link> with the text encoder&apos;s embeddings.
        </li>
        <li>
          Train your own: <Link href="/datasets">upload a Parquet file</Link>, then start a{" "}
          <Link href="/training/new">training job</Link> and watch it live.
        </li>
        <li>
          Read the REST API at <a href={`${apiUrl}/docs`}>{apiUrl}/docs</a>.
        </li>
      </ul>
      <h3>From your terminal</h3>
      <p className="muted">
        A token for <strong>{data?.user ?? "your user"}</strong> (the dev stack keeps the generated admin password in{" "}
        <code>{DEV_ADMIN_PASSWORD_FILE}</code>), then the same calls this app makes:
      </p>
      <pre className="code" aria-label="curl commands">
        <code>{commands.curl}</code>
      </pre>
      <p className="muted">
        Or from TypeScript with the generated client, <code>@strata/client</code>:
      </p>
      <pre className="code" aria-label="TypeScript client example">
        <code>{commands.typescript}</code>
      </pre>
    </section>
  );
}

/** The models (with their promoted alias) and the jobs still running. */
function Inventory({ models, active }: { models: Model[]; active: TrainingJob[] }) {
  if (models.length === 0 && active.length === 0) {
    return <p className="muted">No models yet. Upload a dataset and train one, or start the dev stack with its demo content.</p>;
  }
  return (
    <ul className="inventory" aria-label="Models and running jobs">
      {models.map((m) => (
        <li key={m.name}>
          <Link href={`/models/${encodeURIComponent(m.name)}`}>{m.name}</Link>{" "}
          <span className="muted">
            {m.versions[0]?.kind ?? "model"}
            {Object.entries(m.aliases)
              .map(([alias, version]) => ` · ${alias} → ${version}`)
              .join("")}
          </span>
        </li>
      ))}
      {active.map((j) => (
        <li key={j.id}>
          Training <strong>{j.model_name}</strong> ({j.kind}) — <Link href={`/training/${encodeURIComponent(j.id)}`}>watch it live</Link>
        </li>
      ))}
    </ul>
  );
}
