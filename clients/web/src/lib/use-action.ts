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

/**
 * State of a button or form that changes something through the API: busy, then done or failed.
 * `describe` says what a failure means; a form may know better than the generic words.
 */
export function useAction(describe: (error: unknown) => ErrorView = describeError): UseAction {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<ErrorView | undefined>();
  const run = useCallback(async (action: () => Promise<void>) => {
    setBusy(true);
    setFailure(undefined);
    try {
      await action();
    } catch (error) {
      setFailure(describe(error));
    } finally {
      setBusy(false);
    }
  }, [describe]);
  return { busy, failure, run };
}
