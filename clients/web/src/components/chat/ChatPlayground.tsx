"use client";

import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { apiClient } from "../../lib/api";
import { chatMessages, parseBounded, tokensPerSecond, type Turn } from "../../lib/chat";
import { describeError, type ErrorView } from "../../lib/errors";
import { formatCount, formatNumber } from "../../lib/format";
import { candidates, generatesText } from "../../lib/models";
import { useApi } from "../../lib/use-api";
import { Empty, ErrorPanel, Loading } from "../ErrorPanel";
import { Field } from "../Field";
import { ModelPicker } from "../playground/ModelPicker";

const DEFAULT_SYSTEM = "You are a helpful assistant. Answer briefly and accurately.";

/** What the last finished answer cost and how fast it came. */
interface Stats {
  model: string;
  promptTokens: number;
  completionTokens: number;
  tokensPerSecond: number | undefined;
  finishReason: string;
}

export function ChatPlayground({ initialModel }: { initialModel?: string | undefined }) {
  const models = useApi("generators", async (client, signal) =>
    candidates((await client.listModels({ pageSize: 500, signal })).models, generatesText),
  );
  const list = models.data;
  const [model, setModel] = useState(initialModel ?? "");
  const [system, setSystem] = useState(DEFAULT_SYSTEM);
  const [temperature, setTemperature] = useState("0.7");
  const [maxTokens, setMaxTokens] = useState("256");
  const [draft, setDraft] = useState("");
  const [turns, setTurns] = useState<Turn[]>([]);
  /** The answer while it streams in; undefined when idle. */
  const [partial, setPartial] = useState<string | undefined>();
  const [stats, setStats] = useState<Stats | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const [failure, setFailure] = useState<ErrorView | undefined>();
  const [inputErrors, setInputErrors] = useState<{ temperature?: string; maxTokens?: string; message?: string }>({});
  const inFlight = useRef<AbortController | null>(null);
  const logRef = useRef<HTMLDivElement | null>(null);
  const streaming = partial !== undefined;

  useEffect(() => {
    if (!model && list?.[0]) setModel(list[0].ref);
  }, [list, model]);

  // The newest text stays in view as it streams in.
  useEffect(() => {
    const log = logRef.current;
    if (log) log.scrollTop = log.scrollHeight;
  }, [turns, partial]);

  // Leaving the page ends the answer being generated.
  useEffect(() => () => inFlight.current?.abort(), []);

  async function send(event?: FormEvent) {
    event?.preventDefault();
    if (streaming) return;
    const t = parseBounded(temperature, "Temperature", 0, 2);
    const m = parseBounded(maxTokens, "Max tokens", 1, 4096, true);
    const message = draft.trim();
    const errors = {
      ...("error" in t ? { temperature: t.error } : {}),
      ...("error" in m ? { maxTokens: m.error } : {}),
      ...(message ? {} : { message: "Write a message first." }),
    };
    setInputErrors(errors);
    if ("error" in t || "error" in m || !message) return;

    const history: Turn[] = [...turns, { role: "user", content: message }];
    setTurns(history);
    setDraft("");
    setFailure(undefined);
    setNotice(undefined);
    setStats(undefined);
    setPartial("");

    const controller = new AbortController();
    inFlight.current = controller;
    let text = "";
    let firstTokenAt: number | undefined;
    try {
      const stream = apiClient().chat.stream(
        { model, messages: chatMessages(system, history), temperature: t.value, max_tokens: m.value },
        { signal: controller.signal },
      );
      for await (const delta of stream) {
        firstTokenAt ??= performance.now();
        text += delta;
        setPartial(text);
      }
      const result = await stream.result;
      const end = performance.now();
      setTurns([...history, { role: "assistant", content: result.content }]);
      setStats({
        model: result.model,
        promptTokens: result.usage?.prompt_tokens ?? 0,
        completionTokens: result.usage?.completion_tokens ?? 0,
        tokensPerSecond: tokensPerSecond(result.usage?.completion_tokens ?? 0, firstTokenAt, end),
        finishReason: result.finishReason,
      });
    } catch (error) {
      // Whatever arrived stays in the conversation, marked as cut short.
      if (text) setTurns([...history, { role: "assistant", content: text, stopped: true }]);
      if (controller.signal.aborted) setNotice(text ? "Stopped: the answer was cut short." : "Stopped before the first token.");
      else setFailure(describeError(error));
    } finally {
      if (inFlight.current === controller) inFlight.current = null;
      setPartial(undefined);
    }
  }

  function stop() {
    inFlight.current?.abort();
  }

  function clear() {
    setTurns([]);
    setStats(undefined);
    setNotice(undefined);
    setFailure(undefined);
  }

  function onMessageKey(event: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter sends, Shift+Enter starts a new line (as chat apps do).
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void send();
    }
  }

  return (
    <div className="columns wide-right">
      <section className="card" aria-labelledby="chat-settings-heading">
        <header className="card-header">
          <h2 id="chat-settings-heading">Settings</h2>
        </header>
        {models.state.status === "loading" ? <Loading label="Looking for text generators…" /> : null}
        {models.state.status === "error" ? <ErrorPanel error={models.state.error} compact /> : null}
        {list && list.length === 0 ? (
          <Empty title="No text generator in the registry.">
            Import one, e.g.{" "}
            <code>
              strata --store .strata/data/artifacts import-hf .cache/assets/smollm2 --name smollm2 --kind text-generator
            </code>
            , then reload.
          </Empty>
        ) : null}
        <div className="form">
          {list && list.length > 0 ? <ModelPicker id="chat-model" candidates={list} value={model} onChange={setModel} /> : null}
          <Field id="chat-system" label="System prompt" optional hint="Sent first, before the conversation.">
            <textarea id="chat-system" rows={4} value={system} onChange={(e) => setSystem(e.target.value)} />
          </Field>
          <Field id="chat-temperature" label="Temperature" hint="0 always picks the likeliest token; up to 2." error={inputErrors.temperature}>
            <input id="chat-temperature" type="number" inputMode="decimal" min={0} max={2} step={0.1} value={temperature} onChange={(e) => setTemperature(e.target.value)} />
          </Field>
          <Field id="chat-max-tokens" label="Max tokens" hint="The answer stops here (finish reason: length)." error={inputErrors.maxTokens}>
            <input id="chat-max-tokens" type="number" inputMode="numeric" min={1} max={4096} step={1} value={maxTokens} onChange={(e) => setMaxTokens(e.target.value)} />
          </Field>
        </div>
      </section>

      <section className="card chat" aria-labelledby="chat-heading">
        <header className="card-header">
          <h2 id="chat-heading">Conversation</h2>
          <button type="button" className="button small" onClick={clear} disabled={streaming || turns.length === 0}>
            New chat
          </button>
        </header>
        <div className="chat-log" ref={logRef} role="log" aria-label="Messages" data-testid="chat-log">
          {turns.length === 0 && !streaming ? <p className="muted">Ask something to start. The conversation stays on this page.</p> : null}
          {turns.map((turn, i) => (
            <ChatBubble key={i} role={turn.role} content={turn.content} stopped={turn.stopped} />
          ))}
          {streaming ? <ChatBubble role="assistant" content={partial} generating /> : null}
        </div>
        <div aria-live="polite" data-testid="chat-status" className="chat-status">
          {streaming ? (
            <p className="loading" role="status">
              <span className="spinner" aria-hidden="true" />
              Generating…
            </p>
          ) : null}
          {notice ? (
            <p className="muted" role="status">
              {notice}
            </p>
          ) : null}
          {stats ? (
            <dl className="chat-stats" data-testid="chat-stats" aria-label="Answer statistics">
              <div>
                <dt>Prompt tokens</dt>
                <dd>{formatCount(stats.promptTokens)}</dd>
              </div>
              <div>
                <dt>Completion tokens</dt>
                <dd>{formatCount(stats.completionTokens)}</dd>
              </div>
              <div>
                <dt>Tokens/s</dt>
                <dd>{stats.tokensPerSecond === undefined ? "–" : formatNumber(stats.tokensPerSecond, 3)}</dd>
              </div>
              <div>
                <dt>Finish</dt>
                <dd>{stats.finishReason === "length" ? "length (max tokens)" : stats.finishReason}</dd>
              </div>
              <div>
                <dt>Model</dt>
                <dd className="mono">{stats.model}</dd>
              </div>
            </dl>
          ) : null}
        </div>
        {failure ? <ErrorPanel error={failure} compact /> : null}
        <form className="form" onSubmit={send} noValidate>
          <Field id="chat-message" label="Message" hint="Enter sends; Shift+Enter starts a new line." error={inputErrors.message}>
            <textarea id="chat-message" rows={3} value={draft} onChange={(e) => setDraft(e.target.value)} onKeyDown={onMessageKey} />
          </Field>
          <div className="form-actions">
            <button type="submit" className="button primary" disabled={streaming || !model}>
              Send
            </button>
            {streaming ? (
              <button type="button" className="button danger" onClick={stop}>
                Stop
              </button>
            ) : null}
          </div>
        </form>
      </section>
    </div>
  );
}

function ChatBubble({ role, content, stopped = false, generating = false }: { role: Turn["role"]; content: string; stopped?: boolean | undefined; generating?: boolean }) {
  return (
    <article
      className={`chat-message ${role}`}
      aria-label={role === "user" ? "You" : "Assistant"}
      aria-busy={generating || undefined}
      data-testid={`${role}-message`}
      data-stopped={stopped || undefined}
    >
      <span className="chat-role">{role === "user" ? "You" : "Assistant"}</span>
      <div className="chat-content">
        {content}
        {generating ? <span className="chat-cursor" aria-hidden="true">▍</span> : null}
      </div>
      {stopped ? <span className="muted small">stopped</span> : null}
    </article>
  );
}
