import type { Metadata } from "next";
import { DigitPlayground } from "../../../../components/playground/DigitPlayground";

export const metadata: Metadata = { title: "Digits · Playground" };

export default async function DigitsPage({ searchParams }: { searchParams: Promise<{ model?: string | string[] }> }) {
  const { model } = await searchParams;
  return <DigitPlayground initialModel={typeof model === "string" ? model : undefined} />;
}
