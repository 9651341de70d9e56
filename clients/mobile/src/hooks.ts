import type { StrataClient, TrainingEvent, TrainingJob } from "@strata/client";
import { isTerminalJobState } from "@strata/client";
import { useCallback, useEffect, useRef, useState } from "react";
import { describeError, isUnauthorized } from "./errors";
import { useClient, useSession } from "./session";

export interface Resource<T> {
  data: T | undefined;
  /** Plain-words error of the last load, if it failed. */
  error: string | undefined;
  loading: boolean;
  /** A pull-to-refresh is running (the data on screen stays until it ends). */
  refreshing: boolean;
  refresh(): void;
}

/** Sends an ended session back to sign in; every screen's failures go through this. */
export function useFailureHandler(): (error: unknown) => string {
  const { signOut } = useSession();
  return useCallback(
    (error: unknown) => {
      if (isUnauthorized(error)) void signOut("Your session has ended. Sign in again.");
      return describeError(error);
    },
    [signOut],
  );
}

/**
 * Loads something with the signed-in client, again on `refresh()`. A load that is overtaken (new
 * deps, unmount) is aborted and its answer dropped, so a slow old answer never overwrites a new one.
 */
export function useResource<T>(load: (client: StrataClient, signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): Resource<T> {
  const client = useClient();
  const fail = useFailureHandler();
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);
  const [refreshing, setRefreshing] = useState(false);
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    loadRef
      .current(client, controller.signal)
      .then((value) => {
        if (controller.signal.aborted) return;
        setData(value);
        setError(undefined);
      })
      .catch((cause: unknown) => {
        if (controller.signal.aborted) return;
        setError(fail(cause));
      })
      .finally(() => {
        if (controller.signal.aborted) return;
        setLoading(false);
        setRefreshing(false);
      });
    return () => controller.abort();
    // `load` is read through a ref: callers pass a new closure every render, and only `deps` say
    // when its answer would differ.
  }, [client, fail, generation, ...deps]);

  const refresh = useCallback(() => {
    setRefreshing(true);
    setGeneration((g) => g + 1);
  }, []);
  return { data, error, loading, refreshing, refresh };
}

export type Connection = "connecting" | "live" | "reconnecting" | "ended" | "failed";

export interface JobWatch {
  job: TrainingJob | undefined;
  /** Training loss per progress event, in order (the live chart). */
  losses: number[];
  connection: Connection;
  /** Failed reconnects in a row while `reconnecting`. */
  attempt: number;
  error: string | undefined;
}

/**
 * Follows a job's event stream with the client's `watchTrainingJob`, which resumes with
 * Last-Event-ID after a dropped connection; the job's state comes from the events themselves.
 */
export function useJobWatch(id: string, options: { retryDelayMs?: number } = {}): JobWatch {
  const client = useClient();
  const fail = useFailureHandler();
  const [watch, setWatch] = useState<JobWatch>({ job: undefined, losses: [], connection: "connecting", attempt: 0, error: undefined });
  const retryDelayMs = options.retryDelayMs;

  useEffect(() => {
    const controller = new AbortController();
    setWatch({ job: undefined, losses: [], connection: "connecting", attempt: 0, error: undefined });
    (async () => {
      try {
        const events = client.watchTrainingJob(id, {
          signal: controller.signal,
          ...(retryDelayMs !== undefined ? { retryDelayMs } : {}),
          onOpen: () => setWatch((w) => ({ ...w, connection: "live", attempt: 0, error: undefined })),
          onReconnect: (reason, attempt) =>
            setWatch((w) => ({ ...w, connection: "reconnecting", attempt, error: describeError(reason) })),
        });
        for await (const event of events) setWatch((w) => apply(w, event));
        setWatch((w) => ({ ...w, connection: "ended", error: undefined }));
      } catch (error) {
        if (controller.signal.aborted) return;
        const message = fail(error);
        setWatch((w) => ({ ...w, connection: "failed", error: message }));
      }
    })();
    return () => controller.abort();
  }, [client, fail, id, retryDelayMs]);
  return watch;
}

function apply(watch: JobWatch, event: TrainingEvent): JobWatch {
  const job = event.job ?? watch.job;
  const progress = event.kind === "progress" ? event.job?.progress : undefined;
  // A progress event before the first step carries no measured loss yet.
  const loss = progress && progress.step > 0 ? progress.train_loss : undefined;
  return {
    ...watch,
    job,
    losses: loss !== undefined && Number.isFinite(loss) ? [...watch.losses, loss] : watch.losses,
    connection: isTerminalJobState(job?.state) ? "ended" : watch.connection,
  };
}
