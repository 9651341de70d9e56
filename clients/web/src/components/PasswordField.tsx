import { Field } from "./Field";

/** A labelled password input; `autoComplete` tells password managers to fill or to generate. */
export function PasswordField({
  id,
  label,
  value,
  onChange,
  error,
  autoComplete = "new-password",
}: {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string | undefined;
  autoComplete?: "new-password" | "current-password";
}) {
  return (
    <Field id={id} label={label} error={error}>
      <input id={id} type="password" value={value} onChange={(e) => onChange(e.target.value)} autoComplete={autoComplete} />
    </Field>
  );
}
