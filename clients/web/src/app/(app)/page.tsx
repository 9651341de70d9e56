import type { Metadata } from "next";
import { OverviewStats } from "../../components/OverviewStats";
import { SystemPanel } from "../../components/SystemPanel";

export const metadata: Metadata = { title: "Overview" };

export default function OverviewPage() {
  return (
    <>
      <h1>Overview</h1>
      <p className="lead">Your datasets, training jobs and models, and the ML service they run on.</p>
      <OverviewStats />
      <SystemPanel />
    </>
  );
}
