import type { SystemInfo } from "@strata/client";
import type { ErrorView } from "../lib/errors";
import { formatUptime } from "../lib/format";
import { findKind, kindsOf } from "../lib/model-kinds";
import { ErrorPanel } from "./ErrorPanel";
import { Fact } from "./Fact";

export type SystemState =
  | { status: "loading" }
  | { status: "ok"; info: SystemInfo }
  | { status: "error"; error: ErrorView };

interface SystemViewProps {
  state: SystemState;
  refreshing?: boolean;
  onRefresh?: () => void;
}

/** The System page body for one state; no fetching here, so every state renders in a test. */
export function SystemView({ state, refreshing = false, onRefresh }: SystemViewProps) {
  return (
    <section className="card" aria-labelledby="ml-heading" aria-busy={state.status === "loading" || refreshing}>
      <header className="card-header">
        <h2 id="ml-heading">ML service</h2>
        <StatusPill state={state} />
        {onRefresh ? (
          <button type="button" className="button" onClick={onRefresh} disabled={refreshing}>
            {refreshing ? "Refreshing…" : "Refresh"}
          </button>
        ) : null}
      </header>
      {state.status === "loading" ? <p className="muted">Asking the API…</p> : null}
      {state.status === "ok" ? <SystemDetails info={state.info} /> : null}
      {state.status === "error" ? <ErrorPanel error={state.error} /> : null}
    </section>
  );
}

function StatusPill({ state }: { state: SystemState }) {
  if (state.status === "ok") return <span className="pill pill-ok">Online</span>;
  if (state.status === "error") return <span className="pill pill-error">Unavailable</span>;
  return <span className="pill">Checking</span>;
}

function SystemDetails({ info }: { info: SystemInfo }) {
  const { ml } = info;
  const kinds = kindsOf(ml);
  // The registry's names, with the server's description of each where it sends one.
  const names = [...new Set([...ml.model_kinds, ...kinds.map((k) => k.name)])];
  return (
    <dl className="facts">
      <Fact label="Service" testId="ml-service" value={ml.service} />
      <Fact label="Version" testId="ml-version" value={ml.version} />
      <Fact label="Device" testId="ml-device" value={ml.device} />
      {/* Only after a fallback (`--device auto` found no usable GPU): a CPU-served GPU deployment must show. */}
      {ml.device_note ? <Fact label="Device note" testId="ml-device-note" value={ml.device_note} /> : null}
      <Fact label="CUDA compiled" testId="ml-cuda" value={ml.cuda_compiled ? "yes" : "no"} />
      <Fact label="Uptime" testId="ml-uptime" value={formatUptime(ml.uptime_seconds)} />
      <div className="fact wide">
        <dt>Model kinds</dt>
        <dd data-testid="ml-model-kinds">
          {names.length === 0 ? (
            <span className="muted">none registered</span>
          ) : (
            <ul className="kinds">
              {names.map((name) => {
                const kind = findKind(kinds, name);
                return (
                  <li key={name}>
                    <span className="tag">{name}</span>
                    {kind ? (
                      <>
                        {" "}
                        {kind.title}
                        {kind.trainable ? "" : " (import only)"} <span className="muted small">{kind.description}</span>
                      </>
                    ) : null}
                  </li>
                );
              })}
            </ul>
          )}
        </dd>
      </div>
      <Fact label="API version" testId="api-version" value={info.api_version} />
    </dl>
  );
}
