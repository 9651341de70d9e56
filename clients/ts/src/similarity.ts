/**
 * Cosine similarity, the measure the API's embeddings are made for (they are L2-normalised, but a
 * caller may compare any vectors): every client that compares embeddings uses this one.
 */
export function cosine(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError(`vectors of different lengths (${a.length} and ${b.length})`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  // An all-zero vector points nowhere: call it unrelated rather than divide by zero.
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
