import type { Metadata } from "next";
import { SignInForm } from "../../components/SignInForm";

export const metadata: Metadata = { title: "Sign in" };

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ next?: string | string[] }> }) {
  const { next } = await searchParams;
  return (
    <main className="signin" id="main">
      <div className="signin-card">
        <p className="brand brand-dark">strata</p>
        <h1>Sign in</h1>
        <p className="muted">Use an account from the API&apos;s users file. The dev stack prints the admin password on its first start.</p>
        <SignInForm next={typeof next === "string" ? next : undefined} />
      </div>
    </main>
  );
}
