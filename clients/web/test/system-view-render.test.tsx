import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { SystemView } from "../src/components/SystemView";

const info = {
  api_version: "0.1.0",
  ml: {
    service: "strata-ml",
    version: "0.1.0",
    device: "cpu",
    cuda_compiled: false,
    device_note: "",
    uptime_seconds: 125,
    model_kinds: ["mlp-classifier", "text-encoder"],
  },
};

describe("SystemView", () => {
  it("shows every field of the ML service info", () => {
    const html = renderToStaticMarkup(<SystemView state={{ status: "ok", info }} />);
    for (const text of ["strata-ml", "cpu", "2 min 5 s", "mlp-classifier", "text-encoder", "Online"]) {
      expect(html).toContain(text);
    }
    expect(html).toMatch(/data-testid="ml-cuda">no</);
    expect(html).not.toContain('role="alert"');
  });

  it("shows why the device differs from the one asked for, and only then", () => {
    const note = "auto: cuda:0 unavailable: no NVIDIA driver found; using cpu";
    const html = renderToStaticMarkup(
      <SystemView state={{ status: "ok", info: { ...info, ml: { ...info.ml, device_note: note } } }} />,
    );
    expect(html).toContain(`data-testid="ml-device-note">${note}<`);
    const plain = renderToStaticMarkup(<SystemView state={{ status: "ok", info }} />);
    expect(plain).not.toContain("ml-device-note");
  });

  it("says so when no model kinds are registered", () => {
    const html = renderToStaticMarkup(
      <SystemView state={{ status: "ok", info: { ...info, ml: { ...info.ml, model_kinds: [] } } }} />,
    );
    expect(html).toContain("none registered");
  });

  it("shows an error as an alert with its title, message and hint", () => {
    const html = renderToStaticMarkup(
      <SystemView
        state={{
          status: "error",
          error: {
            kind: "ml-unavailable",
            title: "ML service unavailable",
            message: "no answer",
            detail: "tcp connect error",
            hint: "start it",
          },
        }}
      />,
    );
    expect(html).toContain('role="alert"');
    expect(html).toContain('data-kind="ml-unavailable"');
    expect(html).toContain("ML service unavailable");
    expect(html).toContain("start it");
    expect(html).toContain('<p class="error-detail">tcp connect error</p>');
    expect(html).toContain("Unavailable");
    expect(html).not.toContain("data-testid=\"ml-device\"");
  });

  it("marks itself busy while loading and offers refresh only with a handler", () => {
    const loading = renderToStaticMarkup(<SystemView state={{ status: "loading" }} />);
    expect(loading).toContain('aria-busy="true"');
    expect(loading).not.toContain("<button");
    const refreshing = renderToStaticMarkup(<SystemView state={{ status: "ok", info }} refreshing onRefresh={() => {}} />);
    expect(refreshing).toMatch(/<button[^>]*disabled=""[^>]*>Refreshing…<\/button>/);
  });
});
