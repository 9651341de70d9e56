import { fireEvent, screen, waitFor, within } from "@testing-library/react-native";
import { DigitsScreen } from "../src/screens/DigitsScreen";
import { EmbeddingsScreen } from "../src/screens/EmbeddingsScreen";
import { digitsModel, json, minilm, problem, recordApi, renderScreen, renderSignedIn } from "./api";

test("the playgrounds tab opens each playground", async () => {
  recordApi({ "GET /v1/models": () => json({ models: [digitsModel, minilm] }) });
  await renderSignedIn();
  fireEvent.press(screen.getByRole("tab", { name: "Playgrounds" }));
  fireEvent.press(await screen.findByRole("button", { name: "Embeddings playground" }));
  expect(await screen.findByTestId("embeddings-screen")).toBeTruthy();
  fireEvent.press(screen.getByRole("button", { name: "Back" }));
  fireEvent.press(await screen.findByRole("button", { name: "Digits playground" }));
  expect(await screen.findByTestId("digits-screen")).toBeTruthy();
});

test("embeddings: compares the first sentence with the others, most similar first", async () => {
  const api = recordApi({
    "GET /v1/models": () => json({ models: [digitsModel, minilm] }),
    "POST /v1/embeddings": () =>
      json({
        object: "list",
        model: "minilm@v1",
        usage: { prompt_tokens: 9, total_tokens: 9 },
        data: [
          { object: "embedding", index: 0, embedding: [1, 0, 0] },
          { object: "embedding", index: 2, embedding: [0.9, 0.1, 0] },
          { object: "embedding", index: 1, embedding: [0, 1, 0] },
        ],
      }),
  });
  await renderScreen(<EmbeddingsScreen />);
  // Only text encoders are offered.
  expect(await screen.findByRole("radio", { name: "minilm" })).toBeChecked();
  expect(screen.queryByRole("radio", { name: "digits" })).toBeNull();
  fireEvent.changeText(screen.getByLabelText("Sentences, one per line"), "reset password\n\ninvoice wrong\nforgot login\n");
  fireEvent.press(screen.getByRole("button", { name: "Compare" }));

  const card = await screen.findByTestId("similarities");
  expect(within(card).getByText('Similar to "reset password" (minilm@v1)')).toBeTruthy();
  const scores = within(card).getAllByTestId("similarity-score").map((n) => n.props.children);
  expect(scores).toEqual(["0.99", "0.00"]);
  expect(within(card).getByLabelText("forgot login: similarity 0.99")).toBeTruthy();
  const body = await api.calls("POST", "/v1/embeddings")[0]?.json();
  expect(body).toEqual({ model: "minilm", input: ["reset password", "invoice wrong", "forgot login"], encoding_format: "float" });
});

test("embeddings: one sentence is refused before any request; an API error is shown in plain words", async () => {
  const api = recordApi({
    "GET /v1/models": () => json({ models: [minilm] }),
    "POST /v1/embeddings": () => problem(503, "Service Unavailable", "the ML service is unavailable"),
  });
  await renderScreen(<EmbeddingsScreen />);
  await screen.findByRole("radio", { name: "minilm" });
  fireEvent.changeText(screen.getByLabelText("Sentences, one per line"), "only one");
  fireEvent.press(screen.getByRole("button", { name: "Compare" }));
  expect(await screen.findByText(/^Write at least two sentences/)).toBeTruthy();
  expect(api.calls("POST", "/v1/embeddings")).toHaveLength(0);

  fireEvent.changeText(screen.getByLabelText("Sentences, one per line"), "one\ntwo");
  fireEvent.press(screen.getByRole("button", { name: "Compare" }));
  expect(await screen.findByText("The server is not ready (the ML service may be starting or down). the ML service is unavailable. Try again shortly.")).toBeTruthy();
});

test("embeddings: with no text encoder, says how to get one", async () => {
  recordApi({ "GET /v1/models": () => json({ models: [digitsModel] }) });
  await renderScreen(<EmbeddingsScreen />);
  expect(await screen.findByText(/^No text encoder yet/)).toBeTruthy();
  expect(screen.getByRole("button", { name: "Compare" })).toBeDisabled();
});

function draw(pad: ReturnType<typeof screen.getByTestId>, points: [number, number][]) {
  const [first, ...rest] = points;
  const at = ([x, y]: [number, number]) => ({ nativeEvent: { locationX: x, locationY: y, touches: [], changedTouches: [] } });
  fireEvent(pad, "responderGrant", at(first as [number, number]));
  for (const p of rest) fireEvent(pad, "responderMove", at(p));
  fireEvent(pad, "responderRelease", at(rest[rest.length - 1] ?? (first as [number, number])));
}

test("digits: a drawing is sent as 64 features of 0..16 and the answer shown", async () => {
  const probabilities = [0.01, 0.9, 0.02, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01];
  const api = recordApi({
    "GET /v1/models": () => json({ models: [digitsModel, minilm] }),
    "POST /v1/models/digits:predict": () => json({ model: "digits@v2", predictions: [{ class_index: 1, label: "1", probabilities }] }),
  });
  await renderScreen(<DigitsScreen />);
  expect(await screen.findByRole("radio", { name: "digits" })).toBeChecked();
  expect(screen.queryByRole("radio", { name: "minilm" })).toBeNull();

  fireEvent.press(screen.getByRole("button", { name: "Read digit" }));
  expect(await screen.findByText("Draw a digit in the box first.")).toBeTruthy();
  expect(api.calls("POST", "/v1/models/digits:predict")).toHaveLength(0);

  draw(screen.getByLabelText("Drawing area: draw a digit with your finger"), [[130, 30], [130, 90], [130, 150], [130, 220]]);
  fireEvent.press(screen.getByRole("button", { name: "Read digit" }));
  const card = await screen.findByTestId("digit-prediction");
  expect(within(card).getByText("It reads 1")).toBeTruthy();
  expect(within(card).getByText("1: 90.0%")).toBeTruthy();

  const body = (await api.calls("POST", "/v1/models/digits:predict")[0]?.json()) as { features: number[][] };
  expect(body.features).toHaveLength(1);
  const features = body.features[0] as number[];
  expect(features).toHaveLength(64);
  expect(features.every((v) => Number.isInteger(v) && v >= 0 && v <= 16)).toBe(true);
  // A vertical stroke: ink in the middle columns of every row, none at the edges.
  expect(features.filter((_, i) => i % 8 === 0 || i % 8 === 7).every((v) => v === 0)).toBe(true);

  fireEvent.press(screen.getByRole("button", { name: "Clear the drawing" }));
  await waitFor(() => expect(screen.queryByTestId("digit-prediction")).toBeNull());
});
