//! Scale-out: replicas of the real `strata-ml` binary on loopback share a PostgreSQL database
//! (the job queue) and an S3-protocol server (the artifact store: datasets, checkpoints, models),
//! both started by strata-testkit; each replica has its own data directory for scratch files
//! only. Replica A starts a long job and
//! is SIGKILLed after its first checkpoint; two replicas B and C (a survivor and A's
//! replacement, under a new name as a new pod would be) take five more jobs from the shared
//! queue, and one of them resumes the long job from its checkpoint once A's lease expires. Every
//! job ends with exactly one model version, no job's log shows two runs at once, and every model
//! verifies (the store checks each file's sha256 on read).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::*;
use strata_data::{ArtifactClass, ArtifactKey, ArtifactStore, ObjectArtifactStore};
use strata_proto::strata::ml::v1 as pb;
use strata_proto::strata::ml::v1::training_event::Event;
use strata_testkit::free_port;

/// Short, so the test waits little for a dead replica's lease; renewed every third of it.
const LEASE_SECS: &str = "2";

struct Replica {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The shared parts every replica is pointed at.
struct Shared {
    metadata_url: String,
    artifact_url: String,
    s3_options: Vec<(String, String)>,
}

fn spawn(name: &str, data_dir: &Path, shared: &Shared) -> Replica {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let child = Command::new(env!("CARGO_BIN_EXE_strata-ml"))
        .args([
            "--listen",
            &addr.to_string(),
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .args(["--replica-id", name, "--job-lease-secs", LEASE_SECS])
        .args(["--metadata-url", &shared.metadata_url])
        .args(["--artifact-url", &shared.artifact_url, "--data-dir"])
        .arg(data_dir.join(name))
        .envs(shared.s3_options.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start strata-ml");
    Replica { child, addr }
}

fn states(events: &[pb::TrainingEvent]) -> Vec<pb::JobState> {
    events
        .iter()
        .filter_map(|e| match e.event {
            Some(Event::StateChanged(s)) => pb::JobState::try_from(s).ok(),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_queue_and_a_killed_replicas_job_resumes_on_the_other() {
    let Some(pg) = strata_testkit::Postgres::start() else {
        return;
    };
    let s3 = strata_testkit::S3Server::start();
    let shared = Shared {
        metadata_url: pg.database(),
        artifact_url: s3.url("replicas"),
        s3_options: s3.options(),
    };
    let dir = tempfile::tempdir().expect("temp dir");

    // The long job goes in while only replica A is up, so A runs it.
    let mut a = spawn("replica-a", dir.path(), &shared);
    let mut ca = Clients::connect(a.addr).await;
    let ds = upload_digits(&mut ca).await;
    let mut req = mlp_job("long", &ds.id, 30);
    req.hyperparameters
        .as_mut()
        .expect("hp")
        .checkpoint_every_steps = Some(15);
    let long = ca
        .training
        .create_training_job(req)
        .await
        .expect("create")
        .into_inner();
    let mut watch = ca
        .training
        .watch_training_job(pb::WatchTrainingJobRequest {
            id: long.id.clone(),
            after_sequence: 0,
        })
        .await
        .expect("watch")
        .into_inner();
    let mut checkpoint = 0;
    let mut seen = 0;
    while checkpoint == 0 {
        let e = watch
            .message()
            .await
            .expect("stream")
            .expect("the long job still runs");
        seen = e.sequence;
        if let Some(Event::CheckpointStep(step)) = e.event {
            checkpoint = step;
        }
    }

    a.child.kill().expect("SIGKILL replica A");
    a.child.wait().expect("reaped");
    drop(watch);

    // Two replicas share the queue; five more jobs arrive through both.
    let b = spawn("replica-b", dir.path(), &shared);
    let c = spawn("replica-c", dir.path(), &shared);
    let mut cb = Clients::connect(b.addr).await;
    let mut cc = Clients::connect(c.addr).await;
    let mut jobs = vec![long.clone()];
    for i in 0..5 {
        let client = if i % 2 == 0 { &mut cb } else { &mut cc };
        let job = client
            .training
            .create_training_job(mlp_job(&format!("short-{i}"), &ds.id, 2))
            .await
            .expect("create")
            .into_inner();
        jobs.push(job);
    }

    // Everything finishes, the long job after A's lease has expired.
    let mut logs = Vec::new();
    for job in &jobs {
        let events = watch_to_end(&mut cb, &job.id, 0).await;
        assert_eq!(
            events.last().and_then(final_state),
            Some(pb::JobState::Succeeded),
            "{}: {:?}",
            job.model_name,
            events.last()
        );
        logs.push(events);
    }

    for (job, events) in jobs.iter().zip(&logs) {
        // Never two runs at once: every RUNNING after the first follows a QUEUED.
        let mut running = false;
        for s in states(events) {
            match s {
                pb::JobState::Running => {
                    assert!(
                        !running,
                        "{} ran twice at once: {:?}",
                        job.model_name,
                        states(events)
                    );
                    running = true;
                }
                _ => running = false,
            }
        }
        let seqs: Vec<u64> = events.iter().map(|e| e.sequence).collect();
        assert_eq!(
            seqs,
            (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "gap-free log"
        );
    }

    // The long job went back to the queue when A's lease expired and resumed from its checkpoint.
    let after_kill: Vec<pb::TrainingEvent> = logs[0]
        .iter()
        .filter(|e| e.sequence > seen)
        .cloned()
        .collect();
    let requeued = states(&after_kill);
    assert!(
        requeued
            .windows(2)
            .any(|w| w == [pb::JobState::Queued, pb::JobState::Running]),
        "{requeued:?}"
    );
    let resumed_at = after_kill
        .iter()
        .skip_while(|e| e.event != Some(Event::StateChanged(pb::JobState::Queued as i32)))
        .find_map(|e| match &e.event {
            Some(Event::Progress(p)) => Some(p.step),
            _ => None,
        })
        .expect("progress after the resume");
    assert!(
        resumed_at >= checkpoint,
        "resumed at step {resumed_at}, the checkpoint was at {checkpoint}"
    );

    // Exactly one model version per job, made by that job, verified byte for byte.
    let store = ObjectArtifactStore::open_with(&shared.artifact_url, shared.s3_options.clone())
        .expect("shared store");
    let (rows, labels) = digits_rows();
    for job in &jobs {
        let model = cb
            .models
            .get_model(pb::GetModelRequest {
                name: job.model_name.clone(),
            })
            .await
            .expect("model")
            .into_inner();
        assert_eq!(
            model.versions.len(),
            1,
            "{}: {:?}",
            job.model_name,
            model.versions
        );
        assert_eq!(model.versions[0].training_job_id, job.id);
        let artifact = store
            .get(&ArtifactKey::new(
                ArtifactClass::Model,
                &job.model_name,
                "v1",
            ))
            .expect("every file matches its sha256");
        assert!(!artifact.manifest.files.is_empty());
        let out = cb
            .inference
            .predict(pb::PredictRequest {
                model: format!("{}@v1", job.model_name),
                features: rows[..20]
                    .iter()
                    .map(|r| pb::FeatureVector { values: r.clone() })
                    .collect(),
                texts: vec![],
            })
            .await
            .expect("predict")
            .into_inner();
        let right = out
            .predictions
            .iter()
            .zip(&labels)
            .filter(|(p, l)| p.class_index == **l)
            .count();
        assert!(right >= 12, "{}: {right}/20 right", job.model_name);
    }
    // Checkpoints of finished jobs are gone.
    assert!(
        store
            .versions(ArtifactClass::Checkpoint, &long.id)
            .expect("list")
            .is_empty()
    );
    drop((b, c));
}
