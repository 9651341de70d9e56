import type { ReactNode } from "react";
import { ApiStatusBanner } from "../../components/ApiStatusBanner";
import { NavLinks } from "../../components/NavLinks";
import { UserMenu } from "../../components/UserMenu";

/** Every signed-in page: the top bar, the API status banner, the page. src/proxy.ts guards entry. */
export default function AppLayout({ children }: { children: ReactNode }) {
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <a className="brand" href="/">
            strata
          </a>
          <NavLinks />
          <UserMenu />
        </div>
      </header>
      <ApiStatusBanner />
      <main className="page" id="main">
        {children}
      </main>
    </>
  );
}
