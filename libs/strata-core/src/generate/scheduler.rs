//! Continuous batching: many sequences share each decoder step.
//!
//! [`Scheduler::step`] runs one [`Llama::step`](super::llama::Llama::step) over every active
//! sequence: one token for each that is decoding, and slices of waiting prompts up to a token
//! budget per step (chunked prefill), so a long prompt is spread over several steps instead of
//! stalling the others. New requests join between steps and finished or abandoned ones leave, so
//! a slot is free at the next step after its caller goes away. [`Engine`] runs a scheduler on a
//! thread of its own and takes requests through a bounded queue.
//!
//! Hand-written because the field has no library for it in Rust on candle (TGI and vLLM do this
//! in their own routers); the policy here is theirs in small: decode first, then prefill in
//! arrival order with what the budget leaves.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::Generator;
use super::llama::{Chunk, PREFILL_CHUNK, SeqCache};
use super::sampling::{Decoding, FinishReason, Next, SamplingParams};
use crate::{CoreError, Result};

/// What a caller receives about its sequence, in order: text deltas, then one `Done` or `Failed`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Event {
    Delta(String),
    Done(Finish),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finish {
    pub reason: FinishReason,
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    /// Smallest top-1 lead over top-2 among greedy steps (infinite when sampling).
    pub min_top2_gap: f32,
}

/// Where a sequence's events go. `send` returns false once the caller is gone, which frees the
/// sequence; `closed` lets the scheduler notice that before it spends a step on it.
pub trait Sink: Send {
    fn send(&mut self, event: Event) -> bool;
    fn closed(&self) -> bool;
}

/// A prompt (already tokenized) and how to continue it.
pub struct Request {
    pub prompt: Vec<u32>,
    pub params: SamplingParams,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Sequences decoding together in one step.
    pub max_sequences: usize,
    /// Tokens (decode plus prefill) per step.
    pub step_tokens: usize,
    /// Requests waiting for a slot before new ones are refused.
    pub max_waiting: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_sequences: 16,
            step_tokens: 256,
            max_waiting: 64,
        }
    }
}

impl Limits {
    pub fn check(&self) -> Result<()> {
        if self.max_sequences == 0 || self.step_tokens < self.max_sequences + PREFILL_CHUNK {
            return Err(CoreError::Config(format!(
                "generation limits: step tokens ({}) must be at least the sequences ({}) plus a \
                 prompt chunk ({PREFILL_CHUNK}), so prompts progress while others decode",
                self.step_tokens, self.max_sequences
            )));
        }
        Ok(())
    }
}

struct Seq {
    prompt: Vec<u32>,
    fed: usize,
    /// The token to feed next once the prompt is in.
    next: Option<u32>,
    cache: SeqCache,
    decoding: Decoding,
    sink: Box<dyn Sink>,
}

/// Counters for metrics; shared with whoever exports them.
#[derive(Debug, Default)]
pub struct Stats {
    pub active: AtomicUsize,
    pub waiting: AtomicUsize,
    pub steps: AtomicU64,
    pub prompt_tokens: AtomicU64,
    pub generated_tokens: AtomicU64,
    /// Sequences dropped because their caller went away.
    pub abandoned: AtomicU64,
}

pub struct Scheduler {
    model: Arc<Generator>,
    limits: Limits,
    active: Vec<Seq>,
    waiting: VecDeque<Seq>,
    stats: Arc<Stats>,
}

impl Scheduler {
    pub fn new(model: Arc<Generator>, limits: Limits) -> Result<Self> {
        limits.check()?;
        Ok(Scheduler {
            model,
            limits,
            active: Vec::new(),
            waiting: VecDeque::new(),
            stats: Arc::default(),
        })
    }

    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    pub fn is_idle(&self) -> bool {
        self.active.is_empty() && self.waiting.is_empty()
    }

    /// Queues a request; it joins the running sequences at the next step with a free slot. A
    /// request that cannot be served is answered with `Failed` through its sink and the error.
    pub fn submit(&mut self, req: Request, mut sink: Box<dyn Sink>) -> Result<()> {
        if let Err(e) = self.model.check(req.prompt.len(), &req.params) {
            sink.send(Event::Failed(e.to_string()));
            return Err(e);
        }
        let decoding = Decoding::new(req.params, &req.prompt);
        self.waiting.push_back(Seq {
            prompt: req.prompt,
            fed: 0,
            next: None,
            cache: self.model.llama.new_cache(),
            decoding,
            sink,
        });
        self.publish();
        Ok(())
    }

    fn publish(&self) {
        self.stats
            .active
            .store(self.active.len(), Ordering::Relaxed);
        self.stats
            .waiting
            .store(self.waiting.len(), Ordering::Relaxed);
    }

    /// One decoder step over every active sequence. A failure of the step ends the sequences
    /// in it with `Failed` (the scheduler stays usable).
    pub fn step(&mut self) {
        let before = self.active.len() + self.waiting.len();
        self.active.retain(|s| !s.sink.closed());
        self.waiting.retain(|s| !s.sink.closed());
        let gone = before - self.active.len() - self.waiting.len();
        self.stats
            .abandoned
            .fetch_add(gone as u64, Ordering::Relaxed);
        while self.active.len() < self.limits.max_sequences {
            match self.waiting.pop_front() {
                Some(s) => self.active.push(s),
                None => break,
            }
        }
        if self.active.is_empty() {
            self.publish();
            return;
        }
        // Decoding sequences take one token each; prompts share what is left, oldest first.
        let mut budget = self.limits.step_tokens;
        let mut plan: Vec<(usize, usize)> = Vec::new(); // (sequence, prompt tokens this step)
        for (i, s) in self.active.iter().enumerate() {
            if s.next.is_some() {
                plan.push((i, 0));
                budget -= 1;
            }
        }
        for (i, s) in self.active.iter().enumerate() {
            // Whole chunks only, so a prompt is cut the same way however busy the step is.
            let n = (s.prompt.len() - s.fed).min(PREFILL_CHUNK);
            if s.next.is_none() && n <= budget {
                plan.push((i, n));
                budget -= n;
            }
        }
        let result = self.run(&plan);
        let tokenizer = &self.model.tokenizer;
        let mut finished = vec![false; self.active.len()];
        match result {
            Err(e) => {
                for &(i, _) in &plan {
                    self.active[i].sink.send(Event::Failed(e.to_string()));
                    finished[i] = true;
                }
            }
            Ok(rows) => {
                for (&(i, n), logits) in plan.iter().zip(rows) {
                    let s = &mut self.active[i];
                    if n > 0 {
                        s.fed += n;
                        self.stats
                            .prompt_tokens
                            .fetch_add(n as u64, Ordering::Relaxed);
                        if s.fed < s.prompt.len() {
                            continue;
                        }
                    }
                    let outcome = s.decoding.pick(logits).and_then(|token| {
                        let end = self.model.eos.contains(&token);
                        s.next = Some(token);
                        s.decoding.push(token, end, tokenizer)
                    });
                    self.stats.generated_tokens.fetch_add(1, Ordering::Relaxed);
                    let alive = match outcome {
                        Ok(Next::Continue(delta)) => {
                            delta.is_empty() || s.sink.send(Event::Delta(delta))
                        }
                        Ok(Next::Finished(delta, reason)) => {
                            if !delta.is_empty() {
                                s.sink.send(Event::Delta(delta));
                            }
                            s.sink.send(Event::Done(Finish {
                                reason,
                                prompt_tokens: s.prompt.len(),
                                completion_tokens: s.decoding.generated.len(),
                                min_top2_gap: s.decoding.min_gap,
                            }));
                            false
                        }
                        Err(e) => {
                            s.sink.send(Event::Failed(e.to_string()));
                            false
                        }
                    };
                    if !alive {
                        finished[i] = true;
                    }
                }
            }
        }
        let mut i = 0;
        self.active.retain(|_| {
            let keep = !finished[i];
            i += 1;
            keep
        });
        self.stats.steps.fetch_add(1, Ordering::Relaxed);
        self.publish();
    }

    /// Runs the planned chunks (decode chunks first, as the decoder wants them) and returns one
    /// row of logits per chunk.
    fn run(&mut self, plan: &[(usize, usize)]) -> Result<Vec<Vec<f32>>> {
        let mut slot = vec![usize::MAX; self.active.len()];
        for (p, &(i, _)) in plan.iter().enumerate() {
            slot[i] = p;
        }
        let mut chunks: Vec<Option<Chunk<'_>>> = (0..plan.len()).map(|_| None).collect();
        for (i, s) in self.active.iter_mut().enumerate() {
            let Some(&p) = slot.get(i).filter(|&&p| p != usize::MAX) else {
                continue;
            };
            let n = plan[p].1;
            let tokens: &[u32] = match (&s.next, n) {
                (_, n) if n > 0 => &s.prompt[s.fed..s.fed + n],
                (Some(t), _) => std::slice::from_ref(t),
                (None, _) => &[],
            };
            chunks[p] = Some(Chunk {
                tokens,
                cache: &mut s.cache,
                prompt: n > 0,
            });
        }
        let mut chunks: Vec<Chunk<'_>> = chunks.into_iter().flatten().collect();
        let logits = self.model.llama.step(&mut chunks)?;
        Ok(logits.to_vec2::<f32>()?)
    }
}

/// A scheduler on its own thread, fed through a bounded queue.
pub struct Engine {
    tx: Mutex<SyncSender<(Request, Box<dyn Sink>)>>,
    stats: Arc<Stats>,
    capacity: usize,
    pending: Arc<AtomicUsize>,
}

/// Returned when the queue is full.
#[derive(Debug, thiserror::Error)]
#[error("the generation queue is full ({0} requests); try again later")]
pub struct Busy(pub usize);

/// Counts a request out of `pending` when its sink is dropped (finished, failed or abandoned).
struct Counted {
    inner: Box<dyn Sink>,
    pending: Arc<AtomicUsize>,
}

impl Sink for Counted {
    fn send(&mut self, event: Event) -> bool {
        self.inner.send(event)
    }
    fn closed(&self) -> bool {
        self.inner.closed()
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.pending.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Engine {
    /// Starts the engine thread. `observe` is called after every step with the counters (the
    /// service exports them as metrics, so a freed slot shows within one step).
    pub fn start(
        model: Arc<Generator>,
        limits: Limits,
        observe: Box<dyn Fn(&Stats) + Send>,
    ) -> Result<Self> {
        let mut scheduler = Scheduler::new(model, limits)?;
        let stats = scheduler.stats();
        let capacity = limits.max_sequences + limits.max_waiting;
        let (tx, rx) = sync_channel::<(Request, Box<dyn Sink>)>(capacity);
        std::thread::Builder::new()
            .name("strata-generate".into())
            .spawn(move || run_engine(&mut scheduler, rx, observe))
            .map_err(|e| CoreError::Config(format!("generation thread: {e}")))?;
        Ok(Engine {
            tx: Mutex::new(tx),
            stats,
            capacity,
            pending: Arc::default(),
        })
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Queues a request. Requests that cannot be served (prompt too long for the context, bad
    /// parameters) are answered through the sink with `Failed`; a full queue is refused here.
    pub fn submit(&self, req: Request, sink: Box<dyn Sink>) -> Result<(), Busy> {
        if self.pending.fetch_add(1, Ordering::Relaxed) >= self.capacity {
            self.pending.fetch_sub(1, Ordering::Relaxed);
            return Err(Busy(self.capacity));
        }
        let sink = Box::new(Counted {
            inner: sink,
            pending: self.pending.clone(),
        });
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        match tx.try_send((req, sink)) {
            Ok(()) => Ok(()),
            // The counted sink inside is dropped with the message, which releases its slot.
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                Err(Busy(self.capacity))
            }
        }
    }
}

fn run_engine(
    scheduler: &mut Scheduler,
    rx: Receiver<(Request, Box<dyn Sink>)>,
    observe: Box<dyn Fn(&Stats) + Send>,
) {
    loop {
        if scheduler.is_idle() {
            match rx.recv() {
                // An invalid request has been answered through its sink already.
                Ok((req, sink)) => drop(scheduler.submit(req, sink)),
                Err(_) => return,
            }
        }
        while let Ok((req, sink)) = rx.try_recv() {
            drop(scheduler.submit(req, sink));
        }
        scheduler.step();
        observe(&scheduler.stats);
    }
}
