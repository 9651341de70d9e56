// A stand-in origin to resolve `next` against: whatever resolves to another origin is not a path here.
const HERE = "http://here.invalid";

// Pages that must never be the destination after sign-in (a loop, or not a page at all).
const NOT_DESTINATIONS = ["/signin", "/session", "/api/"];

/**
 * Where to go after sign-in: a path on this site only, never another origin (open redirect).
 *
 * `next` is a path and query as src/proxy.ts writes it: printable ASCII, percent-encoded. Anything
 * else goes to "/": whitespace and control characters (the URL parser drops tabs and newlines, so
 * `/\t/evil.com` becomes `//evil.com`), backslashes (read as `/`), a leading `//`, percent-encoded
 * slashes, backslashes or control characters (a later decode would bring them back), and whatever
 * resolves against this origin to another one. The answer is the resolved, normalised path.
 */
export function safeNext(next: string | null | undefined): string {
  if (!next || next.length > 2048 || !/^\/[\x21-\x7e]*$/.test(next)) return "/";
  if (next.startsWith("//") || next.includes("\\")) return "/";
  if (/%(2f|5c|[01][0-9a-f]|7f)/i.test(next)) return "/";
  let url: URL;
  try {
    url = new URL(next, HERE);
  } catch {
    return "/";
  }
  if (url.origin !== HERE || url.username !== "" || url.password !== "") return "/";
  if (NOT_DESTINATIONS.some((prefix) => url.pathname === prefix || url.pathname.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`))) return "/";
  return `${url.pathname}${url.search}${url.hash}`;
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
  { href: "/chat", label: "Chat", section: "chat" },
  { href: "/access", label: "Access", section: "access" },
];

/** The nav item a path belongs to, by its first segment. */
export function activeNav(pathname: string): NavItem | undefined {
  const section = pathname.split("/")[1] ?? "";
  return NAV.find((item) => item.section === section);
}
