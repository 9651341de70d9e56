"use client";

import { useCallback, useEffect, useRef, useState } from "react";
import { apiClient } from "../lib/api";
import { SYSTEM_REFRESH_MS } from "../lib/config";
import { describeSystemError } from "../lib/system-view";
import { SystemView, type SystemState } from "./SystemView";

/** Live System panel: fetches through the API proxy on load, on demand and every few seconds. */
export function SystemPanel() {
  const [state, setState] = useState<SystemState>({ status: "loading" });
  const [refreshing, setRefreshing] = useState(false);
  const inFlight = useRef<AbortController | null>(null);

  const load = useCallback(async () => {
    // One request at a time: a slow answer must not overwrite a newer one.
    inFlight.current?.abort();
    const controller = new AbortController();
    inFlight.current = controller;
    setRefreshing(true);
    try {
      const info = await apiClient().getSystemInfo({ signal: controller.signal });
      setState({ status: "ok", info });
    } catch (error) {
      if (controller.signal.aborted) return;
      setState({ status: "error", error: describeSystemError(error) });
    } finally {
      if (inFlight.current === controller) {
        inFlight.current = null;
        setRefreshing(false);
      }
    }
  }, []);

  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), SYSTEM_REFRESH_MS);
    return () => {
      clearInterval(timer);
      inFlight.current?.abort();
    };
  }, [load]);

  return <SystemView state={state} refreshing={refreshing} onRefresh={() => void load()} />;
}
