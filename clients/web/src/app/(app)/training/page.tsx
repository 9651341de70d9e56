import type { Metadata } from "next";
import { JobsPanel } from "../../../components/training/JobsPanel";

export const metadata: Metadata = { title: "Training" };

export default function TrainingPage() {
  return (
    <>
      <div className="title-row">
        <div>
          <h1>Training</h1>
          <p className="lead">Jobs train a new version of a model on a dataset. Open one to follow it live.</p>
        </div>
        <a className="button primary" href="/training/new">
          New training job
        </a>
      </div>
      <JobsPanel />
    </>
  );
}
