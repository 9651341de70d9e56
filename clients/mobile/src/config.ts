/** What the sign-in form checks before any request: a URL a phone can reach the API at. */
export type UrlCheck = { ok: true; url: string } | { ok: false; message: string };

export function normalizeBaseUrl(input: string): UrlCheck {
  let text = input.trim();
  if (text === "") return { ok: false, message: "Enter the address of the strata API, e.g. http://192.168.1.20:8080." };
  // People type "host:8080"; a scheme-less address is almost always a dev stack over plain HTTP.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `http://${text}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, message: `"${input.trim()}" is not an address. Use the form http://host:port.` };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { ok: false, message: "The API address must start with http:// or https://." };
  }
  if (url.search !== "" || url.hash !== "") {
    return { ok: false, message: "The API address cannot have a query (?) or fragment (#)." };
  }
  const path = url.pathname.replace(/\/+$/, "");
  return { ok: true, url: `${url.protocol}//${url.host}${path}` };
}
