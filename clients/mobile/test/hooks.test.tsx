import { act, fireEvent, screen } from "@testing-library/react-native";
import { useState } from "react";
import { Pressable, Text } from "react-native";
import { useResource } from "../src/hooks";
import * as webStorage from "../src/storage.web";
import { json, recordApi, renderScreen } from "./api";

function ModelName() {
  const [name, setName] = useState("slow");
  const model = useResource((client, signal) => client.getModel(name, { signal }), [name]);
  return (
    <>
      <Text testID="shown">{model.data?.name ?? (model.loading ? "loading" : "none")}</Text>
      <Pressable accessibilityRole="button" accessibilityLabel="switch" onPress={() => setName("fast")} />
    </>
  );
}

test("useResource drops an overtaken answer: a slow old request never replaces a newer one", async () => {
  let releaseSlow: () => void = () => {};
  const slowDone = new Promise<void>((resolve) => (releaseSlow = resolve));
  const api = recordApi({
    "GET /v1/models/slow": async () => {
      await slowDone;
      return json({ name: "slow", aliases: {}, versions: [] });
    },
    "GET /v1/models/fast": () => json({ name: "fast", aliases: {}, versions: [] }),
  });
  await renderScreen(<ModelName />);
  expect(await screen.findByText("loading")).toBeTruthy();
  fireEvent.press(screen.getByRole("button", { name: "switch" }));
  expect(await screen.findByText("fast")).toBeTruthy();
  await act(async () => {
    releaseSlow();
    await slowDone;
  });
  expect(screen.getByTestId("shown")).toHaveTextContent("fast");
  // The overtaken request was aborted, not just ignored.
  expect(api.calls("GET", "/v1/models/slow")[0]?.signal.aborted).toBe(true);
});

test("the web export's store keeps the token in memory, never in localStorage", async () => {
  const local = new Map<string, string>();
  const fake = {
    getItem: (k: string) => local.get(k) ?? null,
    setItem: (k: string, v: string) => void local.set(k, v),
    removeItem: (k: string) => void local.delete(k),
  };
  Object.assign(globalThis, { localStorage: fake });
  try {
    await webStorage.saveSession({ baseUrl: "http://127.0.0.1:8080", username: "ada", token: "secret-jwt" });
    expect(await webStorage.loadSession()).toEqual({ baseUrl: "http://127.0.0.1:8080", username: "ada", token: "secret-jwt" });
    expect([...local.values()]).not.toContain("secret-jwt");
    await webStorage.clearToken();
    expect(await webStorage.loadSession()).toEqual({ baseUrl: "http://127.0.0.1:8080", username: "ada", token: null });
  } finally {
    delete (globalThis as { localStorage?: unknown }).localStorage;
  }
});
