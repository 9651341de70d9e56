import type { ModelVersion } from "@strata/client";
import { describe, expect, it } from "vitest";
import { chatMessages, parseBounded, tokensPerSecond } from "../src/lib/chat";
import { generatesText, ioSchema } from "../src/lib/models";

const io = (schema: unknown) => ({ io_schema: schema as ModelVersion["io_schema"] });
const SMOLLM2_IO = { input: { type: "prompt", context_tokens: 8192, chat_template: true }, output: { type: "text" } };

describe("chat playground helpers", () => {
  it("reads a text generator's schema and picks it out", () => {
    const schema = ioSchema(io(SMOLLM2_IO));
    expect(schema).toEqual({ input: { type: "prompt", contextTokens: 8192, chatTemplate: true }, output: { type: "text" } });
    expect(generatesText(schema)).toBe(true);
    expect(generatesText(ioSchema(io({ input: { type: "text", max_tokens: 256 }, output: { type: "embedding", dim: 384 } })))).toBe(false);
  });

  it("puts the system prompt first, and leaves a blank one out", () => {
    const turns = [
      { role: "user" as const, content: "Hi" },
      { role: "assistant" as const, content: "Hello!", stopped: true },
      { role: "user" as const, content: "Capital of France?" },
    ];
    expect(chatMessages("  Be brief. ", turns)).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello!" },
      { role: "user", content: "Capital of France?" },
    ]);
    expect(chatMessages(" \n", turns.slice(0, 1))).toEqual([{ role: "user", content: "Hi" }]);
  });

  it("measures tokens per second from the first token to the end", () => {
    expect(tokensPerSecond(20, 1_000, 3_000)).toBe(10);
    expect(tokensPerSecond(20, undefined, 3_000)).toBeUndefined();
    expect(tokensPerSecond(0, 1_000, 3_000)).toBeUndefined();
    expect(tokensPerSecond(5, 3_000, 3_000)).toBeUndefined();
  });

  it("checks number fields", () => {
    expect(parseBounded("0", "Temperature", 0, 2)).toEqual({ value: 0 });
    expect(parseBounded("0.7", "Temperature", 0, 2)).toEqual({ value: 0.7 });
    expect(parseBounded("2.5", "Temperature", 0, 2)).toEqual({ error: "Temperature must be a number from 0 to 2." });
    expect(parseBounded("", "Temperature", 0, 2)).toHaveProperty("error");
    expect(parseBounded("12.5", "Max tokens", 1, 4096, true)).toEqual({ error: "Max tokens must be a whole number from 1 to 4096." });
  });
});
