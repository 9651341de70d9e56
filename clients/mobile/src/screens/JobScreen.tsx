import { isTerminalJobState } from "@strata/client";
import { useState } from "react";
import { StyleSheet, View } from "react-native";
import { duration, stateLabel } from "../format";
import { useFailureHandler, useJobWatch, type JobWatch } from "../hooks";
import { useClient } from "../session";
import { useTheme } from "../theme";
import { Body, Button, Card, ErrorMessage, Fact, Loading, percent, Screen, Title } from "../ui";

const CONNECTION: Record<JobWatch["connection"], string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  ended: "Finished",
  failed: "Stopped",
};

export function JobScreen({ id }: { id: string }) {
  const watch = useJobWatch(id);
  const client = useClient();
  const fail = useFailureHandler();
  const theme = useTheme();
  const [cancelling, setCancelling] = useState(false);
  const [cancelError, setCancelError] = useState<string>();
  const job = watch.job;
  const progress = job?.progress;
  const fraction = job?.state === "succeeded" ? 1 : progress && progress.total_steps > 0 ? Math.min(1, progress.step / progress.total_steps) : 0;

  const cancel = async () => {
    setCancelling(true);
    setCancelError(undefined);
    try {
      await client.cancelTrainingJob(id);
    } catch (error) {
      setCancelError(fail(error));
    } finally {
      setCancelling(false);
    }
  };

  return (
    <Screen testID="job-screen">
      <Title>{job ? `Training ${job.model_name}` : "Training job"}</Title>
      <Body muted testID="job-connection">
        {watch.connection === "reconnecting" ? `Reconnecting (attempt ${watch.attempt})…` : CONNECTION[watch.connection]}
      </Body>
      {watch.error && watch.connection !== "reconnecting" ? <ErrorMessage message={watch.error} /> : null}
      {!job && watch.connection !== "failed" ? <Loading label="Waiting for the job's first event" /> : null}
      {job ? (
        <>
          <Card>
            <Fact label="State" value={stateLabel(job.state)} testID="job-state" />
            <View
              accessibilityRole="progressbar"
              accessibilityLabel="Training progress"
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={Math.round(fraction * 100)}
              testID="job-progress"
              style={[styles.track, { backgroundColor: theme.border }]}
            >
              <View style={[styles.fill, { width: `${fraction * 100}%`, backgroundColor: theme.accent }]} />
            </View>
            {progress ? (
              <>
                <Fact label="Epoch" value={`${progress.epoch} of ${progress.total_epochs}`} testID="job-epoch" />
                <Fact label="Step" value={`${progress.step} of ${progress.total_steps}`} />
                <Fact label="Training loss" value={progress.train_loss.toFixed(4)} testID="job-loss" />
                {!isTerminalJobState(job.state) ? <Fact label="Time left" value={duration(progress.eta_seconds)} /> : null}
              </>
            ) : null}
            {job.test_metrics ? <Fact label="Test accuracy" value={percent(job.test_metrics.accuracy)} testID="job-accuracy" /> : null}
            {job.model_version ? <Fact label="Produced" value={`${job.model_name}@${job.model_version}`} /> : null}
            {job.error ? <Body>{`Failed: ${job.error}`}</Body> : null}
          </Card>
          <LossChart losses={watch.losses} />
          {!isTerminalJobState(job.state) ? <Button title="Cancel job" kind="danger" onPress={cancel} busy={cancelling} /> : null}
          {cancelError ? <ErrorMessage message={cancelError} /> : null}
        </>
      ) : null}
    </Screen>
  );
}

/** Training loss per progress event as bars, scaled to the largest; grows as events arrive. */
function LossChart({ losses }: { losses: number[] }) {
  const theme = useTheme();
  if (losses.length === 0) return null;
  const shown = losses.slice(-60);
  const max = Math.max(...shown, Number.EPSILON);
  const last = shown[shown.length - 1] ?? 0;
  return (
    <Card>
      <Body muted>Training loss</Body>
      <View
        accessible
        accessibilityRole="image"
        accessibilityLabel={`Training loss chart, ${losses.length} points, latest ${last.toFixed(4)}`}
        testID="loss-chart"
        style={styles.chart}
      >
        {shown.map((loss, i) => (
          <View key={i} style={{ flex: 1, height: `${Math.max(2, (loss / max) * 100)}%`, backgroundColor: theme.accent, marginHorizontal: 0.5 }} />
        ))}
      </View>
    </Card>
  );
}

const styles = StyleSheet.create({
  track: { height: 8, borderRadius: 4, overflow: "hidden", marginVertical: 6 },
  fill: { height: 8 },
  chart: { height: 100, flexDirection: "row", alignItems: "flex-end" },
});
