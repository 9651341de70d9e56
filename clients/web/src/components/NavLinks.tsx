"use client";

import { usePathname } from "next/navigation";
import { activeNav, NAV } from "../lib/navigation";

export function NavLinks() {
  const current = activeNav(usePathname());
  return (
    <nav aria-label="Main" className="mainnav">
      {NAV.map((item) => (
        <a key={item.href} href={item.href} aria-current={item === current ? "page" : undefined}>
          {item.label}
        </a>
      ))}
    </nav>
  );
}
