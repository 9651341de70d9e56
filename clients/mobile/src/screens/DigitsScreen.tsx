import type { Prediction } from "@strata/client";
import { useRef, useState } from "react";
import { StyleSheet, View, type GestureResponderEvent } from "react-native";
import { PEN_WIDTH, strokesToGrid, type Stroke } from "../digits";
import { inputType } from "../format";
import { useFailureHandler, useResource } from "../hooks";
import { ModelPicker } from "../ModelPicker";
import { useClient } from "../session";
import { useTheme } from "../theme";
import { Body, Button, Card, ErrorMessage, Loading, percent, Screen, Title } from "../ui";

const PAD = 260;
// What the finger leaves on screen is the pen the conversion uses.
const DOT = PEN_WIDTH;

export function DigitsScreen() {
  const client = useClient();
  const fail = useFailureHandler();
  const theme = useTheme();
  const models = useResource(async (c, signal) => {
    const { models: all } = await c.listModels({ signal, pageSize: 200 });
    // The playground feeds 64 features (8x8); only models whose latest version takes that fit.
    return all.filter((m) => {
      const latest = m.versions[m.versions.length - 1];
      const input = (latest?.io_schema as { input?: { dim?: unknown } } | undefined)?.input;
      return inputType(latest) === "features" && input?.dim === 64;
    });
  }, []);
  const [chosen, setChosen] = useState<string>();
  const [strokes, setStrokes] = useState<Stroke[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [prediction, setPrediction] = useState<Prediction & { model: string }>();
  const drawing = useRef(false);
  const model = chosen ?? models.data?.[0]?.name;

  const at = (e: GestureResponderEvent) => ({ x: e.nativeEvent.locationX, y: e.nativeEvent.locationY });
  const begin = (e: GestureResponderEvent) => {
    drawing.current = true;
    setPrediction(undefined);
    setStrokes((s) => [...s, [at(e)]]);
  };
  const move = (e: GestureResponderEvent) => {
    if (!drawing.current) return;
    const p = at(e);
    setStrokes((s) => [...s.slice(0, -1), [...(s[s.length - 1] ?? []), p]]);
  };
  const end = () => {
    drawing.current = false;
  };

  const read = async () => {
    setError(undefined);
    const grid = strokesToGrid(strokes);
    if (!model) return setError("Pick a digits model first.");
    if (!grid) return setError("Draw a digit in the box first.");
    setBusy(true);
    try {
      const answer = await client.predict(model, { features: [grid.flat()] });
      const first = answer.predictions[0];
      if (!first) throw new Error("The model returned no prediction.");
      setPrediction({ ...first, model: answer.model });
    } catch (cause) {
      setError(fail(cause));
    } finally {
      setBusy(false);
    }
  };

  const best = prediction ? [...prediction.probabilities.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3) : [];
  return (
    <Screen testID="digits-screen" refreshing={models.refreshing} onRefresh={models.refresh}>
      <Title>Digits</Title>
      <Body muted>Draw one digit, 0 to 9, filling the box.</Body>
      {models.error ? <ErrorMessage message={models.error} onRetry={models.refresh} /> : null}
      {models.loading && !models.data ? <Loading label="Loading digits models" /> : null}
      {models.data && models.data.length === 0 ? <Body muted>No digits model yet: train one on the digits sample (64 features).</Body> : null}
      {models.data && models.data.length > 0 ? <ModelPicker models={models.data} selected={model} onSelect={setChosen} /> : null}
      <View
        testID="digit-pad"
        accessible
        accessibilityLabel="Drawing area: draw a digit with your finger"
        accessibilityHint="After drawing, press Read digit"
        onStartShouldSetResponder={() => true}
        onMoveShouldSetResponder={() => true}
        onResponderTerminationRequest={() => false}
        onResponderGrant={begin}
        onResponderMove={move}
        onResponderRelease={end}
        onResponderTerminate={end}
        style={[styles.pad, { backgroundColor: theme.surface, borderColor: theme.border }]}
      >
        <View pointerEvents="none" style={StyleSheet.absoluteFill}>
          {strokes.flat().map((p, i) => (
            <View key={i} style={[styles.dot, { left: p.x - DOT / 2, top: p.y - DOT / 2, backgroundColor: theme.text }]} />
          ))}
        </View>
      </View>
      <View style={styles.actions}>
        <Button title="Read digit" onPress={read} busy={busy} disabled={!model} />
        <Button
          title="Clear"
          kind="secondary"
          label="Clear the drawing"
          onPress={() => {
            setStrokes([]);
            setPrediction(undefined);
            setError(undefined);
          }}
        />
      </View>
      {error ? <ErrorMessage message={error} /> : null}
      {prediction ? (
        <Card testID="digit-prediction">
          <Body>{`It reads ${prediction.label}`}</Body>
          <Body muted>{prediction.model}</Body>
          {best.map(([index, p]) => (
            <Body key={index} muted>{`${index}: ${percent(p)}`}</Body>
          ))}
        </Card>
      ) : null}
    </Screen>
  );
}

const styles = StyleSheet.create({
  pad: { width: PAD, height: PAD, borderWidth: 2, borderRadius: 12, alignSelf: "center", overflow: "hidden" },
  dot: { position: "absolute", width: DOT, height: DOT, borderRadius: DOT / 2 },
  actions: { flexDirection: "row", gap: 12, justifyContent: "center" },
});
