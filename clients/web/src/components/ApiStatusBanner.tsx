"use client";

import { useEffect, useState } from "react";
import { apiClient } from "../lib/api";
import { STATUS_REFRESH_MS } from "../lib/config";
import { describeError, isOutage, type ErrorView } from "../lib/errors";

/**
 * One page-wide banner while the API or the ML service is out of reach, so every page says it
 * the same way and the page's own panels can stay specific. Checks `/readyz` now and then, and
 * at once when the tab becomes visible again.
 */
export function ApiStatusBanner() {
  const [outage, setOutage] = useState<ErrorView | undefined>();

  useEffect(() => {
    let controller: AbortController | undefined;
    const check = async () => {
      controller?.abort();
      controller = new AbortController();
      try {
        await apiClient().readyz({ signal: controller.signal });
        setOutage(undefined);
      } catch (error) {
        if (controller.signal.aborted) return;
        const view = describeError(error);
        setOutage(isOutage(view) ? view : undefined);
      }
    };
    void check();
    const timer = setInterval(() => void check(), STATUS_REFRESH_MS);
    const onVisible = () => document.visibilityState === "visible" && void check();
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisible);
      controller?.abort();
    };
  }, []);

  if (!outage) return null;
  return (
    <div className="banner" role="alert" data-testid="api-banner" data-kind={outage.kind}>
      <div className="banner-inner">
        <strong>{outage.title}.</strong> {outage.message} <span className="banner-hint">{outage.hint}</span>
      </div>
    </div>
  );
}
