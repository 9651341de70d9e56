import type { Metadata } from "next";
import { AccessPanel } from "../../../components/access/AccessPanel";

export const metadata: Metadata = { title: "Access" };

export default function AccessPage() {
  return (
    <>
      <h1>Access</h1>
      <p className="lead">
        Users sign in with a password; programs exchange an API key for a token. Both live in the metadata store, so every
        API replica knows them. Admins only.
      </p>
      <AccessPanel />
    </>
  );
}
