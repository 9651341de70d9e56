/**
 * The Content-Security-Policy of pages. Static headers that every response carries (frame, sniffing,
 * referrer, permissions, HSTS, and a deny-all CSP for everything that is not a page) are set in
 * next.standalone.mjs; src/proxy.ts replaces that CSP on pages with this one and a fresh nonce.
 *
 * Scripts: only those carrying this response's nonce, and what they load ('strict-dynamic'); Next.js
 * puts the nonce on its own scripts when it finds it in the request's CSP header, which is why
 * pages render per request (app/layout.tsx). Styles allow inline attributes: the progress bars and
 * charts set widths and colours in `style`, and a CSS injection cannot run code.
 */

/** A fresh nonce: 128 random bits, base64. */
export function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

/**
 * The policy of a page rendered with `nonce`. `dev`: `next dev`, whose React uses `eval` to
 * rebuild server error stacks in the browser (production never needs it).
 */
export function pageCsp(nonce: string, dev: boolean): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}
