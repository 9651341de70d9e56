/** The dataset upload form's rules and how a dataset's columns read in the UI. */
import type { ColumnInfo, Dataset, DatasetUploadMetadata } from "@strata/client";

/** Names of datasets and models: what the ML service accepts (services/strata-ml convert.rs). */
const NAME = /^(?!\.)[A-Za-z0-9._-]{1,128}$/;

export function isValidName(name: string): boolean {
  return NAME.test(name);
}

export const NAME_RULE = "Use 1 to 128 letters, digits, dots, dashes or underscores, not starting with a dot.";

/** A dataset name suggested by a file name: `digits (2).parquet` → `digits-2`. */
export function nameFromFile(fileName: string): string {
  const stem = fileName.replace(/\.parquet$/i, "");
  return stem
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^[-.]+|-+$/g, "")
    .slice(0, 128);
}

export interface UploadFields {
  name: string;
  description: string;
  labelColumn: string;
  textColumn: string;
  featureColumns: string;
  classes: string;
}

export type UploadErrors = Partial<Record<keyof UploadFields | "file", string>>;

const list = (text: string) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");

/** The upload's `metadata` part, or what is wrong with the fields. */
export function uploadMetadata(
  fields: UploadFields,
  file: { name: string; size: number } | undefined,
): { ok: true; value: DatasetUploadMetadata } | { ok: false; errors: UploadErrors } {
  const errors: UploadErrors = {};
  if (!file) errors.file = "Choose a Parquet file.";
  else if (file.size === 0) errors.file = "The file is empty.";
  const name = fields.name.trim();
  if (!NAME.test(name)) errors.name = NAME_RULE;
  const featureColumns = list(fields.featureColumns);
  const textColumn = fields.textColumn.trim();
  if (textColumn !== "" && featureColumns.length > 0) {
    errors.featureColumns = "A dataset has either a text column or feature columns, not both.";
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      name,
      description: fields.description.trim(),
      schema: {
        label_column: fields.labelColumn.trim(),
        text_column: textColumn,
        feature_columns: featureColumns,
        classes: list(fields.classes),
      },
    },
  };
}

export type ColumnRole = "feature" | "label" | "text" | "unused";

/**
 * What a column is for. Declared feature columns win; with none declared (the default), the ML
 * service uses every numeric column but the label, unless the dataset is a text one.
 */
export function columnRole(dataset: Pick<Dataset, "schema">, column: Pick<ColumnInfo, "name" | "numeric">): ColumnRole {
  const { schema } = dataset;
  if (schema.label_column && column.name === schema.label_column) return "label";
  if (schema.text_column && column.name === schema.text_column) return "text";
  const declared = schema.feature_columns ?? [];
  if (declared.length > 0) return declared.includes(column.name) ? "feature" : "unused";
  return !schema.text_column && column.numeric ? "feature" : "unused";
}

/** How many columns feed the model. */
export function featureCount(dataset: Pick<Dataset, "schema" | "columns">): number {
  return dataset.columns.filter((c) => columnRole(dataset, c) === "feature").length;
}

/** Class names with their row counts, in class-index order. */
export function classBalance(dataset: Pick<Dataset, "classes" | "class_counts">): { label: string; value: number }[] {
  return dataset.classes.map((label, i) => ({ label, value: dataset.class_counts?.[i] ?? 0 }));
}
