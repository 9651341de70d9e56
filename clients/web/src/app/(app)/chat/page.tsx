import type { Metadata } from "next";
import { ChatPlayground } from "../../../components/chat/ChatPlayground";

export const metadata: Metadata = { title: "Chat" };

export default async function ChatPage({ searchParams }: { searchParams: Promise<{ model?: string | string[] }> }) {
  const { model } = await searchParams;
  return (
    <>
      <h1>Chat</h1>
      <p className="lead">Talk to a text-generator model through the API&apos;s OpenAI-compatible chat endpoint; the answer streams in as it is generated.</p>
      <ChatPlayground initialModel={typeof model === "string" ? model : undefined} />
    </>
  );
}
