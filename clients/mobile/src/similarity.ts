export { cosine } from "@strata/client";

/** The lines of a text box that say something, trimmed. */
export function sentences(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
}
