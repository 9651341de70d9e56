import type { Metadata } from "next";
import { EmbeddingsPlayground } from "../../../../components/playground/EmbeddingsPlayground";

export const metadata: Metadata = { title: "Embeddings · Playground" };

export default async function EmbeddingsPage({ searchParams }: { searchParams: Promise<{ model?: string | string[] }> }) {
  const { model } = await searchParams;
  return <EmbeddingsPlayground initialModel={typeof model === "string" ? model : undefined} />;
}
