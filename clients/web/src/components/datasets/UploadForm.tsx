"use client";

import type { Dataset } from "@strata/client";
import { useRef, useState, type FormEvent } from "react";
import { apiClient } from "../../lib/api";
import { nameFromFile, uploadMetadata, type UploadErrors, type UploadFields } from "../../lib/datasets";
import { describeError, type ErrorView } from "../../lib/errors";
import { formatBytes } from "../../lib/format";
import { ErrorPanel } from "../ErrorPanel";
import { Field } from "../Field";

const EMPTY: UploadFields = { name: "", description: "", labelColumn: "label", textColumn: "", featureColumns: "", classes: "" };

/** Upload a Parquet file with its schema: which column is the label, which are features or text. */
export function UploadForm({ onUploaded }: { onUploaded: (dataset: Dataset) => void }) {
  const [fields, setFields] = useState<UploadFields>(EMPTY);
  const [file, setFile] = useState<File | undefined>();
  const [errors, setErrors] = useState<UploadErrors>({});
  const [failure, setFailure] = useState<ErrorView | undefined>();
  const [uploaded, setUploaded] = useState<Dataset | undefined>();
  const [busy, setBusy] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const set = (key: keyof UploadFields) => (value: string) => setFields((f) => ({ ...f, [key]: value }));

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFailure(undefined);
    setUploaded(undefined);
    const parsed = uploadMetadata(fields, file);
    if (!parsed.ok) {
      setErrors(parsed.errors);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      const dataset = await apiClient().uploadDataset(parsed.value, { data: file as File, fileName: (file as File).name });
      setUploaded(dataset);
      onUploaded(dataset);
      setFields(EMPTY);
      setFile(undefined);
      if (fileInput.current) fileInput.current.value = "";
    } catch (error) {
      setFailure(describeError(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="upload-heading">
      <header className="card-header">
        <h2 id="upload-heading">Upload Parquet</h2>
      </header>
      <form className="form" onSubmit={submit} noValidate>
        <Field id="upload-file" label="Parquet file" error={errors.file} after={file ? <span className="hint">{formatBytes(file.size)}</span> : null}>
          <input
            ref={fileInput}
            id="upload-file"
            type="file"
            accept=".parquet,application/vnd.apache.parquet,application/octet-stream"
            onChange={(e) => {
              const chosen = e.target.files?.[0];
              setFile(chosen);
              if (chosen && fields.name === "") set("name")(nameFromFile(chosen.name));
            }}
          />
        </Field>
        <Field id="upload-name" label="Name" error={errors.name} hint="Letters, digits, dots, dashes, underscores.">
          <input id="upload-name" value={fields.name} onChange={(e) => set("name")(e.target.value)} required maxLength={128} />
        </Field>
        <Field id="upload-description" label="Description" optional>
          <input id="upload-description" value={fields.description} onChange={(e) => set("description")(e.target.value)} />
        </Field>
        <Field id="upload-label" label="Label column" hint="The class of each row; leave empty for unlabelled data." optional>
          <input id="upload-label" value={fields.labelColumn} onChange={(e) => set("labelColumn")(e.target.value)} />
        </Field>
        <details className="advanced">
          <summary>Schema options</summary>
          <Field id="upload-text" label="Text column" hint="For text datasets, which the kinds that read text train on." optional>
            <input id="upload-text" value={fields.textColumn} onChange={(e) => set("textColumn")(e.target.value)} />
          </Field>
          <Field
            id="upload-features"
            label="Feature columns"
            error={errors.featureColumns}
            hint="Comma-separated; empty means every numeric column but the label."
            optional
          >
            <input id="upload-features" value={fields.featureColumns} onChange={(e) => set("featureColumns")(e.target.value)} />
          </Field>
          <Field id="upload-classes" label="Class names" hint="Comma-separated, in class-index order; empty infers them." optional>
            <input id="upload-classes" value={fields.classes} onChange={(e) => set("classes")(e.target.value)} />
          </Field>
        </details>
        {failure ? <ErrorPanel error={failure} compact /> : null}
        {uploaded ? (
          <p className="success" role="status">
            Stored <a href={`/datasets/${encodeURIComponent(uploaded.id)}`}>{uploaded.name}</a>: {uploaded.num_rows.toLocaleString("en-US")} rows,{" "}
            {uploaded.columns.length} columns.
          </p>
        ) : null}
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? "Uploading…" : "Upload"}
        </button>
      </form>
    </section>
  );
}
