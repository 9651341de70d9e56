import type { Metadata } from "next";
import { ModelsPanel } from "../../../components/models/ModelsPanel";

export const metadata: Metadata = { title: "Models" };

export default function ModelsPage() {
  return (
    <>
      <h1>Models</h1>
      <p className="lead">Every model in the registry with its versions. Promote a version with an alias; callers use name@alias.</p>
      <ModelsPanel />
    </>
  );
}
