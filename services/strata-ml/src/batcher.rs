//! Dynamic batching: concurrent callers' inputs are merged into one batch per model run.
//!
//! A [`Batcher`] owns one worker task. The worker takes the oldest waiting request, lets it wait
//! at most `max_wait` for others to join until `max_batch` inputs are collected, runs the batch
//! function on a blocking thread, and hands every caller its slice of the outputs. While a batch
//! runs, new requests queue up, so under load batches fill without any waiting at all.
//!
//! The queue is bounded over all batchers by a shared [`QueueLimit`]: a request that finds it
//! full is refused with RESOURCE_EXHAUSTED instead of growing memory without bound. Requests
//! whose deadline passed or whose caller went away are dropped before they cost model time.
//!
//! Traces: each request has an `inference.queue_wait` span (submit until its batch is formed);
//! the worker's `inference.batch_formation` (waiting for company) and `inference.forward` (the
//! model run) spans are children of the batch's oldest request and link to the others.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use strata_runtime::metrics::{
    INFERENCE_BATCH_SIZE, INFERENCE_FORWARD_SECONDS, INFERENCE_QUEUE_DEPTH,
    INFERENCE_QUEUE_WAIT_SECONDS,
};
use strata_runtime::telemetry::TraceParent;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::error::{ServiceError, ServiceResult};

/// The bound on requests waiting in any batcher's queue.
#[derive(Debug)]
pub struct QueueLimit {
    waiting: AtomicUsize,
    max: usize,
}

impl QueueLimit {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(QueueLimit {
            waiting: AtomicUsize::new(0),
            max,
        })
    }

    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    fn try_acquire(self: &Arc<Self>) -> Option<QueueSlot> {
        let mut current = self.waiting.load(Ordering::Relaxed);
        loop {
            if current >= self.max {
                return None;
            }
            match self.waiting.compare_exchange_weak(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    metrics::gauge!(INFERENCE_QUEUE_DEPTH).set((current + 1) as f64);
                    return Some(QueueSlot(self.clone()));
                }
                Err(actual) => current = actual,
            }
        }
    }
}

/// One request's place in the queue; freed when its batch starts (or it is dropped).
struct QueueSlot(Arc<QueueLimit>);

impl Drop for QueueSlot {
    fn drop(&mut self) {
        let now = self.0.waiting.fetch_sub(1, Ordering::AcqRel) - 1;
        metrics::gauge!(INFERENCE_QUEUE_DEPTH).set(now as f64);
    }
}

/// Batch size, wait bound and request size bound of one batcher.
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    pub max_batch: usize,
    pub max_wait: Duration,
    /// Most inputs one request may carry; above `max_batch` it runs as several batches.
    pub max_request: usize,
}

struct Request<I, O> {
    items: Vec<I>,
    deadline: Option<Instant>,
    enqueued: Instant,
    reply: oneshot::Sender<ServiceResult<Vec<O>>>,
    _slot: QueueSlot,
    /// The caller's span: the parent of the batch spans this request is the oldest of.
    caller: tracing::Span,
    /// Open while the request waits; the worker drops it when the request joins a batch.
    _queue_wait: tracing::Span,
}

/// Submits inputs to a worker that runs them in batches; cheap to clone.
pub struct Batcher<I, O> {
    tx: mpsc::UnboundedSender<Request<I, O>>,
    limit: Arc<QueueLimit>,
    config: BatchConfig,
}

impl<I, O> Clone for Batcher<I, O> {
    fn clone(&self) -> Self {
        Batcher {
            tx: self.tx.clone(),
            limit: self.limit.clone(),
            config: self.config,
        }
    }
}

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    /// Starts the worker. `run` maps a batch of inputs to exactly one output per input, in order;
    /// it runs on a blocking thread. The worker stops when every `Batcher` clone is dropped.
    pub fn spawn<F>(config: BatchConfig, limit: Arc<QueueLimit>, run: F) -> Self
    where
        F: Fn(Vec<I>) -> ServiceResult<Vec<O>> + Send + Sync + 'static,
    {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(worker(config, rx, Arc::new(run)));
        Batcher { tx, limit, config }
    }

    /// Runs `items` in some batch (a request above `max_batch` items in several) and returns
    /// their outputs in order. INVALID_ARGUMENT for more than `max_request` items,
    /// RESOURCE_EXHAUSTED when the queue has no room for the whole request, DEADLINE_EXCEEDED
    /// when `deadline` passes first.
    pub async fn submit(&self, items: Vec<I>, deadline: Option<Instant>) -> ServiceResult<Vec<O>> {
        if items.len() > self.config.max_request {
            return Err(ServiceError::InvalidArgument(format!(
                "{} inputs in one request; this server accepts at most {}",
                items.len(),
                self.config.max_request
            )));
        }
        if items.is_empty() {
            return Ok(Vec::new());
        }
        // Every part takes its queue slot up front: a request is queued whole or refused whole.
        let parts = items.len().div_ceil(self.config.max_batch.max(1));
        let slots = (0..parts)
            .map(|_| self.limit.try_acquire())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                ServiceError::ResourceExhausted(format!(
                    "the inference queue is full ({} requests waiting); retry with backoff",
                    self.limit.max
                ))
            })?;
        let mut rest = items;
        let mut answers = Vec::with_capacity(parts);
        for slot in slots {
            let tail = rest.split_off(rest.len().min(self.config.max_batch));
            let n = rest.len();
            let (reply, answer) = oneshot::channel();
            let request = Request {
                items: std::mem::replace(&mut rest, tail),
                deadline,
                enqueued: Instant::now(),
                reply,
                _slot: slot,
                caller: tracing::Span::current(),
                _queue_wait: tracing::info_span!("inference.queue_wait", items = n),
            };
            self.tx.send(request).map_err(|_| {
                ServiceError::Unavailable("the model is being unloaded; retry".into())
            })?;
            answers.push(answer);
        }
        let answer = async {
            let mut outputs = Vec::new();
            for answer in answers {
                let part = answer.await.unwrap_or_else(|_| {
                    Err(ServiceError::Internal("the batch worker stopped".into()))
                })?;
                outputs.extend(part);
            }
            Ok(outputs)
        };
        match deadline {
            Some(at) => tokio::time::timeout_at(at, answer)
                .await
                .unwrap_or_else(|_| {
                    Err(ServiceError::DeadlineExceeded(
                        "deadline exceeded while queued for a batch".into(),
                    ))
                }),
            None => answer.await,
        }
    }
}

async fn worker<I, O, F>(
    config: BatchConfig,
    mut rx: mpsc::UnboundedReceiver<Request<I, O>>,
    run: Arc<F>,
) where
    I: Send + 'static,
    O: Send + 'static,
    F: Fn(Vec<I>) -> ServiceResult<Vec<O>> + Send + Sync + 'static,
{
    let mut pending: VecDeque<Request<I, O>> = VecDeque::new();
    let mut open = true;
    loop {
        if pending.is_empty() {
            if !open {
                return;
            }
            match rx.recv().await {
                Some(r) => pending.push_back(r),
                None => return,
            }
        }
        while let Ok(r) = rx.try_recv() {
            pending.push_back(r);
        }
        // Only a request that has not waited `max_wait` yet waits for company; after a busy
        // batch the queue is old enough to run at once.
        let fill_until = pending
            .front()
            .map(|r| r.enqueued + config.max_wait)
            .unwrap_or_else(Instant::now);
        let formation = match pending.front() {
            Some(oldest) => {
                tracing::info_span!(parent: &oldest.caller, "inference.batch_formation", batch_size = tracing::field::Empty, requests = tracing::field::Empty)
            }
            None => tracing::Span::none(),
        };
        while open && queued_items(&pending) < config.max_batch {
            match tokio::time::timeout_at(fill_until, rx.recv()).await {
                Ok(Some(r)) => pending.push_back(r),
                Ok(None) => open = false,
                Err(_) => break,
            }
        }

        let now = Instant::now();
        let mut batch = Vec::new();
        let mut size = 0;
        while let Some(r) = pending.front() {
            if size > 0 && size + r.items.len() > config.max_batch {
                break;
            }
            let Some(r) = pending.pop_front() else { break };
            if r.reply.is_closed() {
                continue;
            }
            if r.deadline.is_some_and(|d| d <= now) {
                let _ = r.reply.send(Err(ServiceError::DeadlineExceeded(
                    "deadline exceeded before the batch ran".into(),
                )));
                continue;
            }
            size += r.items.len();
            batch.push(r);
        }
        if batch.is_empty() {
            continue;
        }
        metrics::histogram!(INFERENCE_BATCH_SIZE).record(size as f64);
        formation.record("batch_size", size);
        formation.record("requests", batch.len());
        drop(formation);
        let forward = tracing::info_span!(
            parent: &batch[0].caller,
            "inference.forward",
            batch_size = size,
            requests = batch.len()
        );
        let mut inputs = Vec::with_capacity(size);
        let mut replies = Vec::with_capacity(batch.len());
        for (i, r) in batch.into_iter().enumerate() {
            metrics::histogram!(INFERENCE_QUEUE_WAIT_SECONDS)
                .record(r.enqueued.elapsed().as_secs_f64());
            // The oldest request is the parent; the others are linked, so each caller's trace
            // leads to the model run that served it.
            if i > 0 {
                TraceParent::of(&r.caller).link(&forward);
            }
            replies.push((r.items.len(), r.reply));
            inputs.extend(r.items);
            // `_slot` and `_queue_wait` drop here: the request is no longer waiting.
        }
        let run = run.clone();
        let started = Instant::now();
        let result =
            match tokio::task::spawn_blocking(move || forward.in_scope(|| run(inputs))).await {
                Ok(r) => r,
                Err(e) => Err(e.into()),
            };
        metrics::histogram!(INFERENCE_FORWARD_SECONDS).record(started.elapsed().as_secs_f64());
        match result {
            Ok(outputs) if outputs.len() == size => {
                let mut outputs = outputs.into_iter();
                for (n, reply) in replies {
                    let _ = reply.send(Ok(outputs.by_ref().take(n).collect()));
                }
            }
            Ok(outputs) => {
                let e = ServiceError::Internal(format!(
                    "the model returned {} outputs for {size} inputs",
                    outputs.len()
                ));
                for (_, reply) in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
            Err(e) => {
                for (_, reply) in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}

fn queued_items<I, O>(pending: &VecDeque<Request<I, O>>) -> usize {
    pending.iter().map(|r| r.items.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn doubling(
        sizes: Arc<Mutex<Vec<usize>>>,
        pause: Duration,
    ) -> impl Fn(Vec<u32>) -> ServiceResult<Vec<u32>> {
        move |xs: Vec<u32>| {
            sizes.lock().expect("sizes").push(xs.len());
            std::thread::sleep(pause);
            Ok(xs.into_iter().map(|x| x * 2).collect())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_batches_and_get_their_own_outputs() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let config = BatchConfig {
            max_batch: 8,
            max_wait: Duration::from_millis(20),
            max_request: 8,
        };
        let batcher = Batcher::spawn(
            config,
            QueueLimit::new(100),
            doubling(sizes.clone(), Duration::from_millis(5)),
        );
        let calls: Vec<_> = (0..32u32)
            .map(|i| {
                let b = batcher.clone();
                tokio::spawn(async move { b.submit(vec![i, i + 100], None).await })
            })
            .collect();
        for (i, call) in calls.into_iter().enumerate() {
            let out = call.await.expect("task").expect("batched call");
            assert_eq!(out, [2 * i as u32, 2 * (i as u32 + 100)]);
        }
        let sizes = sizes.lock().expect("sizes").clone();
        assert_eq!(sizes.iter().sum::<usize>(), 64);
        assert!(sizes.iter().all(|&s| s <= 8), "{sizes:?}");
        assert!(sizes.len() < 32, "requests were batched: {sizes:?}");
    }

    #[tokio::test]
    async fn a_full_queue_refuses_and_an_oversized_request_is_invalid() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let config = BatchConfig {
            max_batch: 4,
            max_wait: Duration::from_millis(1),
            max_request: 8,
        };
        let limit = QueueLimit::new(2);
        let batcher = Batcher::spawn(
            config,
            limit.clone(),
            doubling(sizes, Duration::from_millis(300)),
        );
        let first = {
            let b = batcher.clone();
            tokio::spawn(async move { b.submit(vec![1, 2, 3, 4], None).await })
        };
        // Wait until the first batch runs, then fill the queue behind it.
        while limit.waiting() > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let queued: Vec<_> = (0..2)
            .map(|_| {
                let b = batcher.clone();
                tokio::spawn(async move { b.submit(vec![1, 2, 3, 4], None).await })
            })
            .collect();
        while limit.waiting() < 2 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let refused = batcher.submit(vec![1], None).await;
        assert!(
            matches!(refused, Err(ServiceError::ResourceExhausted(_))),
            "{refused:?}"
        );
        let too_big = batcher.submit(vec![1; 9], None).await;
        assert!(
            matches!(too_big, Err(ServiceError::InvalidArgument(_))),
            "{too_big:?}"
        );
        assert!(first.await.expect("task").is_ok());
        for q in queued {
            assert!(q.await.expect("task").is_ok());
        }
        assert_eq!(limit.waiting(), 0);
    }

    #[tokio::test]
    async fn a_request_above_the_batch_size_runs_as_several_batches_in_order() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let config = BatchConfig {
            max_batch: 4,
            max_wait: Duration::from_millis(1),
            max_request: 16,
        };
        let limit = QueueLimit::new(8);
        let batcher = Batcher::spawn(
            config,
            limit.clone(),
            doubling(sizes.clone(), Duration::ZERO),
        );
        let out = batcher
            .submit((0..10).collect(), None)
            .await
            .expect("split request");
        assert_eq!(out, (0..10).map(|x| 2 * x).collect::<Vec<u32>>());
        let ran = sizes.lock().expect("sizes").clone();
        assert!(ran.iter().all(|&s| s <= 4), "{ran:?}");
        assert_eq!(ran.iter().sum::<usize>(), 10);
        // Parts need a slot each: 9 parts of one never fit a queue of 8, and leave no slot held.
        let narrow = Batcher::spawn(
            BatchConfig {
                max_batch: 1,
                ..config
            },
            limit.clone(),
            doubling(sizes, Duration::ZERO),
        );
        let refused = narrow.submit((0..9).collect(), None).await;
        assert!(
            matches!(refused, Err(ServiceError::ResourceExhausted(_))),
            "{refused:?}"
        );
        assert_eq!(limit.waiting(), 0);
    }

    #[tokio::test]
    async fn an_expired_deadline_answers_deadline_exceeded() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let config = BatchConfig {
            max_batch: 4,
            max_wait: Duration::from_millis(1),
            max_request: 4,
        };
        let batcher = Batcher::spawn(
            config,
            QueueLimit::new(8),
            doubling(sizes, Duration::from_millis(200)),
        );
        let b = batcher.clone();
        let busy = tokio::spawn(async move { b.submit(vec![1, 2, 3, 4], None).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let late = batcher
            .submit(vec![1], Some(Instant::now() + Duration::from_millis(30)))
            .await;
        assert!(
            matches!(late, Err(ServiceError::DeadlineExceeded(_))),
            "{late:?}"
        );
        assert!(busy.await.expect("task").is_ok());
    }
}
