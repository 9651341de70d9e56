import { useState } from "react";
import { StyleSheet, View } from "react-native";
import { inputType, outputType } from "../format";
import { useFailureHandler, useResource } from "../hooks";
import { ModelPicker } from "../ModelPicker";
import { useClient } from "../session";
import { cosine, sentences } from "../similarity";
import { useTheme } from "../theme";
import { Body, Button, Card, ErrorMessage, Field, Loading, Screen, Title } from "../ui";

const EXAMPLE = "How do I reset my password?\nI forgot my login credentials.\nThe invoice total looks wrong.";

interface Result {
  model: string;
  reference: string;
  scores: { sentence: string; score: number }[];
}

export function EmbeddingsScreen() {
  const client = useClient();
  const fail = useFailureHandler();
  const theme = useTheme();
  const encoders = useResource(async (c, signal) => {
    const { models } = await c.listModels({ signal, pageSize: 200 });
    // Whatever embeds text, by its declared schema: the app names no model kind.
    return models.filter((m) => {
      const newest = m.versions[m.versions.length - 1];
      return inputType(newest) === "text" && outputType(newest) === "embedding";
    });
  }, []);
  const [chosen, setChosen] = useState<string>();
  const [text, setText] = useState(EXAMPLE);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [result, setResult] = useState<Result>();
  const model = chosen ?? encoders.data?.[0]?.name;

  const compare = async () => {
    const lines = sentences(text);
    setError(undefined);
    if (!model) return setError("Pick a text encoder first.");
    if (lines.length < 2) return setError("Write at least two sentences, one per line: the first is compared with the others.");
    setBusy(true);
    try {
      const { model: answered, vectors } = await client.createEmbeddings(model, lines);
      const [reference, ...others] = lines;
      const first = vectors[0] as number[];
      const scores = others.map((sentence, i) => ({ sentence, score: cosine(first, vectors[i + 1] as number[]) })).sort((a, b) => b.score - a.score);
      setResult({ model: answered, reference: reference as string, scores });
    } catch (cause) {
      setError(fail(cause));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Screen testID="embeddings-screen" refreshing={encoders.refreshing} onRefresh={encoders.refresh}>
      <Title>Embeddings</Title>
      <Body muted>The first sentence is compared with each of the others by cosine similarity of their embeddings.</Body>
      {encoders.error ? <ErrorMessage message={encoders.error} onRetry={encoders.refresh} /> : null}
      {encoders.loading && !encoders.data ? <Loading label="Loading text encoders" /> : null}
      {encoders.data && encoders.data.length === 0 ? (
        <Body muted>No text encoder yet. Import one with `strata import-hf … --kind text-encoder`.</Body>
      ) : null}
      {encoders.data && encoders.data.length > 0 ? <ModelPicker models={encoders.data} selected={model} onSelect={setChosen} /> : null}
      <Field label="Sentences, one per line" value={text} onChangeText={setText} multiline autoCapitalize="sentences" style={styles.text} />
      <Button title="Compare" onPress={compare} busy={busy} disabled={!model} />
      {error ? <ErrorMessage message={error} /> : null}
      {result ? (
        <Card testID="similarities">
          <Body muted>{`Similar to "${result.reference}" (${result.model})`}</Body>
          {result.scores.map(({ sentence, score }) => (
            <View key={sentence} style={styles.score} accessible accessibilityLabel={`${sentence}: similarity ${score.toFixed(2)}`}>
              <Body>{sentence}</Body>
              <View style={[styles.bar, { backgroundColor: theme.border }]}>
                <View style={{ width: `${Math.max(0, score) * 100}%`, height: 6, backgroundColor: theme.accent }} />
              </View>
              <Body muted testID="similarity-score">{score.toFixed(2)}</Body>
            </View>
          ))}
        </Card>
      ) : null}
    </Screen>
  );
}

const styles = StyleSheet.create({
  text: { minHeight: 110, paddingVertical: 10, textAlignVertical: "top" },
  score: { gap: 4, marginTop: 6 },
  bar: { height: 6, borderRadius: 3, overflow: "hidden" },
});
