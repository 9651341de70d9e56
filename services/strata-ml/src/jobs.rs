//! The job manager: training jobs from creation to a stored model version.
//!
//! States: QUEUED → RUNNING → SUCCEEDED | FAILED | CANCELLED. The queue is bounded (creating a
//! job beyond it is RESOURCE_EXHAUSTED) and at most `max_concurrent` jobs run, each on a blocking
//! thread. Every transition and every progress event is written to the [`MetadataStore`] before
//! it is broadcast, so a watcher that replays the log and then follows the live stream misses
//! nothing, and a restart loses nothing: queued jobs are queued again and running ones go back to
//! the queue and resume from their last checkpoint (the core resumes a run with the same job id).
//!
//! Shutdown cancels the running jobs' tokens; the core checkpoints on cancellation, and the jobs
//! are put back to QUEUED (not CANCELLED), to resume at the next start.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use strata_core::train::clear_checkpoints;
use strata_core::{CancelToken, CoreError, TrainConfig, TrainControl, TrainEvent, TrainRequest};
use strata_data::{ArtifactStore, ParquetDataset, SplitSpec};
use strata_proto::strata::ml::v1 as pb;
use strata_proto::strata::ml::v1::training_event::Event;
use strata_proto::strata::ml::v1::{JobState, TrainingEvent, TrainingJob};
use strata_runtime::metrics::TRAINING_JOBS;
use tokio::sync::{Notify, Semaphore, broadcast};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::convert;
use crate::datasets::Datasets;
use crate::error::{ServiceError, ServiceResult};
use crate::meta::MetadataStore;
use crate::registry::ModelRegistry;

/// Progress events are kept at most this often (plus every epoch end), so a fast job does not
/// write an event per optimizer step.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

struct Entry {
    job: TrainingJob,
    next_sequence: u64,
    events: broadcast::Sender<TrainingEvent>,
    cancel: Option<CancelToken>,
    cancel_requested: bool,
}

struct State {
    jobs: HashMap<String, Entry>,
    queue: VecDeque<String>,
}

struct Inner {
    meta: Arc<dyn MetadataStore>,
    store: Arc<dyn ArtifactStore>,
    registry: Arc<ModelRegistry>,
    datasets: Arc<Datasets>,
    work_dir: PathBuf,
    queue_depth: usize,
    state: Mutex<State>,
    wake: Notify,
    permits: Arc<Semaphore>,
    shutting_down: AtomicBool,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

/// See the module docs. Cheap to clone.
#[derive(Clone)]
pub struct JobManager {
    inner: Arc<Inner>,
}

fn is_terminal(state: i32) -> bool {
    matches!(
        JobState::try_from(state),
        Ok(JobState::Succeeded | JobState::Failed | JobState::Cancelled)
    )
}

pub struct JobLimits {
    pub max_concurrent: usize,
    pub queue_depth: usize,
}

impl JobManager {
    /// Loads every job from `meta`, re-queues unfinished ones and starts the dispatcher.
    pub fn start(
        meta: Arc<dyn MetadataStore>,
        store: Arc<dyn ArtifactStore>,
        registry: Arc<ModelRegistry>,
        datasets: Arc<Datasets>,
        work_dir: PathBuf,
        limits: JobLimits,
    ) -> ServiceResult<Self> {
        std::fs::create_dir_all(&work_dir).map_err(|e| {
            ServiceError::Internal(format!("cannot create {}: {e}", work_dir.display()))
        })?;
        let mut jobs = meta.jobs()?;
        jobs.sort_by(|a, b| a.id.cmp(&b.id));
        let manager = JobManager {
            inner: Arc::new(Inner {
                meta,
                store,
                registry,
                datasets,
                work_dir,
                queue_depth: limits.queue_depth,
                state: Mutex::new(State {
                    jobs: HashMap::new(),
                    queue: VecDeque::new(),
                }),
                wake: Notify::new(),
                permits: Arc::new(Semaphore::new(limits.max_concurrent)),
                shutting_down: AtomicBool::new(false),
                shutdown: CancellationToken::new(),
                tasks: TaskTracker::new(),
            }),
        };
        {
            let mut state = manager.inner.lock();
            for mut job in jobs {
                let mut next_sequence = 1;
                if !is_terminal(job.state) {
                    let events = manager.inner.meta.events(&job.id, 0)?;
                    if let Some(last) = events.last() {
                        next_sequence = last.sequence + 1;
                        // The log is newer than the record for progress, which is not rewritten
                        // on every event.
                        if let Some(snapshot) = &last.job {
                            job.progress = snapshot.progress.clone();
                        }
                    }
                }
                let id = job.id.clone();
                let unfinished = !is_terminal(job.state);
                state.jobs.insert(
                    id.clone(),
                    Entry {
                        job,
                        next_sequence,
                        events: broadcast::channel(256).0,
                        cancel: None,
                        cancel_requested: false,
                    },
                );
                if unfinished {
                    let was_running = state.jobs[&id].job.state == JobState::Running as i32;
                    if was_running {
                        tracing::info!(job = %id, "job was running at the last stop; it resumes from its last checkpoint");
                        manager
                            .inner
                            .transition(&mut state, &id, JobState::Queued, |_| {})?;
                    }
                    state.queue.push_back(id);
                }
            }
            manager.inner.update_gauges(&state);
        }
        tokio::spawn(dispatch(manager.inner.clone()));
        Ok(manager)
    }

    /// Validates and queues a job.
    pub fn create(&self, req: pb::CreateTrainingJobRequest) -> ServiceResult<TrainingJob> {
        if self.inner.shutting_down.load(Ordering::SeqCst) {
            return Err(ServiceError::Unavailable(
                "the ML service is shutting down".into(),
            ));
        }
        convert::check_name("model_name", &req.model_name)?;
        let registry = &self.inner.registry;
        registry.kinds().get(&req.kind)?;
        let dataset = self.inner.datasets.manifest(&req.dataset_id)?;
        let schema = self.inner.datasets.schema(&dataset)?;
        let rows = dataset
            .info
            .extra
            .get("num_rows")
            .and_then(|v| v.as_u64())
            .unwrap_or(0) as usize;
        let hp = req.hyperparameters.clone().unwrap_or_default();
        // Builds the exact configuration the run will use, so bad values fail here, not later.
        train_config(&hp, rows)?;
        if schema.label.is_none() {
            return Err(ServiceError::InvalidArgument(format!(
                "dataset `{}` has no label column; training needs labelled rows",
                req.dataset_id
            )));
        }
        let base_model = if req.base_model.is_empty() {
            String::new()
        } else {
            let key = registry.resolve(&req.base_model)?;
            format!("{}@{}", key.name, key.version)
        };
        let mut state = self.inner.lock();
        let queued = state
            .jobs
            .values()
            .filter(|e| e.job.state == JobState::Queued as i32)
            .count();
        if queued >= self.inner.queue_depth {
            return Err(ServiceError::ResourceExhausted(format!(
                "the training queue is full ({queued} jobs waiting); retry later"
            )));
        }
        let job = TrainingJob {
            id: format!("job-{}", uuid::Uuid::now_v7().simple()),
            model_name: req.model_name,
            kind: req.kind,
            dataset_id: req.dataset_id,
            hyperparameters: Some(hp),
            base_model,
            state: JobState::Queued as i32,
            created_at: convert::now(),
            ..Default::default()
        };
        let id = job.id.clone();
        self.inner.meta.put_job(&job)?;
        state.jobs.insert(
            id.clone(),
            Entry {
                job,
                next_sequence: 1,
                events: broadcast::channel(256).0,
                cancel: None,
                cancel_requested: false,
            },
        );
        self.inner.record(
            &mut state,
            &id,
            Event::StateChanged(JobState::Queued as i32),
        )?;
        state.queue.push_back(id.clone());
        self.inner.update_gauges(&state);
        tracing::info!(job = %id, "training job queued");
        // The answer shows the job as queued, even if the dispatcher starts it a moment later.
        let queued = state.jobs[&id].job.clone();
        drop(state);
        self.inner.wake.notify_one();
        Ok(queued)
    }

    pub fn get(&self, id: &str) -> ServiceResult<TrainingJob> {
        let state = self.inner.lock();
        state
            .jobs
            .get(id)
            .map(|e| e.job.clone())
            .ok_or_else(|| not_found(id))
    }

    /// Every job matching the filters, newest first.
    pub fn list(&self, state_filter: i32, model_name: &str) -> Vec<TrainingJob> {
        let state = self.inner.lock();
        let mut jobs: Vec<TrainingJob> = state
            .jobs
            .values()
            .filter(|e| state_filter == JobState::Unspecified as i32 || e.job.state == state_filter)
            .filter(|e| model_name.is_empty() || e.job.model_name == model_name)
            .map(|e| e.job.clone())
            .collect();
        jobs.sort_unstable_by(|a, b| b.id.cmp(&a.id));
        jobs
    }

    pub fn cancel(&self, id: &str) -> ServiceResult<TrainingJob> {
        let mut state = self.inner.lock();
        let entry = state.jobs.get_mut(id).ok_or_else(|| not_found(id))?;
        match JobState::try_from(entry.job.state) {
            Ok(JobState::Queued) => {
                state.queue.retain(|q| q != id);
                self.inner
                    .transition(&mut state, id, JobState::Cancelled, |j| {
                        j.finished_at = convert::now()
                    })?;
                self.inner.update_gauges(&state);
                tracing::info!(job = %id, "queued job cancelled");
            }
            Ok(JobState::Running) => {
                entry.cancel_requested = true;
                if let Some(token) = &entry.cancel {
                    token.cancel();
                }
                tracing::info!(job = %id, "cancelling running job at its next step");
            }
            _ => {
                return Err(ServiceError::FailedPrecondition(format!(
                    "job {id} already ended ({})",
                    JobState::try_from(entry.job.state)
                        .map(|s| s.as_str_name())
                        .unwrap_or("unknown")
                )));
            }
        }
        Ok(state.jobs[id].job.clone())
    }

    /// Recorded events after `after` and a receiver for later ones (no gap between them), and
    /// whether the job had already ended.
    pub fn subscribe(
        &self,
        id: &str,
        after: u64,
    ) -> ServiceResult<(Vec<TrainingEvent>, broadcast::Receiver<TrainingEvent>, bool)> {
        let state = self.inner.lock();
        let entry = state.jobs.get(id).ok_or_else(|| not_found(id))?;
        // Taken under the lock that also orders appends, so nothing falls between log and stream.
        let rx = entry.events.subscribe();
        let backlog = self.inner.meta.events(id, after)?;
        Ok((backlog, rx, is_terminal(entry.job.state)))
    }

    pub fn events_after(&self, id: &str, after: u64) -> ServiceResult<Vec<TrainingEvent>> {
        Ok(self.inner.meta.events(id, after)?)
    }

    /// Resolves when shutdown begins; watch streams end then.
    pub fn shutting_down(&self) -> CancellationToken {
        self.inner.shutdown.clone()
    }

    /// Stops taking jobs, checkpoints the running ones and waits for them to stop.
    pub async fn shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
        self.inner.shutdown.cancel();
        {
            let state = self.inner.lock();
            for entry in state.jobs.values() {
                if let Some(token) = &entry.cancel {
                    token.cancel();
                }
            }
        }
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
        tracing::info!("job manager stopped; unfinished jobs resume at the next start");
    }
}

fn not_found(id: &str) -> ServiceError {
    ServiceError::NotFound(format!("training job `{id}` not found"))
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends an event (with the job as it is now) to the log, then broadcasts it.
    fn record(&self, state: &mut State, id: &str, event: Event) -> ServiceResult<()> {
        let Some(entry) = state.jobs.get_mut(id) else {
            return Ok(());
        };
        let durable = matches!(event, Event::StateChanged(_) | Event::CheckpointStep(_));
        let e = TrainingEvent {
            sequence: entry.next_sequence,
            time: convert::now(),
            event: Some(event),
            job: Some(entry.job.clone()),
        };
        self.meta.append_event(id, &e, durable)?;
        entry.next_sequence += 1;
        let _ = entry.events.send(e);
        Ok(())
    }

    /// Changes a job's state: record first (durably), then the state-changed event.
    fn transition(
        &self,
        state: &mut State,
        id: &str,
        to: JobState,
        update: impl FnOnce(&mut TrainingJob),
    ) -> ServiceResult<()> {
        let Some(entry) = state.jobs.get_mut(id) else {
            return Ok(());
        };
        entry.job.state = to as i32;
        update(&mut entry.job);
        self.meta.put_job(&entry.job)?;
        self.record(state, id, Event::StateChanged(to as i32))
    }

    fn update_gauges(&self, state: &State) {
        for s in [
            JobState::Queued,
            JobState::Running,
            JobState::Succeeded,
            JobState::Failed,
            JobState::Cancelled,
        ] {
            let n = state
                .jobs
                .values()
                .filter(|e| e.job.state == s as i32)
                .count();
            let label = s
                .as_str_name()
                .trim_start_matches("JOB_STATE_")
                .to_ascii_lowercase();
            metrics::gauge!(TRAINING_JOBS, "state" => label).set(n as f64);
        }
    }

    fn progress(
        &self,
        id: &str,
        update: impl FnOnce(&mut pb::TrainingProgress),
        event: Option<Event>,
    ) {
        let mut state = self.lock();
        let Some(entry) = state.jobs.get_mut(id) else {
            return;
        };
        update(entry.job.progress.get_or_insert_with(Default::default));
        let event = event
            .unwrap_or_else(|| Event::Progress(entry.job.progress.clone().unwrap_or_default()));
        if let Err(e) = self.record(&mut state, id, event) {
            tracing::warn!(job = %id, error = %e, "could not record a training event");
        }
    }
}

/// Starts queued jobs while permits are free.
async fn dispatch(inner: Arc<Inner>) {
    loop {
        let permit = tokio::select! {
            p = inner.permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            _ = inner.shutdown.cancelled() => return,
        };
        let id = loop {
            let next = inner.lock().queue.pop_front();
            if let Some(id) = next {
                break id;
            }
            tokio::select! {
                _ = inner.wake.notified() => {}
                _ = inner.shutdown.cancelled() => return,
            }
        };
        let token = CancelToken::new();
        {
            let mut state = inner.lock();
            let Some(entry) = state.jobs.get_mut(&id) else {
                continue;
            };
            if entry.job.state != JobState::Queued as i32 {
                continue;
            }
            entry.cancel = Some(token.clone());
            entry.cancel_requested = false;
            let result = inner.transition(&mut state, &id, JobState::Running, |j| {
                if j.started_at.is_none() {
                    j.started_at = convert::now();
                }
            });
            inner.update_gauges(&state);
            if let Err(e) = result {
                tracing::error!(job = %id, error = %e, "cannot record job start");
                continue;
            }
        }
        let inner2 = inner.clone();
        inner.tasks.spawn_blocking(move || {
            run(&inner2, &id, token);
            drop(permit);
            inner2.wake.notify_one();
        });
    }
}

/// Runs one job to its end on this (blocking) thread.
fn run(inner: &Arc<Inner>, id: &str, token: CancelToken) {
    let job = match inner.lock().jobs.get(id) {
        Some(e) => e.job.clone(),
        None => return,
    };
    tracing::info!(job = %id, model = %job.model_name, kind = %job.kind, "training job started");
    let dataset_file = inner.work_dir.join(format!("{id}.parquet"));
    let outcome = train(inner, &job, &dataset_file, token);
    let _ = std::fs::remove_file(&dataset_file);

    let mut state = inner.lock();
    let cancel_requested = state.jobs.get(id).is_some_and(|e| e.cancel_requested);
    if let Some(entry) = state.jobs.get_mut(id) {
        entry.cancel = None;
    }
    let result = match outcome {
        Ok((version, metrics)) => {
            tracing::info!(job = %id, %version, "training job succeeded");
            inner.transition(&mut state, id, JobState::Succeeded, |j| {
                j.model_version = version;
                j.test_metrics = Some(metrics);
                j.finished_at = convert::now();
            })
        }
        Err(Failure::Cancelled)
            if !cancel_requested && inner.shutting_down.load(Ordering::SeqCst) =>
        {
            tracing::info!(job = %id, "training job checkpointed for shutdown; it resumes at the next start");
            inner.transition(&mut state, id, JobState::Queued, |_| {})
        }
        Err(Failure::Cancelled) => {
            drop(state);
            clear(inner, id);
            state = inner.lock();
            tracing::info!(job = %id, "training job cancelled");
            inner.transition(&mut state, id, JobState::Cancelled, |j| {
                j.finished_at = convert::now()
            })
        }
        Err(Failure::Error(e)) => {
            drop(state);
            clear(inner, id);
            state = inner.lock();
            tracing::warn!(job = %id, error = %e, "training job failed");
            inner.transition(&mut state, id, JobState::Failed, |j| {
                j.error = e.to_string();
                j.finished_at = convert::now();
            })
        }
    };
    inner.update_gauges(&state);
    if let Err(e) = result {
        tracing::error!(job = %id, error = %e, "cannot record the job's end");
    }
}

fn clear(inner: &Inner, id: &str) {
    if let Err(e) = clear_checkpoints(&*inner.store, id) {
        tracing::warn!(job = %id, error = %e, "cannot remove the job's checkpoints");
    }
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

fn train(
    inner: &Arc<Inner>,
    job: &TrainingJob,
    dataset_file: &std::path::Path,
    token: CancelToken,
) -> Result<(String, pb::Metrics), Failure> {
    let registry = &inner.registry;
    let kind = registry
        .kinds()
        .get(&job.kind)
        .map_err(ServiceError::from)?;
    let manifest = inner.datasets.manifest(&job.dataset_id)?;
    let schema = inner.datasets.schema(&manifest)?;
    inner.datasets.materialize(&job.dataset_id, dataset_file)?;
    let dataset = ParquetDataset::open(dataset_file, &schema).map_err(ServiceError::from)?;
    let hp = job.hyperparameters.clone().unwrap_or_default();
    let config = train_config(&hp, dataset.rows())?;
    let base = if job.base_model.is_empty() {
        None
    } else {
        Some(registry.artifact(&registry.resolve(&job.base_model)?)?)
    };
    let total_epochs = config.epochs as u32;
    let last_progress = Mutex::new(None::<Instant>);
    let id = job.id.clone();
    let progress = |event: &TrainEvent| {
        let inner = inner.clone();
        match event {
            TrainEvent::Started {
                total_steps,
                resumed_from_step,
                ..
            } => inner.progress(
                &id,
                |p| {
                    p.total_steps = *total_steps;
                    p.total_epochs = total_epochs;
                    p.step = resumed_from_step.unwrap_or(0);
                },
                None,
            ),
            TrainEvent::Step {
                epoch,
                step,
                total_steps,
                loss,
                examples_per_sec,
                eta_secs,
                ..
            } => {
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
                    inner.progress(&id, update, None);
                } else if let Some(e) = inner.lock().jobs.get_mut(&id) {
                    update(e.job.progress.get_or_insert_with(Default::default));
                }
            }
            TrainEvent::Epoch {
                epoch,
                train_loss,
                val,
            } => inner.progress(
                &id,
                |p| {
                    p.epoch = *epoch as u32 + 1;
                    p.train_loss = *train_loss;
                    p.validation = Some(convert::metrics(val));
                },
                None,
            ),
            TrainEvent::Checkpoint { step, .. } => {
                inner.progress(&id, |_| {}, Some(Event::CheckpointStep(*step)))
            }
            TrainEvent::EarlyStopped { .. } | TrainEvent::Finished { .. } => {}
        }
    };
    let request = TrainRequest {
        dataset: &dataset,
        config,
        params: kind_params(&job.kind, &hp),
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
    let mut info = trained.model.info;
    if let serde_json::Value::Object(extra) = &mut info.extra {
        extra.insert("training_job_id".into(), job.id.clone().into());
        if !job.base_model.is_empty() {
            extra.insert("base_model".into(), job.base_model.clone().into());
        }
    }
    let manifest = registry.put_version(&job.model_name, trained.model.files, info)?;
    clear(inner, &job.id);
    Ok((manifest.key.version, convert::metrics(&trained.test)))
}

/// Most hidden layers, and most units in one, of an `mlp-classifier`.
const MAX_HIDDEN_LAYERS: usize = 16;
const MAX_LAYER_WIDTH: u32 = 65_536;

/// The engine's configuration from the contract's hyperparameters (zero means the default).
pub fn train_config(hp: &pb::Hyperparameters, rows: usize) -> ServiceResult<TrainConfig> {
    let d = TrainConfig::default();
    let bad = |m: String| Err(ServiceError::InvalidArgument(m));
    let or = |v: f64, default: f64| if v == 0.0 { default } else { v };
    let split = SplitSpec {
        val_fraction: or(hp.validation_fraction, 0.1),
        test_fraction: or(hp.test_fraction, 0.1),
        seed: if hp.seed == 0 { d.seed } else { hp.seed },
    };
    let learning_rate = or(hp.learning_rate, d.learning_rate);
    if !(learning_rate.is_finite() && learning_rate > 0.0) {
        return bad(format!(
            "learning_rate must be a positive number, got {}",
            hp.learning_rate
        ));
    }
    if !(hp.weight_decay.is_finite() && hp.weight_decay >= 0.0) {
        return bad(format!(
            "weight_decay must be a non-negative number, got {}",
            hp.weight_decay
        ));
    }
    if !(hp.max_grad_norm.is_finite() && hp.max_grad_norm >= 0.0) {
        return bad(format!(
            "max_grad_norm must be a non-negative number, got {}",
            hp.max_grad_norm
        ));
    }
    if !(hp.encoder_learning_rate.is_finite() && hp.encoder_learning_rate >= 0.0) {
        return bad(format!(
            "encoder_learning_rate must be a non-negative number, got {}",
            hp.encoder_learning_rate
        ));
    }
    // Bounded so one request cannot ask for a model that does not fit in memory.
    if hp.hidden_layers.len() > MAX_HIDDEN_LAYERS
        || hp
            .hidden_layers
            .iter()
            .any(|&w| w == 0 || w > MAX_LAYER_WIDTH)
    {
        return bad(format!(
            "hidden_layers: at most {MAX_HIDDEN_LAYERS} layers of 1-{MAX_LAYER_WIDTH} units, got {:?}",
            hp.hidden_layers
        ));
    }
    let batch_size = if hp.batch_size == 0 {
        d.batch_size
    } else {
        hp.batch_size as usize
    };
    // `rows` is 0 only when unknown; then the engine checks the split itself.
    let steps_per_epoch = if rows > 0 {
        let splits = strata_data::split(rows, &split)
            .map_err(|e| ServiceError::InvalidArgument(e.to_string()))?;
        splits.train.len().div_ceil(batch_size).max(1) as u64
    } else {
        0
    };
    Ok(TrainConfig {
        epochs: if hp.epochs == 0 {
            d.epochs
        } else {
            hp.epochs as usize
        },
        batch_size,
        learning_rate,
        weight_decay: if hp.weight_decay == 0.0 {
            d.weight_decay
        } else {
            hp.weight_decay
        },
        warmup_steps: if hp.warmup_steps == 0 {
            d.warmup_steps
        } else {
            hp.warmup_steps as u64
        },
        clip_grad_norm: (hp.max_grad_norm > 0.0).then_some(hp.max_grad_norm),
        patience: (hp.early_stopping_patience > 0).then_some(hp.early_stopping_patience as usize),
        checkpoint_every: if hp.checkpoint_every_steps == 0 {
            steps_per_epoch
        } else {
            hp.checkpoint_every_steps as u64
        },
        keep_checkpoints: d.keep_checkpoints,
        seed: split.seed,
        split,
    })
}

/// Kind-specific hyperparameters as the core's kinds read them.
fn kind_params(kind: &str, hp: &pb::Hyperparameters) -> serde_json::Value {
    match kind {
        "mlp-classifier" if !hp.hidden_layers.is_empty() => {
            serde_json::json!({ "hidden": hp.hidden_layers })
        }
        "text-classifier" => {
            let lr = if hp.learning_rate > 0.0 {
                hp.learning_rate
            } else {
                TrainConfig::default().learning_rate
            };
            let scale = if hp.encoder_learning_rate > 0.0 {
                hp.encoder_learning_rate / lr
            } else {
                0.1
            };
            serde_json::json!({ "mode": if hp.full_fine_tune { "full" } else { "head" }, "encoder_lr_scale": scale })
        }
        _ => serde_json::Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_means_default_and_bad_values_are_invalid() {
        let cfg = train_config(&pb::Hyperparameters::default(), 1000).expect("defaults");
        let d = TrainConfig::default();
        assert_eq!(
            (cfg.epochs, cfg.batch_size, cfg.learning_rate),
            (d.epochs, d.batch_size, d.learning_rate)
        );
        assert_eq!(cfg.clip_grad_norm, None);
        // 800 training rows in batches of 32: a checkpoint per epoch by default.
        assert_eq!(cfg.checkpoint_every, 25);
        for hp in [
            pb::Hyperparameters {
                learning_rate: -1.0,
                ..Default::default()
            },
            pb::Hyperparameters {
                validation_fraction: 0.6,
                test_fraction: 0.6,
                ..Default::default()
            },
            pb::Hyperparameters {
                hidden_layers: vec![0],
                ..Default::default()
            },
            pb::Hyperparameters {
                hidden_layers: vec![u32::MAX],
                ..Default::default()
            },
            pb::Hyperparameters {
                hidden_layers: vec![8; 17],
                ..Default::default()
            },
            pb::Hyperparameters {
                max_grad_norm: f64::NAN,
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
