"use client";

import type { Embeddings } from "@strata/client";
import { useEffect, useState, type FormEvent } from "react";
import { apiClient } from "../../lib/api";
import { describeError, type ErrorView } from "../../lib/errors";
import { formatCount } from "../../lib/format";
import { candidates, embedsText } from "../../lib/models";
import { rankedPairs, sentences, similarityMatrix } from "../../lib/similarity";
import { useApi } from "../../lib/use-api";
import { Empty, ErrorPanel, Loading } from "../ErrorPanel";
import { Field } from "../Field";
import { HeatMap } from "../HeatMap";
import { ModelPicker } from "./ModelPicker";

const EXAMPLES = [
  "A cat is sleeping on the sofa.",
  "A kitten naps on the couch.",
  "The stock market fell sharply today.",
  "Share prices dropped at the opening bell.",
  "How do I reset my password?",
].join("\n");

/** Inputs per request: the API's batch limit is larger, but a matrix beyond this stops being readable. */
const MAX_SENTENCES = 16;

interface Result {
  texts: string[];
  embeddings: Embeddings;
  matrix: number[][];
}

export function EmbeddingsPlayground({ initialModel }: { initialModel?: string | undefined }) {
  const models = useApi("encoders", async (client, signal) => candidates((await client.listModels({ pageSize: 500, signal })).models, embedsText));
  const [model, setModel] = useState(initialModel ?? "");
  const [text, setText] = useState(EXAMPLES);
  const [inputError, setInputError] = useState<string | undefined>();
  const [failure, setFailure] = useState<ErrorView | undefined>();
  const [result, setResult] = useState<Result | undefined>();
  const [busy, setBusy] = useState(false);
  const list = models.data;

  useEffect(() => {
    if (!model && list?.[0]) setModel(list[0].ref);
  }, [list, model]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const texts = sentences(text);
    if (texts.length < 2 || texts.length > MAX_SENTENCES) {
      setInputError(`Enter between 2 and ${MAX_SENTENCES} sentences, one per line.`);
      return;
    }
    setInputError(undefined);
    setFailure(undefined);
    setBusy(true);
    try {
      const embeddings = await apiClient().createEmbeddings(model, texts);
      setResult({ texts, embeddings, matrix: similarityMatrix(embeddings.vectors) });
    } catch (error) {
      setFailure(describeError(error));
    } finally {
      setBusy(false);
    }
  }

  const short = (s: string) => (s.length > 28 ? `${s.slice(0, 27)}…` : s);
  return (
    <div className="columns wide-right">
      <section className="card" aria-labelledby="sentences-heading">
        <header className="card-header">
          <h2 id="sentences-heading">Sentences</h2>
        </header>
        {models.state.status === "loading" ? <Loading label="Looking for text encoders…" /> : null}
        {models.state.status === "error" ? <ErrorPanel error={models.state.error} compact /> : null}
        {list && list.length === 0 ? (
          <Empty title="No text encoder in the registry.">
            Import one, e.g. <code>strata --store .strata/data/artifacts import-hf .cache/assets/all-MiniLM-L6-v2 --name minilm</code>, then reload.
          </Empty>
        ) : null}
        <form className="form" onSubmit={submit} noValidate>
          {list && list.length > 0 ? <ModelPicker id="embed-model" candidates={list} value={model} onChange={setModel} /> : null}
          <Field id="embed-text" label="One sentence per line" error={inputError} hint={`2 to ${MAX_SENTENCES} sentences.`}>
            <textarea id="embed-text" rows={8} value={text} onChange={(e) => setText(e.target.value)} />
          </Field>
          {failure ? <ErrorPanel error={failure} compact /> : null}
          <button type="submit" className="button primary" disabled={busy || !model}>
            {busy ? "Embedding…" : "Compare"}
          </button>
        </form>
      </section>
      <section className="card" aria-labelledby="similarity-heading" aria-live="polite">
        <header className="card-header">
          <h2 id="similarity-heading">Cosine similarity</h2>
          {result ? (
            <span className="muted small">
              {result.embeddings.vectors[0]?.length ?? 0} dimensions · {formatCount(result.embeddings.usage.prompt_tokens)} tokens ·{" "}
              <span className="mono">{result.embeddings.model}</span>
            </span>
          ) : null}
        </header>
        {!result ? <p className="muted">Compare to see how close the model places each pair of sentences.</p> : null}
        {result ? (
          <>
            <HeatMap
              caption="1.00 means the same direction; unrelated sentences score near 0"
              rowLabels={result.texts.map((t, i) => `${i + 1}. ${short(t)}`)}
              colLabels={result.texts.map((_, i) => String(i + 1))}
              values={result.matrix}
              rowTitle="Sentence"
              colTitle="Sentence"
              scale={[0, 1]}
              format={(v) => v.toFixed(2)}
              testId="similarity-matrix"
            />
            <h3 className="subheading">Closest pairs</h3>
            <ol className="pairs" data-testid="closest-pairs">
              {rankedPairs(result.matrix)
                .slice(0, 3)
                .map((p) => (
                  <li key={`${p.a}-${p.b}`}>
                    <span className="pair-score">{p.similarity.toFixed(2)}</span> “{result.texts[p.a]}” and “{result.texts[p.b]}”
                  </li>
                ))}
            </ol>
          </>
        ) : null}
      </section>
    </div>
  );
}
