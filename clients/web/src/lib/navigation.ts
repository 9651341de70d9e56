/** Where to go after sign-in: a path on this site only, never another origin (open redirect). */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  if (next.startsWith("/signin") || next.startsWith("/session") || next.startsWith("/api/")) return "/";
  return next;
}

export interface NavItem {
  href: string;
  label: string;
  /** The first path segment of the pages the item covers ("" for the overview). */
  section: string;
}

export const NAV: NavItem[] = [
  { href: "/", label: "Overview", section: "" },
  { href: "/datasets", label: "Datasets", section: "datasets" },
  { href: "/training", label: "Training", section: "training" },
  { href: "/models", label: "Models", section: "models" },
  { href: "/playground/digits", label: "Playground", section: "playground" },
  { href: "/access", label: "Access", section: "access" },
];

/** The nav item a path belongs to, by its first segment. */
export function activeNav(pathname: string): NavItem | undefined {
  const section = pathname.split("/")[1] ?? "";
  return NAV.find((item) => item.section === section);
}
