//! The job manager: training jobs from creation to a stored model version, on a queue that
//! several replicas share.
//!
//! States: QUEUED → RUNNING → SUCCEEDED | FAILED | CANCELLED. Jobs live in the metadata store
//! (strata-meta: SQLite by default, PostgreSQL for many replicas), which is also the queue: a
//! replica's dispatcher claims the oldest queued job atomically while it has a free slot
//! (`max_concurrent`), and holds it with a lease that a renewal task extends every third of the
//! lease period. Every write of a running job names that lease, so a replica that lost it (its
//! renewals failed for two thirds of the period, or another replica took the job over) cannot
//! change the job any more and stops the run at its next step. A replica that dies stops
//! renewing; when its lease expires another replica claims the job and the core resumes it from
//! its last checkpoint in the shared artifact store. A restarted replica with the same id takes
//! back its own jobs at once.
//!
//! Every transition and progress event is written before anything is told about it; watchers
//! read the log from the store, woken by this replica's writes and polling for other replicas'.
//! The queue bound (creating a job beyond it is RESOURCE_EXHAUSTED) is checked in the store.
//!
//! Exactly once: the finishing transition is fenced by the lease, and a job that finds a model
//! version already made by itself (a holder died between storing the model and recording it)
//! adopts that version instead of training again. Cancelling a queued job is a compare-and-set
//! in the store; a running one is flagged there and stopped by its holder.
//!
//! Shutdown cancels the running jobs' tokens; the core checkpoints on cancellation, and the jobs
//! go back to QUEUED (releasing their leases), to be resumed by any replica.
//!
//! Traces: a job's `training.job` span (with a `training.epoch` span per epoch) continues the
//! trace of the CreateTrainingJob call when the same replica runs it. The link is kept in memory
//! only, not in the queue: a job another replica claims, or one resumed after a restart, starts
//! a trace of its own, found by its `job` attribute.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prost::Message;
use strata_core::train::clear_checkpoints;
use strata_core::{
    CancelToken, CoreError, Plan, TrainConfig, TrainControl, TrainEvent, TrainRequest,
    TrainSettings,
};
use strata_data::{ArtifactStore, ParquetDataset};
use strata_meta::{Claimed, JobRow, JobStatus, Lease, MetaError, MetadataStore, Renewal};
use strata_proto::strata::ml::v1 as pb;
use strata_proto::strata::ml::v1::training_event::Event;
use strata_proto::strata::ml::v1::{JobState, TrainingEvent, TrainingJob};
use strata_runtime::metrics::{
    TRAINING_JOBS, TRAINING_JOBS_FINISHED_TOTAL, TRAINING_STEP_DURATION_SECONDS,
};
use strata_runtime::structs;
use strata_runtime::telemetry::TraceParent;
use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::convert;
use crate::datasets::Datasets;
use crate::error::{ServiceError, ServiceResult};
use crate::registry::ModelRegistry;

/// Progress events are kept at most this often (plus every epoch end), so a fast job does not
/// write an event per optimizer step.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// How often watchers look for events written by other replicas.
const WATCH_POLL: Duration = Duration::from_millis(250);

/// What the manager knows about a job it runs on this replica.
struct Run {
    lease: Lease,
    job: Mutex<TrainingJob>,
    token: CancelToken,
    cancel_requested: AtomicBool,
    /// The lease is gone: write nothing more for this job.
    lost: AtomicBool,
}

impl Run {
    fn job(&self) -> TrainingJob {
        self.job.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn lose(&self) {
        if !self.lost.swap(true, Ordering::SeqCst) {
            tracing::warn!(job = %self.lease.job_id, "lost the lease on this job; stopping it here, its new holder goes on");
        }
        self.token.cancel();
    }
}

struct Inner {
    meta: Arc<dyn MetadataStore>,
    store: Arc<dyn ArtifactStore>,
    registry: Arc<ModelRegistry>,
    datasets: Arc<Datasets>,
    work_dir: PathBuf,
    limits: JobLimits,
    running: Mutex<HashMap<String, Arc<Run>>>,
    /// Trace position of each job created here and not yet started here (see the module docs).
    origins: Mutex<HashMap<String, TraceParent>>,
    /// A job was created here: claim now rather than at the next poll.
    wake: Notify,
    /// Bumped after every write of this replica; watchers re-read the log.
    changed: watch::Sender<u64>,
    permits: Arc<Semaphore>,
    shutting_down: AtomicBool,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    runtime: tokio::runtime::Handle,
}

/// See the module docs. Cheap to clone.
#[derive(Clone)]
pub struct JobManager {
    inner: Arc<Inner>,
}

#[derive(Debug, Clone)]
pub struct JobLimits {
    pub max_concurrent: usize,
    pub queue_depth: usize,
    /// This replica's name in leases; replicas sharing a metadata store need different ones.
    pub replica: String,
    pub lease: Duration,
    /// Most trainable parameters of a model one job may build (hidden layers and their inputs
    /// and outputs): the memory a request can make the replica allocate.
    pub max_parameters: u64,
    /// Most optimizer steps one job may run (epochs × batches per epoch): its time budget.
    pub max_steps: u64,
}

fn status_of(state: JobState) -> JobStatus {
    match state {
        JobState::Running => JobStatus::Running,
        JobState::Succeeded => JobStatus::Succeeded,
        JobState::Failed => JobStatus::Failed,
        JobState::Cancelled => JobStatus::Cancelled,
        JobState::Queued | JobState::Unspecified => JobStatus::Queued,
    }
}

fn state_of(status: JobStatus) -> JobState {
    match status {
        JobStatus::Queued => JobState::Queued,
        JobStatus::Running => JobState::Running,
        JobStatus::Succeeded => JobState::Succeeded,
        JobStatus::Failed => JobState::Failed,
        JobStatus::Cancelled => JobState::Cancelled,
    }
}

/// The stored job; its state is the store's status column, which claims change first.
fn decode_job(row: &JobRow) -> ServiceResult<TrainingJob> {
    let mut job = TrainingJob::decode(row.record.as_slice()).map_err(|e| {
        ServiceError::DataLoss(format!(
            "stored record of job {} is unreadable: {e}",
            row.id
        ))
    })?;
    job.state = state_of(row.status) as i32;
    Ok(job)
}

fn decode_event(job_id: &str, row: strata_meta::EventRow) -> ServiceResult<TrainingEvent> {
    let mut e = TrainingEvent::decode(row.body.as_slice()).map_err(|err| {
        ServiceError::DataLoss(format!(
            "stored event {} of job {job_id} is unreadable: {err}",
            row.sequence
        ))
    })?;
    e.sequence = row.sequence;
    Ok(e)
}

/// An event as stored: the job as it is now; the store numbers it.
fn event_body(job: &TrainingJob, event: Event) -> Vec<u8> {
    TrainingEvent {
        sequence: 0,
        time: convert::now(),
        event: Some(event),
        job: Some(job.clone()),
    }
    .encode_to_vec()
}

fn is_final(e: &TrainingEvent) -> bool {
    matches!(
        e.event,
        Some(Event::StateChanged(s)) if JobState::try_from(s).is_ok_and(|s| status_of(s).is_terminal())
    )
}

fn not_found(id: &str) -> ServiceError {
    ServiceError::NotFound(format!("training job `{id}` not found"))
}

impl JobManager {
    /// Starts the dispatcher: from now on this replica claims queued jobs.
    pub fn start(
        meta: Arc<dyn MetadataStore>,
        store: Arc<dyn ArtifactStore>,
        registry: Arc<ModelRegistry>,
        datasets: Arc<Datasets>,
        work_dir: PathBuf,
        limits: JobLimits,
    ) -> ServiceResult<Self> {
        std::fs::create_dir_all(&work_dir).map_err(|e| {
            ServiceError::write_failed(&format!("cannot create {}", work_dir.display()), &e)
        })?;
        let manager = JobManager {
            inner: Arc::new(Inner {
                meta,
                store,
                registry,
                datasets,
                work_dir,
                permits: Arc::new(Semaphore::new(limits.max_concurrent)),
                limits,
                running: Mutex::new(HashMap::new()),
                origins: Mutex::new(HashMap::new()),
                wake: Notify::new(),
                changed: watch::channel(0).0,
                shutting_down: AtomicBool::new(false),
                shutdown: CancellationToken::new(),
                tasks: TaskTracker::new(),
                runtime: tokio::runtime::Handle::current(),
            }),
        };
        let inner = manager.inner.clone();
        manager.inner.tasks.spawn(async move {
            match inner.meta.expire_leases(&inner.limits.replica).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(jobs = n, "jobs this replica ran before its restart resume from their last checkpoint"),
                Err(e) => tracing::warn!(error = %e, "cannot release this replica's earlier leases; they expire on their own"),
            }
            inner.update_gauges().await;
            dispatch(inner).await
        });
        Ok(manager)
    }

    /// Validates and queues a job.
    /// Queues a job for `caller` (its owner; `None` where callers are not verified).
    pub async fn create(
        &self,
        req: pb::CreateTrainingJobRequest,
        caller: Option<strata_runtime::caller::CallerClaims>,
    ) -> ServiceResult<TrainingJob> {
        if self.inner.shutting_down.load(Ordering::SeqCst) {
            return Err(ServiceError::Unavailable(
                "the ML service is shutting down".into(),
            ));
        }
        let inner = self.inner.clone();
        // Reads manifests and resolves models: blocking work.
        let job =
            tokio::task::spawn_blocking(move || inner.validate(req, caller.as_ref())).await??;
        let row = JobRow {
            id: job.id.clone(),
            status: JobStatus::Queued,
            model_name: job.model_name.clone(),
            record: job.encode_to_vec(),
        };
        let event = event_body(&job, Event::StateChanged(JobState::Queued as i32));
        // Before the job is in the queue: a dispatcher may claim it the moment it is.
        {
            let mut origins = self.inner.origins.lock().unwrap_or_else(|p| p.into_inner());
            // Jobs that other replicas ran leave their entries behind; a bound keeps that from
            // growing forever, and losing a parent only costs the job a trace of its own.
            if origins.len() >= 4 * self.inner.limits.queue_depth.max(256) {
                origins.clear();
            }
            origins.insert(job.id.clone(), TraceParent::of(&tracing::Span::current()));
        }
        if let Err(e) = self
            .inner
            .meta
            .create_job(&row, &event, self.inner.limits.queue_depth as u64)
            .await
        {
            self.inner
                .origins
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&job.id);
            return Err(e.into());
        }
        tracing::info!(job = %job.id, "training job queued");
        self.inner.changed_here();
        self.inner.wake.notify_one();
        self.inner.update_gauges().await;
        // The answer shows the job as queued, even if a replica starts it a moment later.
        Ok(job)
    }

    pub async fn get(&self, id: &str) -> ServiceResult<TrainingJob> {
        let row = self
            .inner
            .meta
            .job(id)
            .await?
            .ok_or_else(|| not_found(id))?;
        decode_job(&row)
    }

    /// Every job matching the filters, newest first.
    pub async fn list(&self, state: i32, model_name: &str) -> ServiceResult<Vec<TrainingJob>> {
        let status = JobState::try_from(state)
            .ok()
            .filter(|s| *s != JobState::Unspecified)
            .map(status_of);
        let model = (!model_name.is_empty()).then_some(model_name);
        self.inner
            .meta
            .jobs(status, model)
            .await?
            .iter()
            .map(decode_job)
            .collect()
    }

    /// Cancels a queued job at once; a running one (here or on another replica) stops at its
    /// next step and then becomes CANCELLED.
    pub async fn cancel(&self, id: &str) -> ServiceResult<TrainingJob> {
        // A queued job may be claimed between the two steps; then ask its holder.
        for _ in 0..4 {
            let mut job = self.get(id).await?;
            match JobState::try_from(job.state) {
                Ok(JobState::Queued) => {
                    job.state = JobState::Cancelled as i32;
                    job.finished_at = convert::now();
                    let event = event_body(&job, Event::StateChanged(JobState::Cancelled as i32));
                    let done = self
                        .inner
                        .meta
                        .transition(
                            id,
                            JobStatus::Queued,
                            JobStatus::Cancelled,
                            &job.encode_to_vec(),
                            &event,
                        )
                        .await?;
                    if done.is_some() {
                        tracing::info!(job = %id, "queued job cancelled");
                        self.inner.changed_here();
                        self.inner.update_gauges().await;
                        return Ok(job);
                    }
                }
                Ok(JobState::Running) => {
                    if self.inner.meta.request_cancel(id).await? == JobStatus::Running {
                        let local = self.inner.running_job(id);
                        if let Some(run) = local {
                            run.cancel_requested.store(true, Ordering::SeqCst);
                            run.token.cancel();
                        }
                        tracing::info!(job = %id, "cancelling running job at its next step");
                        return self.get(id).await;
                    }
                }
                _ => {
                    return Err(ServiceError::FailedPrecondition(format!(
                        "job {id} already ended ({})",
                        JobState::try_from(job.state)
                            .map(|s| s.as_str_name())
                            .unwrap_or("unknown")
                    )));
                }
            }
        }
        Err(ServiceError::Unavailable(format!(
            "job {id} changed state during cancellation; retry"
        )))
    }

    /// The job's events after `after`, then later ones as they are recorded, ending after the
    /// final state change or when the service shuts down (an UNAVAILABLE item).
    pub async fn watch(
        &self,
        id: &str,
        after: u64,
    ) -> ServiceResult<mpsc::Receiver<ServiceResult<TrainingEvent>>> {
        self.get(id).await?;
        let (tx, rx) = mpsc::channel(64);
        let inner = self.inner.clone();
        let id = id.to_owned();
        let mut changed = inner.changed.subscribe();
        tokio::spawn(async move {
            let mut last = after;
            loop {
                let events = match inner.meta.events(&id, last).await {
                    Ok(rows) => rows
                        .into_iter()
                        .map(|r| decode_event(&id, r))
                        .collect::<ServiceResult<Vec<_>>>(),
                    Err(e) => Err(e.into()),
                };
                let events = match events {
                    Ok(e) => e,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                let quiet = events.is_empty();
                for e in events {
                    last = e.sequence;
                    let fin = is_final(&e);
                    if tx.send(Ok(e)).await.is_err() || fin {
                        return;
                    }
                }
                // Asked to start after the final event: nothing more will come.
                if quiet
                    && let Ok(Some(row)) = inner.meta.job(&id).await
                    && row.status.is_terminal()
                    && inner
                        .meta
                        .events(&id, last)
                        .await
                        .is_ok_and(|e| e.is_empty())
                {
                    return;
                }
                tokio::select! {
                    _ = changed.changed() => {}
                    _ = tokio::time::sleep(WATCH_POLL) => {}
                    _ = tx.closed() => return,
                    _ = inner.shutdown.cancelled() => {
                        let _ = tx.send(Err(ServiceError::Unavailable(
                            "the ML service is shutting down; watch again with after_sequence".into(),
                        ))).await;
                        return;
                    }
                }
            }
        });
        Ok(rx)
    }

    /// Stops claiming jobs, checkpoints the running ones, puts them back in the queue and waits
    /// for them to stop.
    pub async fn shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
        self.inner.shutdown.cancel();
        for run in self.inner.running_jobs() {
            run.token.cancel();
        }
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
        tracing::info!(
            "job manager stopped; unfinished jobs resume on the next replica to claim them"
        );
    }
}

impl Inner {
    fn running_job(&self, id: &str) -> Option<Arc<Run>> {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    fn running_jobs(&self) -> Vec<Arc<Run>> {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    fn changed_here(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Checks a request and builds the job it asks for.
    fn validate(
        &self,
        req: pb::CreateTrainingJobRequest,
        caller: Option<&strata_runtime::caller::CallerClaims>,
    ) -> ServiceResult<TrainingJob> {
        convert::check_name("model_name", &req.model_name)?;
        let registry = &self.registry;
        // A new version under someone else's name would make the bare name serve it.
        registry.check_owner(caller, &req.model_name)?;
        let info = registry.kinds().get(&req.kind)?.describe();
        let dataset = self.datasets.manifest(&req.dataset_id)?;
        let schema = self.datasets.schema(&dataset)?;
        let rows = dataset
            .info
            .extra
            .get("num_rows")
            .and_then(|v| v.as_u64())
            .unwrap_or(0) as usize;
        let hp = req.hyperparameters.unwrap_or_default();
        // Builds the exact configuration the run will use, so bad values fail here, not later.
        let config = train_config(&hp, rows)?;
        if schema.label.is_none() {
            return Err(ServiceError::InvalidArgument(format!(
                "dataset `{}` has no label column; training needs labelled rows",
                req.dataset_id
            )));
        }
        let (base_model, base_kind) = if req.base_model.is_empty() {
            (String::new(), None)
        } else if info.base_kind.is_none() {
            // Refused before it is looked up: a missing base is not the point here.
            return Err(ServiceError::InvalidArgument(format!(
                "{} trains from scratch; it does not start from a base model",
                info.name
            )));
        } else {
            let key = registry.resolve(&req.base_model)?;
            let kind = registry.manifest(&key)?.info.kind;
            (format!("{}@{}", key.name, key.version), Some(kind))
        };
        let params = structs::from_optional(req.parameters.as_ref());
        let plan = registry
            .kinds()
            .plan(&req.kind, &params, &schema, base_kind.as_deref())?;
        check_budget(&plan, &config, rows, &self.limits)?;
        Ok(TrainingJob {
            id: format!("job-{}", uuid::Uuid::now_v7().simple()),
            model_name: req.model_name,
            kind: req.kind,
            dataset_id: req.dataset_id,
            hyperparameters: Some(hp),
            parameters: req.parameters,
            base_model,
            state: JobState::Queued as i32,
            created_at: convert::now(),
            owner: crate::callers::owner_of(caller),
            ..Default::default()
        })
    }

    async fn update_gauges(&self) {
        let counts = match self.meta.count_by_status().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot count jobs for the metrics");
                return;
            }
        };
        for s in JobStatus::ALL {
            let label = state_of(s)
                .as_str_name()
                .trim_start_matches("JOB_STATE_")
                .to_ascii_lowercase();
            let n = counts.get(&s).copied().unwrap_or(0);
            metrics::gauge!(TRAINING_JOBS, "state" => label).set(n as f64);
        }
    }

    /// Writes the running job's record (after `update`) with one event, under its lease. From
    /// the training thread, which blocks on the store; a lost lease stops the run.
    fn progress(
        &self,
        run: &Run,
        update: impl FnOnce(&mut pb::TrainingProgress),
        event: Option<Event>,
    ) {
        if run.lost.load(Ordering::SeqCst) {
            return;
        }
        let (record, body) = {
            let mut job = run.job.lock().unwrap_or_else(|p| p.into_inner());
            update(job.progress.get_or_insert_with(Default::default));
            let event =
                event.unwrap_or_else(|| Event::Progress(job.progress.clone().unwrap_or_default()));
            (job.encode_to_vec(), event_body(&job, event))
        };
        let written = self.runtime.block_on(self.meta.record(
            &run.lease,
            JobStatus::Running,
            &record,
            &[body],
        ));
        match written {
            Ok(_) => self.changed_here(),
            Err(MetaError::LeaseLost(_)) => run.lose(),
            Err(e) => {
                tracing::warn!(job = %run.lease.job_id, error = %e, "could not record a training event")
            }
        }
    }

    /// Records the end of a run (or its return to the queue) under its lease.
    async fn finish(&self, run: &Run, to: JobState, update: impl FnOnce(&mut TrainingJob)) {
        if run.lost.load(Ordering::SeqCst) {
            return;
        }
        let (record, body) = {
            let mut job = run.job.lock().unwrap_or_else(|p| p.into_inner());
            job.state = to as i32;
            update(&mut job);
            (
                job.encode_to_vec(),
                event_body(&job, Event::StateChanged(to as i32)),
            )
        };
        match self
            .meta
            .record(&run.lease, status_of(to), &record, &[body])
            .await
        {
            Ok(_) => self.changed_here(),
            Err(MetaError::LeaseLost(_)) => run.lose(),
            Err(e) => {
                tracing::error!(job = %run.lease.job_id, error = %e, "cannot record the job's end; it is claimed again when its lease expires")
            }
        }
        self.update_gauges().await;
    }

    fn clear(&self, id: &str) {
        if let Err(e) = clear_checkpoints(&*self.store, id) {
            tracing::warn!(job = %id, error = %e, "cannot remove the job's checkpoints");
        }
    }
}

/// Claims queued jobs while this replica has free slots.
async fn dispatch(inner: Arc<Inner>) {
    // Idle replicas look for work (new jobs, expired leases) this often.
    let poll = (inner.limits.lease / 4).clamp(Duration::from_millis(100), Duration::from_secs(1));
    loop {
        let permit = tokio::select! {
            p = inner.permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            _ = inner.shutdown.cancelled() => return,
        };
        let claimed = loop {
            if inner.shutting_down.load(Ordering::SeqCst) {
                return;
            }
            match inner
                .meta
                .claim(&inner.limits.replica, inner.limits.lease)
                .await
            {
                Ok(Some(c)) => break c,
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot claim a training job"),
            }
            tokio::select! {
                _ = inner.wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = inner.shutdown.cancelled() => return,
            }
        };
        let inner2 = inner.clone();
        inner.tasks.spawn(async move {
            run(&inner2, claimed).await;
            drop(permit);
        });
    }
}

/// Keeps the lease of a running job; stops the run when the lease is lost or cancelled.
async fn renew(inner: Arc<Inner>, run: Arc<Run>) {
    let lease = inner.limits.lease;
    let mut last_held = Instant::now();
    loop {
        tokio::time::sleep(lease / 3).await;
        match inner.meta.renew(&run.lease, lease).await {
            Ok(Renewal::Held { cancel_requested }) => {
                last_held = Instant::now();
                if cancel_requested && !run.cancel_requested.swap(true, Ordering::SeqCst) {
                    tracing::info!(job = %run.lease.job_id, "cancellation requested on another replica");
                    run.token.cancel();
                }
            }
            Ok(Renewal::Lost) => return run.lose(),
            Err(e) => {
                tracing::warn!(job = %run.lease.job_id, error = %e, "cannot renew the job's lease");
                // Stop before the lease can expire and another replica start the same job.
                if last_held.elapsed() >= lease * 2 / 3 {
                    return run.lose();
                }
            }
        }
    }
}

/// Runs one claimed job to its end (or back to the queue).
async fn run(inner: &Arc<Inner>, claimed: Claimed) {
    let resumed = claimed.resumed();
    let Claimed {
        lease,
        row,
        cancel_requested,
    } = claimed;
    let id = lease.job_id.clone();
    let span = tracing::info_span!(
        "training.job",
        job = %id,
        kind = tracing::field::Empty,
        outcome = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let origin = inner
        .origins
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&id);
    if let Some(origin) = origin {
        origin.adopt(&span);
    }
    let mut job = match decode_job(&row) {
        Ok(j) => j,
        Err(e) => {
            tracing::error!(job = %id, error = %e, "claimed a job whose record is unreadable; failing it");
            let mut job = TrainingJob {
                id: id.clone(),
                model_name: row.model_name.clone(),
                ..Default::default()
            };
            job.state = JobState::Failed as i32;
            job.error = e.to_string();
            let body = event_body(&job, Event::StateChanged(JobState::Failed as i32));
            let _ = inner
                .meta
                .record(&lease, JobStatus::Failed, &job.encode_to_vec(), &[body])
                .await;
            return;
        }
    };
    let mut events = Vec::new();
    if resumed {
        tracing::info!(job = %id, "the job's previous holder stopped renewing its lease; resuming from the last checkpoint");
        job.state = JobState::Queued as i32;
        events.push(event_body(
            &job,
            Event::StateChanged(JobState::Queued as i32),
        ));
    }
    job.state = JobState::Running as i32;
    if job.started_at.is_none() {
        job.started_at = convert::now();
    }
    events.push(event_body(
        &job,
        Event::StateChanged(JobState::Running as i32),
    ));
    match inner
        .meta
        .record(&lease, JobStatus::Running, &job.encode_to_vec(), &events)
        .await
    {
        Ok(_) => inner.changed_here(),
        Err(e) => {
            tracing::warn!(job = %id, error = %e, "cannot record the job's start; leaving it to the queue");
            return;
        }
    }
    let token = CancelToken::new();
    let run = Arc::new(Run {
        lease,
        job: Mutex::new(job.clone()),
        token: token.clone(),
        cancel_requested: AtomicBool::new(cancel_requested),
        lost: AtomicBool::new(false),
    });
    inner
        .running
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id.clone(), run.clone());
    inner.update_gauges().await;
    let renewal = tokio::spawn(renew(inner.clone(), run.clone()));
    tracing::info!(job = %id, model = %job.model_name, kind = %job.kind, replica = %inner.limits.replica, "training job started");
    span.record("kind", job.kind.as_str());

    let outcome = if cancel_requested {
        Err(Failure::Cancelled)
    } else {
        let (inner2, run2, span2) = (inner.clone(), run.clone(), span.clone());
        tokio::task::spawn_blocking(move || {
            let _entered = span2.enter();
            // A holder that died after storing the model but before recording it: adopt it.
            if let Some(done) = inner2.registry.version_made_by(&run2.job().model_name, &run2.lease.job_id)? {
                tracing::info!(job = %run2.lease.job_id, version = %done.0, "the job's model was already stored; adopting it");
                return Ok(done);
            }
            let dataset_file = inner2.work_dir.join(format!("{}.parquet", run2.lease.job_id));
            let outcome = train(&inner2, &run2, &dataset_file, token);
            let _ = std::fs::remove_file(&dataset_file);
            outcome
        })
        .await
        .unwrap_or_else(|e| Err(Failure::Error(e.into())))
    };
    renewal.abort();

    let cancel_requested = run.cancel_requested.load(Ordering::SeqCst);
    let ended = match &outcome {
        _ if run.lost.load(Ordering::SeqCst) => "lost",
        Ok(_) => "succeeded",
        Err(Failure::Cancelled)
            if !cancel_requested && inner.shutting_down.load(Ordering::SeqCst) =>
        {
            "checkpointed"
        }
        Err(Failure::Cancelled) => "cancelled",
        Err(Failure::Error(_)) => "failed",
    };
    span.record("outcome", ended);
    if ended == "failed" {
        span.record("otel.status_code", "ERROR");
    }
    if matches!(ended, "succeeded" | "cancelled" | "failed") {
        metrics::counter!(TRAINING_JOBS_FINISHED_TOTAL, "kind" => job.kind.clone(), "outcome" => ended)
            .increment(1);
    }
    match outcome {
        _ if run.lost.load(Ordering::SeqCst) => {}
        Ok((version, metrics)) => {
            inner.clear(&id);
            tracing::info!(job = %id, %version, "training job succeeded");
            inner
                .finish(&run, JobState::Succeeded, |j| {
                    j.model_version = version;
                    j.test_metrics = Some(metrics);
                    j.finished_at = convert::now();
                })
                .await;
        }
        Err(Failure::Cancelled)
            if !cancel_requested && inner.shutting_down.load(Ordering::SeqCst) =>
        {
            tracing::info!(job = %id, "training job checkpointed for shutdown; back in the queue");
            inner.finish(&run, JobState::Queued, |_| {}).await;
        }
        Err(Failure::Cancelled) => {
            inner.clear(&id);
            tracing::info!(job = %id, "training job cancelled");
            inner
                .finish(&run, JobState::Cancelled, |j| {
                    j.finished_at = convert::now()
                })
                .await;
        }
        Err(Failure::Error(e)) => {
            inner.clear(&id);
            tracing::warn!(job = %id, error = %e, "training job failed");
            inner
                .finish(&run, JobState::Failed, |j| {
                    // Everyone who may read the job sees this; the log keeps the rest.
                    j.error = e.public_message();
                    j.finished_at = convert::now();
                })
                .await;
        }
    }
    inner
        .running
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&id);
    inner.wake.notify_one();
}

enum Failure {
    Cancelled,
    Error(ServiceError),
}

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Self {
        Failure::Error(e)
    }
}

impl From<CoreError> for Failure {
    fn from(e: CoreError) -> Self {
        Failure::Error(e.into())
    }
}

/// Trains on this (blocking) thread; returns the new version and its test metrics.
fn train(
    inner: &Arc<Inner>,
    run: &Arc<Run>,
    dataset_file: &std::path::Path,
    token: CancelToken,
) -> Result<(String, pb::Metrics), Failure> {
    let job = run.job();
    let registry = &inner.registry;
    let kind = registry
        .kinds()
        .get(&job.kind)
        .map_err(ServiceError::from)?;
    let manifest = inner.datasets.manifest(&job.dataset_id)?;
    let schema = inner.datasets.schema(&manifest)?;
    inner.datasets.materialize(&job.dataset_id, dataset_file)?;
    let dataset = ParquetDataset::open_limited(dataset_file, &schema, inner.datasets.limits())
        .map_err(ServiceError::from)?;
    let hp = job.hyperparameters.unwrap_or_default();
    let config = train_config(&hp, dataset.rows())?;
    let params = structs::from_optional(job.parameters.as_ref());
    let base = if job.base_model.is_empty() {
        None
    } else {
        Some(registry.artifact(&registry.resolve(&job.base_model)?)?)
    };
    let total_epochs = config.epochs as u32;
    let last_progress = Mutex::new(None::<Instant>);
    // `training.epoch` spans under the job's span, opened at an epoch's first step and closed
    // at its end; the time between steps feeds the step-time histogram.
    let job_span = tracing::Span::current();
    let epoch_span = Mutex::new(None::<(usize, tracing::Span)>);
    let last_step = Mutex::new(None::<Instant>);
    let step_timing = |epoch: usize| {
        let now = Instant::now();
        let mut last = last_step.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(previous) = last.replace(now) {
            metrics::histogram!(TRAINING_STEP_DURATION_SECONDS, "kind" => job.kind.clone())
                .record(now.duration_since(previous).as_secs_f64());
        }
        let mut open = epoch_span.lock().unwrap_or_else(|p| p.into_inner());
        if open.as_ref().is_none_or(|(e, _)| *e != epoch) {
            *open = Some((
                epoch,
                tracing::info_span!(parent: &job_span, "training.epoch", epoch = epoch + 1, train_loss = tracing::field::Empty),
            ));
        }
    };
    let progress = |event: &TrainEvent| match event {
        TrainEvent::Started {
            total_steps,
            resumed_from_step,
            ..
        } => {
            // The first step's time counts from the start (data loading, model set-up).
            *last_step.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
            inner.progress(
                run,
                |p| {
                    p.total_steps = *total_steps;
                    p.total_epochs = total_epochs;
                    p.step = resumed_from_step.unwrap_or(0);
                },
                None,
            )
        }
        TrainEvent::Step {
            epoch,
            step,
            total_steps,
            loss,
            examples_per_sec,
            eta_secs,
            ..
        } => {
            step_timing(*epoch);
            let mut last = last_progress.lock().unwrap_or_else(|p| p.into_inner());
            let due = last.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) || step == total_steps;
            let update = |p: &mut pb::TrainingProgress| {
                p.epoch = *epoch as u32 + 1;
                p.step = *step;
                p.total_steps = *total_steps;
                p.train_loss = *loss;
                p.examples_per_second = *examples_per_sec;
                p.eta_seconds = *eta_secs;
            };
            if due {
                *last = Some(Instant::now());
                inner.progress(run, update, None);
            } else {
                let mut job = run.job.lock().unwrap_or_else(|p| p.into_inner());
                update(job.progress.get_or_insert_with(Default::default));
            }
        }
        TrainEvent::Epoch {
            epoch,
            train_loss,
            val,
        } => {
            let ended = epoch_span.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some((_, span)) = ended {
                span.record("train_loss", *train_loss);
            }
            inner.progress(
                run,
                |p| {
                    p.epoch = *epoch as u32 + 1;
                    p.train_loss = *train_loss;
                    p.validation = Some(convert::metrics(val));
                },
                None,
            )
        }
        TrainEvent::Checkpoint { step, .. } => {
            inner.progress(run, |_| {}, Some(Event::CheckpointStep(*step)))
        }
        TrainEvent::EarlyStopped { .. } | TrainEvent::Finished { .. } => {}
    };
    let request = TrainRequest {
        dataset: &dataset,
        config,
        params,
        base,
        device: registry.device().clone(),
        control: TrainControl {
            store: &*inner.store,
            job: job.id.clone(),
            cancel: token,
            progress: &progress,
        },
    };
    let trained = match kind.train(request) {
        Ok(t) => t,
        Err(CoreError::Cancelled { .. }) => return Err(Failure::Cancelled),
        Err(e) => return Err(e.into()),
    };
    // Lost while finishing the last steps: the new holder stores the model, not us.
    if run.lost.load(Ordering::SeqCst) {
        return Err(Failure::Cancelled);
    }
    let mut info = trained.model.info;
    crate::registry::record_owner(&mut info, &job.owner);
    if let serde_json::Value::Object(extra) = &mut info.extra {
        extra.insert("training_job_id".into(), job.id.clone().into());
        if !job.base_model.is_empty() {
            extra.insert("base_model".into(), job.base_model.clone().into());
        }
    }
    let manifest = registry.put_version(&job.model_name, trained.model.files, info)?;
    Ok((manifest.key.version, convert::metrics(&trained.test)))
}

/// The contract's shared knobs as the core's settings; the core resolves them, with the one set
/// of defaults the CLI and the web form use too.
pub fn settings(hp: &pb::Hyperparameters) -> TrainSettings {
    TrainSettings {
        epochs: hp.epochs,
        batch_size: hp.batch_size,
        learning_rate: hp.learning_rate,
        weight_decay: hp.weight_decay,
        warmup_steps: hp.warmup_steps,
        max_grad_norm: hp.max_grad_norm,
        early_stopping_patience: hp.early_stopping_patience,
        checkpoint_every_steps: hp.checkpoint_every_steps,
        seed: hp.seed,
        validation_fraction: hp.validation_fraction,
        test_fraction: hp.test_fraction,
    }
}

/// The engine's configuration for a job's knobs on a dataset of `rows` rows.
pub fn train_config(hp: &pb::Hyperparameters, rows: usize) -> ServiceResult<TrainConfig> {
    Ok(settings(hp).resolve(rows)?)
}

/// Refuses a job whose model or run exceeds the replica's budget, naming the flag that sets it.
fn check_budget(
    plan: &Plan,
    config: &TrainConfig,
    rows: usize,
    limits: &JobLimits,
) -> ServiceResult<()> {
    if let Some(parameters) = plan.parameters
        && parameters > limits.max_parameters
    {
        return Err(ServiceError::InvalidArgument(format!(
            "these parameters make a model of {parameters} parameters; this server trains at \
             most {} (--max-train-parameters / STRATA_ML_MAX_TRAIN_PARAMETERS)",
            limits.max_parameters
        )));
    }
    if rows > 0 {
        let splits = strata_data::split(rows, &config.split)
            .map_err(|e| ServiceError::InvalidArgument(e.to_string()))?;
        let per_epoch = splits.train.len().div_ceil(config.batch_size.max(1)).max(1) as u64;
        let steps = per_epoch.saturating_mul(config.epochs as u64);
        if steps > limits.max_steps {
            return Err(ServiceError::InvalidArgument(format!(
                "{} epochs of {per_epoch} batches are {steps} steps; this server runs at most {} \
                 per job (--max-train-steps / STRATA_ML_MAX_TRAIN_STEPS)",
                config.epochs, limits.max_steps
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each contract field lands in its own setting (distinct values, so a swap shows).
    #[test]
    fn every_knob_maps_to_its_own_setting() {
        let hp = pb::Hyperparameters {
            epochs: Some(3),
            batch_size: Some(8),
            learning_rate: Some(0.01),
            weight_decay: Some(0.5),
            warmup_steps: Some(4),
            max_grad_norm: Some(0.25),
            early_stopping_patience: Some(6),
            checkpoint_every_steps: Some(9),
            seed: Some(11),
            validation_fraction: Some(0.2),
            test_fraction: Some(0.3),
        };
        let expected = TrainSettings {
            epochs: Some(3),
            batch_size: Some(8),
            learning_rate: Some(0.01),
            weight_decay: Some(0.5),
            warmup_steps: Some(4),
            max_grad_norm: Some(0.25),
            early_stopping_patience: Some(6),
            checkpoint_every_steps: Some(9),
            seed: Some(11),
            validation_fraction: Some(0.2),
            test_fraction: Some(0.3),
        };
        assert_eq!(settings(&hp), expected);
    }

    #[test]
    fn absent_knobs_resolve_to_the_cores_one_set_of_defaults() {
        // The CLI with no flags and the web form with blank fields send no settings either.
        for rows in [0, 1000] {
            assert_eq!(
                train_config(&pb::Hyperparameters::default(), rows).expect("defaults"),
                TrainSettings::default().resolve(rows).expect("defaults")
            );
        }
        let cfg = train_config(&pb::Hyperparameters::default(), 1000).expect("defaults");
        assert_eq!(cfg.clip_grad_norm, TrainConfig::default().clip_grad_norm);
        // 800 training rows in batches of 32: a checkpoint per epoch by default.
        assert_eq!(cfg.checkpoint_every, 25);
        let off = pb::Hyperparameters {
            max_grad_norm: Some(0.0),
            early_stopping_patience: Some(0),
            ..Default::default()
        };
        let cfg = train_config(&off, 1000).expect("explicit zeroes");
        assert_eq!((cfg.clip_grad_norm, cfg.patience), (None, None));
        for hp in [
            pb::Hyperparameters {
                learning_rate: Some(-1.0),
                ..Default::default()
            },
            pb::Hyperparameters {
                epochs: Some(0),
                ..Default::default()
            },
            pb::Hyperparameters {
                validation_fraction: Some(0.6),
                test_fraction: Some(0.6),
                ..Default::default()
            },
            pb::Hyperparameters {
                max_grad_norm: Some(f64::NAN),
                ..Default::default()
            },
        ] {
            assert!(
                matches!(
                    train_config(&hp, 1000),
                    Err(ServiceError::InvalidArgument(_))
                ),
                "{hp:?}"
            );
        }
    }
}
