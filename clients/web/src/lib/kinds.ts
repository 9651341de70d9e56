/** What the UI knows about model kinds beyond their names (the API lists the names). */

export interface KindInfo {
  label: string;
  description: string;
  /** Trained from a dataset by a job; import-only kinds are not offered for training. */
  trainable: boolean;
  /** Needs a base model (a text encoder) to fine-tune. */
  needsBase: boolean;
  /** Reads text rather than feature columns. */
  text: boolean;
}

const KNOWN: Record<string, KindInfo> = {
  "mlp-classifier": {
    label: "MLP classifier",
    description: "Feature vector → class, trained from scratch on numeric columns.",
    trainable: true,
    needsBase: false,
    text: false,
  },
  "text-classifier": {
    label: "Text classifier",
    description: "A text encoder plus a classification head, fine-tuned on a labelled text column.",
    trainable: true,
    needsBase: true,
    text: true,
  },
  "text-encoder": {
    label: "Text encoder",
    description: "A BERT-family sentence encoder imported from a Hugging Face directory.",
    trainable: false,
    needsBase: false,
    text: true,
  },
};

export function kindInfo(kind: string): KindInfo {
  return KNOWN[kind] ?? { label: kind, description: "A model kind this app has no description for.", trainable: true, needsBase: false, text: false };
}

/** The kinds offered for a new job, in the order the API lists them. */
export function trainableKinds(kinds: string[]): string[] {
  return kinds.filter((k) => kindInfo(k).trainable);
}

/** The kind that suits a dataset: text datasets get the text classifier when it is offered. */
export function defaultKind(kinds: string[], dataset: { schema: { text_column?: string } } | undefined): string | undefined {
  const offered = trainableKinds(kinds);
  const wantsText = Boolean(dataset?.schema.text_column);
  return offered.find((k) => kindInfo(k).text === wantsText) ?? offered[0];
}
