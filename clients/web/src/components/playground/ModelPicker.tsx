import type { Candidate } from "../../lib/models";
import { Field } from "../Field";

/** Chooses which registered model a playground calls; promoted ones come first. */
export function ModelPicker({
  id,
  candidates,
  value,
  onChange,
}: {
  id: string;
  candidates: Candidate[];
  value: string;
  onChange: (ref: string) => void;
}) {
  const known = candidates.some((c) => c.ref === value);
  return (
    <Field id={id} label="Model" hint="name@alias calls whatever version the alias points at.">
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {!known && value ? <option value={value}>{value}</option> : null}
        {candidates.map((c) => (
          <option key={c.ref} value={c.ref}>
            {c.ref}
            {c.promoted ? ` (${c.version.version})` : " (not promoted)"}
          </option>
        ))}
      </select>
    </Field>
  );
}
