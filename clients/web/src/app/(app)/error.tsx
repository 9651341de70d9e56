"use client";

import { ErrorPanel } from "../../components/ErrorPanel";
import { describeError } from "../../lib/errors";

/** A page that throws while rendering shows what happened instead of a blank screen. */
export default function PageError({ error, reset }: { error: Error; reset: () => void }) {
  return (
    <>
      <ErrorPanel error={describeError(error)} />
      <button type="button" className="button" onClick={reset}>
        Try again
      </button>
    </>
  );
}
