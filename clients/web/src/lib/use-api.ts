"use client";

import type { StrataClient } from "@strata/client";
import { useCallback, useEffect, useRef, useState } from "react";
import { apiClient } from "./api";
import { describeError, type ErrorView } from "./errors";

/** A value loaded from the API: loading, loaded (maybe refreshing), or failed (keeping the last good value). */
export type Loaded<T> =
  | { status: "loading" }
  | { status: "ok"; data: T }
  | { status: "error"; error: ErrorView; data?: T | undefined };

export interface UseApi<T> {
  state: Loaded<T>;
  /** The last value that loaded, even while a later refresh fails. */
  data: T | undefined;
  refreshing: boolean;
  reload: () => void;
  /** Replaces the value, e.g. with what a mutation returned. */
  set: (data: T) => void;
}

/**
 * Loads `load` on mount, when `key` changes, on `reload()`, and every `refreshMs` if given. One
 * request at a time: a newer one aborts the older, so a slow answer never overwrites a newer one.
 */
export function useApi<T>(
  key: string,
  load: (client: StrataClient, signal: AbortSignal) => Promise<T>,
  options: { refreshMs?: number | undefined; enabled?: boolean } = {},
): UseApi<T> {
  const { refreshMs, enabled = true } = options;
  const [state, setState] = useState<Loaded<T>>({ status: "loading" });
  const [refreshing, setRefreshing] = useState(false);
  const inFlight = useRef<AbortController | null>(null);
  const loadRef = useRef(load);
  loadRef.current = load;

  const run = useCallback(async () => {
    inFlight.current?.abort();
    const controller = new AbortController();
    inFlight.current = controller;
    setRefreshing(true);
    try {
      const data = await loadRef.current(apiClient(), controller.signal);
      if (!controller.signal.aborted) setState({ status: "ok", data });
    } catch (error) {
      if (controller.signal.aborted) return;
      setState((previous) => ({
        status: "error",
        error: describeError(error),
        data: previous.status === "loading" ? undefined : previous.data,
      }));
    } finally {
      if (inFlight.current === controller) {
        inFlight.current = null;
        setRefreshing(false);
      }
    }
  }, []);

  useEffect(() => {
    if (!enabled) return;
    setState({ status: "loading" });
    void run();
    const timer = refreshMs ? setInterval(() => void run(), refreshMs) : undefined;
    return () => {
      if (timer) clearInterval(timer);
      inFlight.current?.abort();
    };
  }, [key, refreshMs, enabled, run]);

  return {
    state,
    data: state.status === "loading" ? undefined : state.data,
    refreshing,
    reload: () => void run(),
    set: (data) => setState({ status: "ok", data }),
  };
}
