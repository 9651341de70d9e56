"use client";

import { usePathname } from "next/navigation";

const TABS = [
  { href: "/playground/digits", label: "Digits", hint: "draw and classify" },
  { href: "/playground/embeddings", label: "Embeddings", hint: "sentence similarity" },
];

export function PlaygroundTabs() {
  const pathname = usePathname();
  return (
    <nav className="tabs" aria-label="Playground">
      {TABS.map((t) => (
        <a key={t.href} href={t.href} aria-current={pathname === t.href ? "page" : undefined}>
          {t.label} <span className="muted small">{t.hint}</span>
        </a>
      ))}
    </nav>
  );
}
