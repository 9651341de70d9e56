import { proxyToApi } from "../../../lib/proxy";

// Every request is forwarded live; nothing here may be cached or pre-rendered.
export const dynamic = "force-dynamic";

function forward(request: Request): Promise<Response> {
  return proxyToApi(request);
}

export { forward as DELETE, forward as GET, forward as HEAD, forward as PATCH, forward as POST, forward as PUT };
