import { cloneElement, type ReactElement, type ReactNode } from "react";

/**
 * A labelled form field whose hint and error reach screen readers: the control (the one child,
 * whose id is `id`) gets `aria-describedby` pointing at both and `aria-invalid` while in error.
 */
export function Field({
  id,
  label,
  hint,
  error,
  optional = false,
  after,
  children,
}: {
  id: string;
  label: string;
  hint?: string | undefined;
  error?: string | undefined;
  optional?: boolean;
  /** Shown right after the control (e.g. the chosen file's size). */
  after?: ReactNode;
  children: ReactElement<{ "aria-describedby"?: string; "aria-invalid"?: boolean }>;
}) {
  const describedBy = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div className={error ? "field invalid" : "field"}>
      <label htmlFor={id}>
        {label}
        {optional ? <span className="optional"> (optional)</span> : null}
      </label>
      {cloneElement(children, {
        ...(describedBy ? { "aria-describedby": describedBy } : {}),
        ...(error ? { "aria-invalid": true } : {}),
      })}
      {after}
      {hint ? (
        <span className="hint" id={`${id}-hint`}>
          {hint}
        </span>
      ) : null}
      {error ? (
        <span className="field-error" id={`${id}-error`}>
          {error}
        </span>
      ) : null}
    </div>
  );
}
