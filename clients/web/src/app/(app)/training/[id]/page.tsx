import type { Metadata } from "next";
import { JobMonitor } from "../../../../components/training/JobMonitor";

export const metadata: Metadata = { title: "Training job" };

export default async function JobPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <JobMonitor id={id} />;
}
