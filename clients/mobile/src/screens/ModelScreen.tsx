import type { ModelVersion } from "@strata/client";
import { bytes, when } from "../format";
import { useResource } from "../hooks";
import { Body, Card, ErrorMessage, Fact, Loading, percent, Screen, Title } from "../ui";

export function ModelScreen({ name }: { name: string }) {
  const model = useResource((client, signal) => client.getModel(name, { signal }), [name]);
  const versions = model.data ? [...model.data.versions].reverse() : [];
  const aliases = model.data ? Object.entries(model.data.aliases).sort(([a], [b]) => a.localeCompare(b)) : [];
  return (
    <Screen testID="model-screen" refreshing={model.refreshing} onRefresh={model.refresh}>
      <Title>{name}</Title>
      {model.error ? <ErrorMessage message={model.error} onRetry={model.refresh} /> : null}
      {model.loading && !model.data ? <Loading label="Loading the model" /> : null}
      {model.data ? (
        <>
          <Body muted>Aliases</Body>
          <Card testID="aliases">
            {aliases.length === 0 ? <Body muted>No aliases.</Body> : aliases.map(([alias, version]) => <Fact key={alias} label={alias} value={version} />)}
          </Card>
          <Body muted>Versions, newest first</Body>
          {versions.map((version) => (
            <VersionCard key={version.version} version={version} aliases={aliases.filter(([, v]) => v === version.version).map(([a]) => a)} />
          ))}
        </>
      ) : null}
    </Screen>
  );
}

function VersionCard({ version, aliases }: { version: ModelVersion; aliases: string[] }) {
  const metrics = version.test_metrics;
  return (
    <Card testID={`version-${version.version}`}>
      <Body>
        {version.version}
        {aliases.length > 0 ? ` (${aliases.join(", ")})` : ""}
      </Body>
      <Fact label="Kind" value={version.kind} />
      <Fact label="Size" value={bytes(version.size_bytes)} />
      <Fact label="Created" value={when(version.created_at)} />
      {version.base_model ? <Fact label="Fine-tuned from" value={version.base_model} /> : null}
      {metrics ? (
        <>
          <Fact label="Test accuracy" value={percent(metrics.accuracy)} testID={`accuracy-${version.version}`} />
          <Fact label="Macro F1" value={metrics.macro_f1.toFixed(3)} />
          <Fact label="Test loss" value={metrics.loss.toFixed(4)} />
        </>
      ) : (
        <Body muted>No test metrics (imported, not trained here).</Body>
      )}
    </Card>
  );
}
