/**
 * Forms built from a JSON Schema the server sends (a model kind's `parameters`, the shared training
 * knobs): which control each property gets, how its typed text becomes a value, and the object to
 * send. The server owns every rule and default, so this reads them from the schema and never names
 * a property. A blank field is left out of the object: the server's default applies, and the form
 * shows that default as the placeholder rather than sending its own copy of it.
 *
 * The schema is untrusted JSON: unknown keywords are ignored, and a property this cannot type
 * becomes a JSON text field instead of an exception.
 */

export type JsonSchema = Record<string, unknown>;

export interface Choice {
  value: string;
  description?: string | undefined;
}

export type Control =
  | { type: "integer" }
  | { type: "number" }
  | { type: "string" }
  | { type: "boolean" }
  | { type: "choice"; options: Choice[] }
  | { type: "list"; item: "integer" | "number" }
  | { type: "json" };

export interface SchemaField {
  /** The property name: the key in the object sent. */
  name: string;
  label: string;
  /** The property's description, then its bounds in words. */
  hint: string | undefined;
  /** The server's default as one would type it; empty when the schema gives none. */
  placeholder: string;
  control: Control;
  /** The property's schema with `null` taken out of its type (a blank field is the null). */
  schema: JsonSchema;
}

/** What each field's text is: the form keeps text, so half-typed values survive re-renders. */
export type FieldTexts = Record<string, string>;
export type FieldErrors = Record<string, string>;
export type Built = { ok: true; value: Record<string, unknown> } | { ok: false; errors: FieldErrors };
export type ParsedField = { ok: true; value: unknown } | { ok: false; error: string };

const isRecord = (v: unknown): v is JsonSchema => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const text = (v: unknown): string | undefined => (typeof v === "string" && v.trim() !== "" ? v.trim() : undefined);
const isNullSchema = (s: unknown) => isRecord(s) && (s.type === "null" || (s.const === null && "const" in s));

/** `batch_size` → "Batch size", `encoderLrScale` → "Encoder lr scale". */
export function humanise(name: string): string {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .split(/[\s_-]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
  const joined = words.join(" ");
  return joined ? joined.charAt(0).toUpperCase() + joined.slice(1) : name;
}

/**
 * The property without its nullability: an `Option<T>` arrives as `type: [T, "null"]` or as
 * `anyOf: [{T}, {type: "null"}]`; the outer keys (title, description, default) win over the inner.
 */
function resolve(property: unknown): JsonSchema {
  if (!isRecord(property)) return {};
  for (const key of ["anyOf", "oneOf"] as const) {
    const variants = property[key];
    if (!Array.isArray(variants)) continue;
    const rest = variants.filter((v) => !isNullSchema(v));
    if (rest.length === 1 && rest.length < variants.length && isRecord(rest[0]) && choicesOf(property) === undefined) {
      const { [key]: _dropped, ...outer } = property;
      return { ...resolve(rest[0]), ...outer };
    }
  }
  return property;
}

function types(schema: JsonSchema): string[] {
  const t = schema.type;
  const all = Array.isArray(t) ? t : t === undefined ? [] : [t];
  return all.filter((x): x is string => typeof x === "string" && x !== "null");
}

/** String choices from `enum: [...]` or `oneOf: [{const, description}, ...]`; else undefined. */
function choicesOf(schema: JsonSchema): Choice[] | undefined {
  if (Array.isArray(schema.enum)) {
    const values = schema.enum.filter((v) => v !== null);
    return values.length > 0 && values.every((v) => typeof v === "string") ? values.map((value) => ({ value: value as string })) : undefined;
  }
  for (const key of ["oneOf", "anyOf"] as const) {
    const variants = schema[key];
    if (!Array.isArray(variants)) continue;
    const options: Choice[] = [];
    for (const v of variants) {
      if (isNullSchema(v)) continue;
      if (!isRecord(v)) return undefined;
      const value = typeof v.const === "string" ? v.const : Array.isArray(v.enum) && v.enum.length === 1 && typeof v.enum[0] === "string" ? v.enum[0] : undefined;
      if (value === undefined) return undefined;
      options.push({ value, description: text(v.description) ?? text(v.title) });
    }
    return options.length > 0 ? options : undefined;
  }
  return undefined;
}

function controlOf(schema: JsonSchema): Control {
  const options = choicesOf(schema);
  if (options) return { type: "choice", options };
  const t = types(schema);
  if (t.length === 2 && t.includes("integer") && t.includes("number")) return { type: "number" };
  if (t.length !== 1) return { type: "json" };
  switch (t[0]) {
    case "integer":
      return { type: "integer" };
    case "number":
      return { type: "number" };
    case "boolean":
      return { type: "boolean" };
    case "string":
      return { type: "string" };
    case "array": {
      const item = types(resolve(schema.items));
      if (item.length === 1 && (item[0] === "integer" || item[0] === "number") && choicesOf(resolve(schema.items)) === undefined) {
        return { type: "list", item: item[0] };
      }
      return { type: "json" };
    }
    default:
      return { type: "json" };
  }
}

interface Bounds {
  lo?: number | undefined;
  loExclusive: boolean;
  hi?: number | undefined;
  hiExclusive: boolean;
}

// Draft 2020-12 has numeric `exclusiveMinimum`; draft 4's boolean form is read too.
function boundsOf(schema: JsonSchema): Bounds {
  const exLo = num(schema.exclusiveMinimum);
  const exHi = num(schema.exclusiveMaximum);
  return {
    lo: exLo ?? num(schema.minimum),
    loExclusive: exLo !== undefined || (schema.exclusiveMinimum === true && num(schema.minimum) !== undefined),
    hi: exHi ?? num(schema.maximum),
    hiExclusive: exHi !== undefined || (schema.exclusiveMaximum === true && num(schema.maximum) !== undefined),
  };
}

// An unsigned 32-bit field's schema says `maximum: 4294967295`; that is the storage type talking,
// not advice, so hints leave such maxima out (errors, which must be exact, keep them).
const STORAGE_MAXIMA = new Set([2 ** 31 - 1, 2 ** 32 - 1, 2 ** 63 - 1, 2 ** 64 - 1, Number.MAX_SAFE_INTEGER]);

/** "from 1 to 4", "at least 0", "above 0", "at least 0 and below 1"; empty without bounds. */
function boundsText(b: Bounds, forHint: boolean): string {
  const hi = forHint && b.hi !== undefined && STORAGE_MAXIMA.has(b.hi) ? undefined : b.hi;
  const low = b.lo === undefined ? "" : `${b.loExclusive ? "above" : "at least"} ${b.lo}`;
  const high = hi === undefined ? "" : `${b.hiExclusive ? "below" : "at most"} ${hi}`;
  if (b.lo !== undefined && hi !== undefined && !b.loExclusive && !b.hiExclusive) return `from ${b.lo} to ${hi}`;
  return [low, high].filter(Boolean).join(" and ");
}

function inBounds(n: number, b: Bounds): boolean {
  if (b.lo !== undefined && (b.loExclusive ? n <= b.lo : n < b.lo)) return false;
  if (b.hi !== undefined && (b.hiExclusive ? n >= b.hi : n > b.hi)) return false;
  return true;
}

const sentence = (s: string) => (s ? `${s.charAt(0).toUpperCase()}${s.slice(1)}.` : "");

function itemCountText(schema: JsonSchema): string {
  const min = num(schema.minItems);
  const max = num(schema.maxItems);
  if (min !== undefined && min > 0 && max !== undefined) return `${min} to ${max} values`;
  if (max !== undefined) return `at most ${max} value${max === 1 ? "" : "s"}`;
  if (min !== undefined && min > 0) return `at least ${min} value${min === 1 ? "" : "s"}`;
  return "";
}

function hintOf(schema: JsonSchema, control: Control): string | undefined {
  const description = text(schema.description);
  let range = "";
  if (control.type === "integer" || control.type === "number") {
    range = sentence(boundsText(boundsOf(schema), true));
  } else if (control.type === "list") {
    const each = boundsText(boundsOf(resolve(schema.items)), true);
    range = sentence(["comma-separated", each ? `each ${each}` : "", itemCountText(schema)].filter(Boolean).join(", "));
  } else if (control.type === "json") {
    range = "As JSON.";
  }
  const parts = [description ? (/[.!?]$/.test(description) ? description : `${description}.`) : "", range].filter(Boolean);
  return parts.length > 0 ? parts.join(" ") : undefined;
}

/** The server's default as the field would hold it. */
function placeholderOf(schema: JsonSchema, control: Control): string {
  const d = schema.default;
  if (d === undefined || d === null) return "";
  if (control.type === "list" && Array.isArray(d)) return d.join(", ");
  if (control.type === "boolean" && typeof d === "boolean") return d ? "yes" : "no";
  if (typeof d === "string" || typeof d === "number" || typeof d === "boolean") return String(d);
  return JSON.stringify(d);
}

/** The fields of an object schema, in its property order; anything but an object schema has none. */
export function schemaFields(schema: unknown): SchemaField[] {
  if (!isRecord(schema) || !isRecord(schema.properties)) return [];
  return Object.entries(schema.properties).map(([name, property]) => {
    const resolved = resolve(property);
    const control = controlOf(resolved);
    return {
      name,
      label: text(resolved.title) ?? humanise(name),
      hint: hintOf(resolved, control),
      placeholder: placeholderOf(resolved, control),
      control,
      schema: resolved,
    };
  });
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A number from text, or what it must be ("a whole number from 1 to 4"). */
function parseNumber(t: string, kind: "integer" | "number", schema: JsonSchema): number | string {
  const b = boundsOf(schema);
  const what = `${kind === "integer" ? "a whole number" : "a number"}${boundsText(b, false) ? ` ${boundsText(b, false)}` : ""}`;
  if (!(kind === "integer" ? INTEGER : DECIMAL).test(t)) return what;
  const n = Number(t);
  if (!Number.isFinite(n) || (kind === "integer" && !Number.isSafeInteger(n)) || !inBounds(n, b)) return what;
  return n;
}

function parseList(t: string, item: "integer" | "number", schema: JsonSchema): unknown[] | string {
  const itemSchema = resolve(schema.items);
  const each = boundsText(boundsOf(itemSchema), false);
  const count = itemCountText(schema);
  const example = Array.isArray(schema.default) && schema.default.length > 1 ? schema.default.join(", ") : item === "integer" ? "128, 64" : "0.5, 0.25";
  const rule = `${item === "integer" ? "whole numbers" : "numbers"}${each ? ` ${each}` : ""}, separated by commas${count ? ` (${count})` : ""}, e.g. ${example}`;
  let parts: unknown[];
  if (t.startsWith("[")) {
    // JSON also reads, which is the one way to say "an empty list" in a field where blank means default.
    try {
      const parsed: unknown = JSON.parse(t);
      if (!Array.isArray(parsed)) return rule;
      parts = parsed;
    } catch {
      return rule;
    }
  } else {
    parts = t.split(",").map((p) => p.trim());
  }
  const values: number[] = [];
  for (const p of parts) {
    const n = typeof p === "number" ? parseNumber(String(p), item, itemSchema) : typeof p === "string" ? parseNumber(p, item, itemSchema) : rule;
    if (typeof n === "string") return rule;
    values.push(n);
  }
  const min = num(schema.minItems);
  const max = num(schema.maxItems);
  if ((min !== undefined && values.length < min) || (max !== undefined && values.length > max)) return rule;
  return values;
}

/**
 * The value of one field's text: `undefined` when blank (the server's default), else the typed
 * value, or the reason it is not one (`"<label> must be …"`).
 */
export function parseField(field: SchemaField, input: string): ParsedField {
  const t = input.trim();
  if (t === "") return { ok: true, value: undefined };
  const fail = (rule: string): ParsedField => ({ ok: false, error: `${field.label} must be ${rule}.` });
  const { control, schema } = field;
  switch (control.type) {
    case "integer":
    case "number": {
      const n = parseNumber(t, control.type, schema);
      return typeof n === "string" ? fail(n) : { ok: true, value: n };
    }
    case "boolean":
      if (/^(true|yes|on)$/i.test(t)) return { ok: true, value: true };
      if (/^(false|no|off)$/i.test(t)) return { ok: true, value: false };
      return fail("yes or no");
    case "choice": {
      const found = control.options.find((o) => o.value === t);
      return found ? { ok: true, value: found.value } : fail(`one of ${control.options.map((o) => o.value).join(", ")}`);
    }
    case "list": {
      const list = parseList(t, control.item, schema);
      return typeof list === "string" ? fail(list) : { ok: true, value: list };
    }
    case "string":
      return { ok: true, value: t };
    case "json":
      try {
        return { ok: true, value: JSON.parse(t) as unknown };
      } catch {
        return fail(`JSON${field.placeholder ? `, e.g. ${field.placeholder}` : ""}`);
      }
  }
}

/** The object to send: every filled field, typed; or each bad field's message, all at once. */
export function buildObject(fields: SchemaField[], texts: FieldTexts): Built {
  const value: Record<string, unknown> = {};
  const errors: FieldErrors = {};
  for (const field of fields) {
    const parsed = parseField(field, texts[field.name] ?? "");
    if (!parsed.ok) errors[field.name] = parsed.error;
    else if (parsed.value !== undefined) value[field.name] = parsed.value;
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, value };
}

/**
 * Settings as sent, as label/value pairs for display: labelled from the schema where it names the
 * key (in its order), humanised otherwise; null and absent values are left out.
 */
export function valueList(values: unknown, schema?: unknown): [string, string][] {
  if (!isRecord(values)) return [];
  const fields = schemaFields(schema);
  const known = new Set(fields.map((f) => f.name));
  const keys = [...fields.map((f) => f.name).filter((k) => k in values), ...Object.keys(values).filter((k) => !known.has(k))];
  return keys.flatMap((key): [string, string][] => {
    const v = values[key];
    if (v === null || v === undefined) return [];
    const label = fields.find((f) => f.name === key)?.label ?? humanise(key);
    const shown = Array.isArray(v) && v.every((x) => typeof x !== "object") ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : String(v);
    return [[label, shown]];
  });
}
