import type { Metadata } from "next";
import { NewJobForm } from "../../../../components/training/NewJobForm";

export const metadata: Metadata = { title: "New training job" };

export default async function NewJobPage({ searchParams }: { searchParams: Promise<{ dataset?: string | string[] }> }) {
  const { dataset } = await searchParams;
  return (
    <>
      <nav className="breadcrumbs" aria-label="Breadcrumb">
        <a href="/training">Training</a> / <span aria-current="page">New job</span>
      </nav>
      <h1>New training job</h1>
      <p className="lead">Pick a dataset and a model kind; the settings the kind offers come from the server, and any left blank take its defaults.</p>
      <NewJobForm datasetId={typeof dataset === "string" ? dataset : undefined} />
    </>
  );
}
