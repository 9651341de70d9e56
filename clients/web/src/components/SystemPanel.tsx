"use client";

import { SYSTEM_REFRESH_MS } from "../lib/config";
import { useApi } from "../lib/use-api";
import { SystemView } from "./SystemView";

/** Live System panel: fetches through the API proxy on load, on demand and every few seconds. */
export function SystemPanel() {
  const system = useApi("system", (client, signal) => client.getSystemInfo({ signal }), { refreshMs: SYSTEM_REFRESH_MS });
  const state =
    system.state.status === "error"
      ? ({ status: "error", error: system.state.error } as const)
      : system.state.status === "ok"
        ? ({ status: "ok", info: system.state.data } as const)
        : ({ status: "loading" } as const);
  return <SystemView state={state} refreshing={system.refreshing} onRefresh={system.reload} />;
}
