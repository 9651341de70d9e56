import type { Metadata } from "next";
import { DatasetDetail } from "../../../../components/datasets/DatasetDetail";

export const metadata: Metadata = { title: "Dataset" };

export default async function DatasetPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <DatasetDetail id={id} />;
}
