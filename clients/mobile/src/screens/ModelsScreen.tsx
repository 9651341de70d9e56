import { useNavigation } from "../navigation";
import { useResource } from "../hooks";
import { Body, Card, ErrorMessage, Loading, Screen, Title } from "../ui";

export function ModelsScreen() {
  const { push } = useNavigation();
  const models = useResource((client, signal) => client.listModels({ signal, pageSize: 200 }), []);
  return (
    <Screen testID="models-screen" refreshing={models.refreshing} onRefresh={models.refresh}>
      <Title>Models</Title>
      {models.error ? <ErrorMessage message={models.error} onRetry={models.refresh} /> : null}
      {models.loading && !models.data ? <Loading label="Loading models" /> : null}
      {models.data && models.data.models.length === 0 ? (
        <Body muted>No models yet. Train one from the Training tab on the web app, or import one with the strata CLI.</Body>
      ) : null}
      {models.data?.models.map((model) => {
        const latest = model.versions[model.versions.length - 1];
        const aliases = Object.keys(model.aliases);
        return (
          <Card key={model.name} onPress={() => push({ name: "model", model: model.name })} label={`Model ${model.name}`} hint="Shows its versions, metrics and aliases">
            <Body>{model.name}</Body>
            <Body muted>
              {model.versions.length} version{model.versions.length === 1 ? "" : "s"}
              {latest ? ` · ${latest.kind} · latest ${latest.version}` : ""}
              {aliases.length > 0 ? ` · ${aliases.join(", ")}` : ""}
            </Body>
          </Card>
        );
      })}
    </Screen>
  );
}
