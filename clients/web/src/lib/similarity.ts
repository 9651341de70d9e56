/** Cosine similarities between embeddings, for the embeddings playground. */

import { cosine } from "@strata/client";

export { cosine };

/** The symmetric matrix of pairwise cosine similarities (1 on the diagonal). */
export function similarityMatrix(vectors: number[][]): number[][] {
  return vectors.map((a, i) => vectors.map((b, j) => (i === j ? 1 : cosine(a, b))));
}

export interface Pair {
  a: number;
  b: number;
  similarity: number;
}

/** Every pair of distinct inputs, most similar first. */
export function rankedPairs(matrix: number[][]): Pair[] {
  const pairs: Pair[] = [];
  for (let a = 0; a < matrix.length; a++) {
    for (let b = a + 1; b < matrix.length; b++) pairs.push({ a, b, similarity: matrix[a]?.[b] ?? 0 });
  }
  return pairs.sort((p, q) => q.similarity - p.similarity);
}

/** Non-empty, trimmed lines of a text area: one input per line. */
export function sentences(text: string): string[] {
  return text
    .split("\n")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}
