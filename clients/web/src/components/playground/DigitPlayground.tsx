"use client";

import type { PredictResponse } from "@strata/client";
import { useEffect, useRef, useState, type PointerEvent } from "react";
import { apiClient } from "../../lib/api";
import { toDigitGrid, toFeatures } from "../../lib/digits";
import { describeError, type ErrorView } from "../../lib/errors";
import { formatPercent } from "../../lib/format";
import { candidates, ioSchema, readsDigits, type Candidate } from "../../lib/models";
import { useApi } from "../../lib/use-api";
import { BarList } from "../BarList";
import { Empty, ErrorPanel, Loading } from "../ErrorPanel";
import { HeatMap } from "../HeatMap";
import { ModelPicker } from "./ModelPicker";

const SIZE = 280;
const STROKE = 26;

export function DigitPlayground({ initialModel }: { initialModel?: string | undefined }) {
  const models = useApi("digit-models", async (client, signal) => candidates((await client.listModels({ pageSize: 500, signal })).models, readsDigits));
  const [model, setModel] = useState(initialModel ?? "");
  const [grid, setGrid] = useState<number[][] | undefined>();
  const [result, setResult] = useState<PredictResponse | undefined>();
  const [failure, setFailure] = useState<ErrorView | undefined>();
  const [busy, setBusy] = useState(false);
  const canvas = useRef<HTMLCanvasElement>(null);
  const drawing = useRef(false);
  const list = models.data;

  useEffect(() => {
    if (!model && list?.[0]) setModel(list[0].ref);
  }, [list, model]);

  useEffect(() => clear(), []);

  function context() {
    return canvas.current?.getContext("2d", { willReadFrequently: true }) ?? null;
  }

  function clear() {
    const ctx = context();
    if (!ctx) return;
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, SIZE, SIZE);
    setGrid(undefined);
    setResult(undefined);
    setFailure(undefined);
  }

  const point = (e: PointerEvent<HTMLCanvasElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    return { x: ((e.clientX - rect.left) / rect.width) * SIZE, y: ((e.clientY - rect.top) / rect.height) * SIZE };
  };

  function down(e: PointerEvent<HTMLCanvasElement>) {
    const ctx = context();
    if (!ctx) return;
    e.currentTarget.setPointerCapture(e.pointerId);
    drawing.current = true;
    const { x, y } = point(e);
    ctx.strokeStyle = "#000000";
    ctx.lineWidth = STROKE;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x, y);
    ctx.stroke();
  }

  function move(e: PointerEvent<HTMLCanvasElement>) {
    if (!drawing.current) return;
    const ctx = context();
    if (!ctx) return;
    const { x, y } = point(e);
    ctx.lineTo(x, y);
    ctx.stroke();
  }

  function up() {
    if (!drawing.current) return;
    drawing.current = false;
    const ctx = context();
    if (!ctx) return;
    setGrid(toDigitGrid(ctx.getImageData(0, 0, SIZE, SIZE)));
  }

  // Classify whenever the drawing or the model changes, so the answer follows the pen.
  useEffect(() => {
    if (!grid || !model) return;
    const controller = new AbortController();
    const chosen: Candidate | undefined = list?.find((c) => c.ref === model);
    const schema = chosen ? ioSchema(chosen.version).input : undefined;
    const features = toFeatures(grid, schema?.type === "features" ? schema.names : []);
    setBusy(true);
    setFailure(undefined);
    apiClient()
      .predict(model, { features: [features] }, { signal: controller.signal })
      .then((r) => setResult(r))
      .catch((error: unknown) => {
        if (!controller.signal.aborted) {
          setResult(undefined);
          setFailure(describeError(error));
        }
      })
      .finally(() => !controller.signal.aborted && setBusy(false));
    return () => controller.abort();
  }, [grid, model, list]);

  const prediction = result?.predictions[0];
  return (
    <div className="columns">
      <section className="card" aria-labelledby="draw-heading">
        <header className="card-header">
          <h2 id="draw-heading">Draw a digit</h2>
          <button type="button" className="button" onClick={clear}>
            Clear
          </button>
        </header>
        {models.state.status === "loading" ? <Loading label="Looking for digit classifiers…" /> : null}
        {models.state.status === "error" ? <ErrorPanel error={models.state.error} compact /> : null}
        {list && list.length === 0 ? (
          <Empty title="No digits model yet.">
            Train an MLP classifier on the digits sample (<a href="/training/new">new job</a>) and promote it.
          </Empty>
        ) : null}
        {list && list.length > 0 ? <ModelPicker id="digit-model" candidates={list} value={model} onChange={setModel} /> : null}
        <canvas
          ref={canvas}
          className="digit-canvas"
          width={SIZE}
          height={SIZE}
          data-testid="digit-canvas"
          aria-label="Drawing area: draw one digit, 0 to 9, with the mouse, a pen or a finger"
          role="img"
          onPointerDown={down}
          onPointerMove={move}
          onPointerUp={up}
          onPointerCancel={up}
        />
        <p className="muted small">Draw large and centred, like a digit on a form. The drawing is cropped, scaled into 32×32 and counted in 4×4 blocks, as the sample was made.</p>
      </section>
      <section className="card" aria-labelledby="result-heading" aria-busy={busy} aria-live="polite">
        <header className="card-header">
          <h2 id="result-heading">Prediction</h2>
          {busy ? <span className="muted">classifying…</span> : null}
        </header>
        {failure ? <ErrorPanel error={failure} compact /> : null}
        {!grid && !failure ? <p className="muted">Draw a digit to see what the model reads.</p> : null}
        {prediction && result ? (
          <>
            <p className="prediction">
              <span className="prediction-label" data-testid="predicted-digit">
                {prediction.label}
              </span>
              <span className="muted">
                {formatPercent(prediction.probabilities[prediction.class_index])} confident · answered by <span className="mono">{result.model}</span>
              </span>
            </p>
            <BarList
              items={prediction.probabilities.map((p, i) => ({ label: String(i), value: p }))}
              format={formatPercent}
              highlight={prediction.class_index}
              label="Probability of each digit"
              testId="digit-probabilities"
            />
          </>
        ) : null}
        {grid ? (
          <HeatMap
            caption="What the model sees: 8×8 intensities, 0 to 16"
            rowLabels={grid.map((_, i) => String(i))}
            colLabels={grid.map((_, i) => String(i))}
            values={grid}
            rowTitle="Row"
            colTitle="Column"
            scale={[0, 16]}
            testId="digit-grid"
          />
        ) : null}
      </section>
    </div>
  );
}
