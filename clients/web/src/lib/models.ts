/**
 * Reading the model registry for the UI: a version's input/output schema (JSON the API passes
 * through from the ML core's `IoSchema`), which models a playground can use, and references.
 */
import type { Model, ModelVersion } from "@strata/client";

export type InputSchema =
  | { type: "features"; dim: number; names: string[] }
  | { type: "text"; maxTokens: number }
  /** A text generator's prompt: a chat (when the model has a chat template) or raw text. */
  | { type: "prompt"; contextTokens: number; chatTemplate: boolean }
  | { type: "unknown" };

export type OutputSchema =
  | { type: "classes"; classes: string[] }
  | { type: "embedding"; dim: number }
  /** Generated text (a text generator). */
  | { type: "text" }
  | { type: "unknown" };

export interface IoSchema {
  input: InputSchema;
  output: OutputSchema;
}

const record = (v: unknown): Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : []);
const count = (v: unknown): number => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : 0);

/** The schema of a version; anything unexpected becomes `unknown` rather than an exception. */
export function ioSchema(version: Pick<ModelVersion, "io_schema">): IoSchema {
  const schema = record(version.io_schema);
  const input = record(schema.input);
  const output = record(schema.output);
  return {
    input:
      input.type === "features"
        ? { type: "features", dim: count(input.dim), names: strings(input.names) }
        : input.type === "text"
          ? { type: "text", maxTokens: count(input.max_tokens) }
          : input.type === "prompt"
            ? { type: "prompt", contextTokens: count(input.context_tokens), chatTemplate: input.chat_template === true }
            : { type: "unknown" },
    output:
      output.type === "classes"
        ? { type: "classes", classes: strings(output.classes) }
        : output.type === "embedding"
          ? { type: "embedding", dim: count(output.dim) }
          : output.type === "text"
            ? { type: "text" }
            : { type: "unknown" },
  };
}

/** Class names of a classifier, or `0..n-1` when the schema does not name them. */
export function classNames(version: Pick<ModelVersion, "io_schema">, n: number): string[] {
  const output = ioSchema(version).output;
  const named = output.type === "classes" ? output.classes : [];
  return Array.from({ length: n }, (_, i) => named[i] ?? String(i));
}

/** The newest version (the API lists them oldest first). */
export function latestVersion(model: Model): ModelVersion | undefined {
  return model.versions.at(-1);
}

/** Aliases pointing at `version`, sorted. */
export function aliasesOf(model: Model, version: string): string[] {
  return Object.entries(model.aliases)
    .filter(([, v]) => v === version)
    .map(([alias]) => alias)
    .sort();
}

/** A model a playground can call, and the reference it calls it by. */
export interface Candidate {
  name: string;
  /** `name@alias` when an alias exists (the promoted version), else `name@version` of the newest. */
  ref: string;
  version: ModelVersion;
  promoted: boolean;
}

const PREFERRED_ALIASES = ["production", "prod", "staging"];

/** The version a caller gets for a model: the one a preferred alias names, else the newest. */
function servingVersion(model: Model): Candidate | undefined {
  const aliases = Object.keys(model.aliases).sort(
    (a, b) => (PREFERRED_ALIASES.indexOf(a) + 1 || 99) - (PREFERRED_ALIASES.indexOf(b) + 1 || 99) || a.localeCompare(b),
  );
  for (const alias of aliases) {
    const version = model.versions.find((v) => v.version === model.aliases[alias]);
    if (version) return { name: model.name, ref: `${model.name}@${alias}`, version, promoted: true };
  }
  const newest = latestVersion(model);
  return newest ? { name: model.name, ref: `${model.name}@${newest.version}`, version: newest, promoted: false } : undefined;
}

/** Models whose serving version fits `accepts`, promoted ones first. */
export function candidates(models: Model[], accepts: (schema: IoSchema) => boolean): Candidate[] {
  return models
    .map(servingVersion)
    .filter((c): c is Candidate => c !== undefined && accepts(ioSchema(c.version)))
    .sort((a, b) => Number(b.promoted) - Number(a.promoted) || a.name.localeCompare(b.name));
}

/** Classifiers that read an 8x8 digit: 64 features in, classes out. */
export const readsDigits = (s: IoSchema) => s.input.type === "features" && s.input.dim === 64 && s.output.type === "classes";

/** Text encoders: text in, an embedding out. */
export const embedsText = (s: IoSchema) => s.input.type === "text" && s.output.type === "embedding";

/** Text generators: a prompt in, text out (the chat playground's models). */
export const generatesText = (s: IoSchema) => s.output.type === "text";

/**
 * What is wrong with an alias, as the ML service checks it (services/strata-ml registry.rs):
 * 1-64 of [a-z0-9-], and neither `latest` nor version-like (`v3`), which references already mean.
 */
export function aliasProblem(alias: string): string | undefined {
  if (!/^[a-z0-9-]{1,64}$/.test(alias)) return "Use 1 to 64 lowercase letters, digits or dashes.";
  if (alias === "latest" || /^v\d+$/.test(alias)) return "`latest` and version names like v2 are reserved.";
  return undefined;
}
