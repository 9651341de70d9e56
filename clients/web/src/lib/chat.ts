/** The chat playground's arithmetic and request shape, kept apart from React so it can be tested. */
import type { ChatMessage } from "@strata/client";

/** One turn of a conversation as the page keeps it. */
export interface Turn {
  role: "user" | "assistant";
  content: string;
  /** An answer cut short with Stop (or by an error): kept, and sent back as it is. */
  stopped?: boolean;
}

/** The messages of a request: the system prompt (when there is one), then every turn in order. */
export function chatMessages(system: string, turns: Turn[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (system.trim()) messages.push({ role: "system", content: system.trim() });
  for (const turn of turns) messages.push({ role: turn.role, content: turn.content });
  return messages;
}

/**
 * Generation speed: completion tokens over the seconds from the first token to the end of the
 * answer (the prompt's processing before the first token is left out). Undefined without a span.
 */
export function tokensPerSecond(completionTokens: number, firstTokenMs: number | undefined, endMs: number): number | undefined {
  if (firstTokenMs === undefined || completionTokens <= 0) return undefined;
  const seconds = (endMs - firstTokenMs) / 1000;
  return seconds > 0 ? completionTokens / seconds : undefined;
}

/** A number field's text as a number in [min, max], or an error message. */
export function parseBounded(text: string, label: string, min: number, max: number, integer = false): { value: number } | { error: string } {
  const value = Number(text.trim());
  if (text.trim() === "" || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    return { error: `${label} must be ${integer ? "a whole number" : "a number"} from ${min} to ${max}.` };
  }
  return { value };
}
