import type { Metadata } from "next";
import { SystemPanel } from "../components/SystemPanel";

export const metadata: Metadata = { title: "System" };

export default function SystemPage() {
  return (
    <>
      <h1>System</h1>
      <p className="lead">What the ML service behind the API reports about itself, refreshed every few seconds.</p>
      <SystemPanel />
    </>
  );
}
