import type { Metadata } from "next";
import { DatasetsPanel } from "../../../components/datasets/DatasetsPanel";

export const metadata: Metadata = { title: "Datasets" };

export default function DatasetsPage() {
  return (
    <>
      <h1>Datasets</h1>
      <p className="lead">Parquet tables the ML service validated and stored. Upload one, then train a model on it.</p>
      <DatasetsPanel />
    </>
  );
}
