import type { ReactNode } from "react";
import { PlaygroundTabs } from "../../../components/playground/PlaygroundTabs";

export default function PlaygroundLayout({ children }: { children: ReactNode }) {
  return (
    <>
      <h1>Playground</h1>
      <p className="lead">Call the models you trained or imported, the way your product would: through the REST API.</p>
      <PlaygroundTabs />
      {children}
    </>
  );
}
