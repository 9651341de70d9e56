import type { ErrorView } from "../lib/errors";

/** A failure as an alert: headline, what happened, the server's words, and what to do. */
export function ErrorPanel({ error, compact = false }: { error: ErrorView; compact?: boolean }) {
  return (
    <div className={compact ? "error-panel compact" : "error-panel"} role="alert" data-kind={error.kind}>
      <h3>{error.title}</h3>
      <p>{error.message}</p>
      {error.detail ? <p className="error-detail">{error.detail}</p> : null}
      <p className="muted">
        {error.hint}
        {error.kind === "unauthenticated" ? (
          <>
            {" "}
            <a href="/signin">Sign in</a>
          </>
        ) : null}
      </p>
    </div>
  );
}

/** A polite placeholder while something loads. */
export function Loading({ label }: { label: string }) {
  return (
    <p className="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

/** An empty state that says what to do next. */
export function Empty({ title, children }: { title: string; children?: React.ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children ? <div className="muted">{children}</div> : null}
    </div>
  );
}
