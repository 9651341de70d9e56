//! Long-lived responses: a job's Server-Sent Events hold a connection, an ML stream and a task for
//! as long as the client keeps reading. This module caps how many are open, overall and per
//! principal, and keeps checking the caller's token while one runs, so that removing a user or an
//! API key, changing a password or the token expiring ends the streams it opened instead of
//! leaving them to run for hours.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::response::sse::Event;
use futures_util::{Stream, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::auth::Authenticator;
use crate::error::ApiError;

/// The caps and the re-check interval of event streams, shared by every request of a replica.
pub struct EventStreams {
    total: Arc<Semaphore>,
    max_total: usize,
    per_principal: usize,
    recheck: Duration,
    open: Mutex<HashMap<String, usize>>,
}

/// One open stream's place under the caps; dropping it (when the stream ends) gives it back.
pub struct StreamSlot {
    streams: Arc<EventStreams>,
    principal: String,
    _total: OwnedSemaphorePermit,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.streams.open();
        if let Some(n) = open.get_mut(&self.principal) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.principal);
            }
        }
    }
}

impl EventStreams {
    pub fn new(max_total: usize, per_principal: usize, recheck: Duration) -> Self {
        EventStreams {
            total: Arc::new(Semaphore::new(max_total)),
            max_total,
            per_principal,
            recheck,
            open: Mutex::new(HashMap::new()),
        }
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        // A panic while holding the lock leaves counts that are still consistent.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for one more stream of `principal`, or 429 naming the cap that is reached.
    pub fn admit(self: &Arc<Self>, principal: &str) -> Result<StreamSlot, ApiError> {
        let total = self.total.clone().try_acquire_owned().map_err(|_| {
            ApiError::TooManyRequests(format!(
                "this server has {} event streams open, its limit (--max-event-streams); retry later",
                self.max_total
            ))
        })?;
        let mut open = self.open();
        let n = open.entry(principal.to_owned()).or_default();
        if *n >= self.per_principal {
            return Err(ApiError::TooManyRequests(format!(
                "you have {} event streams open, the limit per caller \
                 (--max-event-streams-per-caller); close one first",
                self.per_principal
            )));
        }
        *n += 1;
        Ok(StreamSlot {
            streams: self.clone(),
            principal: principal.to_owned(),
            _total: total,
        })
    }

    /// `events` for as long as `token` stays valid: it is checked again every re-check interval,
    /// and once it is refused the stream sends that refusal as an `error` event (`as_event`) and
    /// ends. A check that fails for another reason (the metadata store unreachable for a moment)
    /// keeps the stream. The slot is held until the stream is dropped.
    pub fn guard<S>(
        &self,
        slot: StreamSlot,
        auth: Arc<Authenticator>,
        token: String,
        events: S,
        as_event: fn(&ApiError) -> Event,
    ) -> impl Stream<Item = Event> + Send + use<S>
    where
        S: Stream<Item = Event> + Send + 'static,
    {
        let start = tokio::time::Instant::now() + self.recheck;
        let ticks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval_at(
            start,
            self.recheck,
        ));
        let checks = ticks
            .then(move |_| {
                let (auth, token) = (auth.clone(), token.clone());
                async move {
                    match auth.authenticate(&token).await {
                        Err(e @ ApiError::Unauthenticated(_)) => Some(e),
                        _ => None,
                    }
                }
            })
            .filter_map(|refused| async move { refused.map(Item::Refused) });
        // The job's events end the stream when they end; the checks never do.
        let events = events
            .map(Item::Event)
            .chain(futures_util::stream::once(async { Item::End }));
        let merged = futures_util::stream::select(events, checks);
        futures_util::stream::unfold(
            (Box::pin(merged), Some(slot)),
            move |(mut merged, slot)| async move {
                slot.as_ref()?;
                match merged.next().await? {
                    Item::Event(e) => Some((e, (merged, slot))),
                    Item::End => None,
                    // The refusal is the last event: the next poll finds no slot and ends.
                    Item::Refused(e) => Some((as_event(&e), (merged, None))),
                }
            },
        )
    }
}

enum Item {
    Event(Event),
    End,
    Refused(ApiError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_overall_and_per_principal_and_slots_come_back() {
        let streams = Arc::new(EventStreams::new(3, 2, Duration::from_secs(30)));
        let a1 = streams.admit("user:a").expect("first");
        let _a2 = streams.admit("user:a").expect("second");
        assert!(
            matches!(streams.admit("user:a"), Err(ApiError::TooManyRequests(m)) if m.contains("per caller"))
        );
        let b1 = streams.admit("user:b").expect("another caller");
        assert!(
            matches!(streams.admit("user:c"), Err(ApiError::TooManyRequests(m)) if m.contains("--max-event-streams)"))
        );
        drop(a1);
        let _a3 = streams.admit("user:a").expect("a slot came back");
        drop(b1);
        assert!(
            streams.open().get("user:b").is_none(),
            "no entry is kept for a caller with none open"
        );
    }
}
