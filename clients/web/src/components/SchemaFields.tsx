import type { FieldErrors, FieldTexts, SchemaField } from "../lib/schema-form";
import { Field } from "./Field";

/** An id for a property's control; property names come from the server, so keep ids tame. */
export const fieldId = (prefix: string, name: string) => `${prefix}-${name.replace(/[^A-Za-z0-9_-]/g, "_")}`;

/**
 * A control per schema field, as `Field`s. Every one is optional: left blank it is not sent and
 * the server's default (the placeholder, or the "Default" entry of a list) applies.
 */
export function SchemaFields({
  prefix,
  fields,
  values,
  errors,
  onChange,
}: {
  /** Starts every control's id, so two schemas with a same-named property do not clash. */
  prefix: string;
  fields: SchemaField[];
  values: FieldTexts;
  errors: FieldErrors;
  onChange: (name: string, text: string) => void;
}) {
  return (
    <>
      {fields.map((field) => (
        <SchemaInput key={field.name} id={fieldId(prefix, field.name)} field={field} value={values[field.name] ?? ""} error={errors[field.name]} onChange={onChange} />
      ))}
    </>
  );
}

function SchemaInput({
  id,
  field,
  value,
  error,
  onChange,
}: {
  id: string;
  field: SchemaField;
  value: string;
  error: string | undefined;
  onChange: (name: string, text: string) => void;
}) {
  const { control, placeholder } = field;
  const set = (text: string) => onChange(field.name, text);
  const byDefault = placeholder ? `Default (${placeholder})` : "Default";

  if (control.type === "choice") {
    // A choice's own description says more than the property's; show the one in effect.
    const effective = control.options.find((o) => o.value === (value || placeholder));
    const hint = [field.hint, effective?.description].filter(Boolean).join(" ") || undefined;
    return (
      <Field id={id} label={field.label} hint={hint} error={error} optional>
        <select id={id} value={value} onChange={(e) => set(e.target.value)}>
          <option value="">{byDefault}</option>
          {control.options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.value}
            </option>
          ))}
        </select>
      </Field>
    );
  }
  if (control.type === "boolean") {
    return (
      <Field id={id} label={field.label} hint={field.hint} error={error} optional>
        <select id={id} value={value} onChange={(e) => set(e.target.value)}>
          <option value="">{byDefault}</option>
          <option value="true">yes</option>
          <option value="false">no</option>
        </select>
      </Field>
    );
  }
  const numeric = control.type === "integer" || control.type === "number";
  return (
    <Field id={id} label={field.label} hint={field.hint} error={error} optional>
      <input
        id={id}
        value={value}
        placeholder={placeholder}
        inputMode={control.type === "integer" ? "numeric" : numeric ? "decimal" : undefined}
        spellCheck={numeric || control.type === "list" || control.type === "json" ? false : undefined}
        autoComplete="off"
        className={control.type === "json" ? "mono" : undefined}
        onChange={(e) => set(e.target.value)}
      />
    </Field>
  );
}
