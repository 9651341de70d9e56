import { act, fireEvent, screen, waitFor, within } from "@testing-library/react-native";
import { digitsModel, json, minilm, recordApi, renderSignedIn } from "./api";

test("lists models, opens one with its versions, metrics and aliases, and goes back", async () => {
  const api = recordApi({
    "GET /v1/models": () => json({ models: [digitsModel, minilm] }),
    "GET /v1/models/digits": () => json(digitsModel),
  });
  await renderSignedIn();
  expect(await screen.findByText("2 versions · mlp-classifier · latest v2 · production")).toBeTruthy();
  expect(screen.getByText("1 version · text-encoder · latest v1")).toBeTruthy();

  fireEvent.press(screen.getByRole("button", { name: "Model digits" }));
  const v2 = await screen.findByTestId("version-v2");
  expect(within(v2).getByText("v2 (production)")).toBeTruthy();
  expect(within(v2).getByTestId("accuracy-v2")).toHaveTextContent("96.4%");
  expect(within(v2).getByText("40.0 KiB")).toBeTruthy();
  expect(within(screen.getByTestId("version-v1")).getByTestId("accuracy-v1")).toHaveTextContent("91.2%");
  expect(within(screen.getByTestId("aliases")).getByText("production")).toBeTruthy();
  expect(api.calls("GET", "/v1/models/digits")).toHaveLength(1);

  fireEvent.press(screen.getByRole("button", { name: "Back" }));
  expect(await screen.findByRole("button", { name: "Model digits" })).toBeTruthy();
});

test("pull to refresh loads the list again and shows what changed", async () => {
  let models: unknown[] = [digitsModel];
  const api = recordApi({ "GET /v1/models": () => json({ models }) });
  await renderSignedIn();
  await screen.findByRole("button", { name: "Model digits" });
  models = [digitsModel, minilm];
  const list = screen.getByTestId("models-screen");
  // RefreshControl is the ScrollView's refreshControl prop; its onRefresh is what a pull calls.
  await act(() => list.props.refreshControl.props.onRefresh());
  expect(await screen.findByRole("button", { name: "Model minilm" })).toBeTruthy();
  expect(api.calls("GET", "/v1/models").length).toBeGreaterThanOrEqual(2);
});

test("offline: says so in plain words and tries again on request", async () => {
  let online = false;
  recordApi({
    "GET /v1/models": () => {
      if (!online) throw new TypeError("Network request failed");
      return json({ models: [digitsModel] });
    },
  });
  await renderSignedIn();
  expect(await screen.findByText(/^Can't reach the strata API/)).toBeTruthy();
  online = true;
  fireEvent.press(screen.getByRole("button", { name: "Try again" }));
  expect(await screen.findByRole("button", { name: "Model digits" })).toBeTruthy();
  await waitFor(() => expect(screen.queryByText(/^Can't reach the strata API/)).toBeNull());
});

test("an empty registry says how to get a model", async () => {
  recordApi({ "GET /v1/models": () => json({ models: [] }) });
  await renderSignedIn();
  expect(await screen.findByText(/^No models yet\./)).toBeTruthy();
});
