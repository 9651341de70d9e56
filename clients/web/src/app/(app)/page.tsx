import type { Metadata } from "next";
import { connection } from "next/server";
import { GettingStarted } from "../../components/GettingStarted";
import { OverviewStats } from "../../components/OverviewStats";
import { SystemPanel } from "../../components/SystemPanel";
import { publicApiUrl } from "../../lib/proxy";

export const metadata: Metadata = { title: "Overview" };

export default async function OverviewPage() {
  // The API URL comes from the server's environment at request time, not from the build.
  await connection();
  return (
    <>
      <h1>Overview</h1>
      <p className="lead">Your datasets, training jobs and models, and the ML service they run on.</p>
      <OverviewStats />
      <GettingStarted apiUrl={publicApiUrl()} />
      <SystemPanel />
    </>
  );
}
