import { stateLabel, when } from "../format";
import { useResource } from "../hooks";
import { useNavigation } from "../navigation";
import { Body, Card, ErrorMessage, Loading, Screen, Title } from "../ui";

export function JobsScreen() {
  const { push } = useNavigation();
  const jobs = useResource((client, signal) => client.listTrainingJobs({ signal, pageSize: 100 }), []);
  return (
    <Screen testID="jobs-screen" refreshing={jobs.refreshing} onRefresh={jobs.refresh}>
      <Title>Training jobs</Title>
      {jobs.error ? <ErrorMessage message={jobs.error} onRetry={jobs.refresh} /> : null}
      {jobs.loading && !jobs.data ? <Loading label="Loading training jobs" /> : null}
      {jobs.data && jobs.data.jobs.length === 0 ? <Body muted>No training jobs yet.</Body> : null}
      {jobs.data?.jobs.map((job) => {
        const progress = job.progress;
        const pct = progress && progress.total_steps > 0 ? ` · ${Math.round((progress.step / progress.total_steps) * 100)}%` : "";
        return (
          <Card key={job.id} onPress={() => push({ name: "job", id: job.id })} label={`Job ${job.model_name}, ${stateLabel(job.state)}`} hint="Follows the job live">
            <Body>
              {job.model_name} · {stateLabel(job.state)}
              {job.state === "running" ? pct : ""}
            </Body>
            <Body muted>
              {job.kind} · started {when(job.started_at ?? job.created_at)}
            </Body>
          </Card>
        );
      })}
    </Screen>
  );
}
