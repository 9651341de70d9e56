import { useNavigation } from "../navigation";
import { Body, Card, Screen, Title } from "../ui";

export function PlaygroundsScreen() {
  const { push } = useNavigation();
  return (
    <Screen testID="playgrounds-screen">
      <Title>Playgrounds</Title>
      <Card onPress={() => push({ name: "embeddings" })} label="Embeddings playground" hint="Compares sentences with a text encoder">
        <Body>Embeddings</Body>
        <Body muted>Compare sentences by meaning with a text encoder.</Body>
      </Card>
      <Card onPress={() => push({ name: "digits" })} label="Digits playground" hint="Draw a digit and a model reads it">
        <Body>Digits</Body>
        <Body muted>Draw a digit with your finger; a model trained on the digits sample reads it.</Body>
      </Card>
    </Screen>
  );
}
