"use client";

import { useCallback, useState } from "react";
import { describeError, type ErrorView } from "./errors";

export interface UseAction {
  /** An action is running. */
  busy: boolean;
  /** How the last action failed, as the API said it; cleared when the next one starts. */
  failure: ErrorView | undefined;
  run: (action: () => Promise<void>) => Promise<void>;
}

/** State of a button or form that changes something through the API: busy, then done or failed. */
export function useAction(): UseAction {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<ErrorView | undefined>();
  const run = useCallback(async (action: () => Promise<void>) => {
    setBusy(true);
    setFailure(undefined);
    try {
      await action();
    } catch (error) {
      setFailure(describeError(error));
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, failure, run };
}
