import type { Metadata } from "next";
import { ModelDetail } from "../../../../components/models/ModelDetail";

export const metadata: Metadata = { title: "Model" };

export default async function ModelPage({
  params,
  searchParams,
}: {
  params: Promise<{ name: string }>;
  searchParams: Promise<{ version?: string | string[] }>;
}) {
  const [{ name }, { version }] = await Promise.all([params, searchParams]);
  return <ModelDetail name={decodeURIComponent(name)} initialVersion={typeof version === "string" ? version : undefined} />;
}
