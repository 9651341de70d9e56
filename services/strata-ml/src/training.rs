//! `strata.ml.v1.TrainingService`: the gRPC face of the [`JobManager`].

use std::pin::Pin;

use strata_proto::strata::ml::v1 as pb;
use strata_proto::strata::ml::v1::training_service_server::TrainingService;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::error::{ServiceError, blocking};
use crate::jobs::JobManager;
use crate::paging;

pub struct TrainingApi {
    pub jobs: JobManager,
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::TrainingEvent, Status>> + Send>>;

fn is_final(e: &pb::TrainingEvent) -> bool {
    use pb::JobState::*;
    matches!(
        e.event,
        Some(pb::training_event::Event::StateChanged(s))
            if s == Succeeded as i32 || s == Failed as i32 || s == Cancelled as i32
    )
}

/// Sends one event; false when the stream is over (final event sent, or the watcher left).
async fn forward(
    tx: &mpsc::Sender<Result<pb::TrainingEvent, Status>>,
    last: &mut u64,
    e: pb::TrainingEvent,
) -> bool {
    *last = e.sequence;
    let fin = is_final(&e);
    tx.send(Ok(e)).await.is_ok() && !fin
}

#[tonic::async_trait]
impl TrainingService for TrainingApi {
    async fn create_training_job(
        &self,
        request: Request<pb::CreateTrainingJobRequest>,
    ) -> Result<Response<pb::TrainingJob>, Status> {
        let jobs = self.jobs.clone();
        let req = request.into_inner();
        blocking(move || jobs.create(req)).await
    }

    async fn get_training_job(
        &self,
        request: Request<pb::GetTrainingJobRequest>,
    ) -> Result<Response<pb::TrainingJob>, Status> {
        Ok(Response::new(self.jobs.get(&request.into_inner().id)?))
    }

    async fn list_training_jobs(
        &self,
        request: Request<pb::ListTrainingJobsRequest>,
    ) -> Result<Response<pb::ListTrainingJobsResponse>, Status> {
        let req = request.into_inner();
        if pb::JobState::try_from(req.state).is_err() {
            return Err(
                ServiceError::InvalidArgument(format!("unknown job state {}", req.state)).into(),
            );
        }
        let jobs = self.jobs.list(req.state, &req.model_name);
        let (jobs, next_page_token) =
            paging::page(jobs, |j| j.id.clone(), req.page_size, &req.page_token, true)?;
        Ok(Response::new(pb::ListTrainingJobsResponse {
            jobs,
            next_page_token,
        }))
    }

    async fn cancel_training_job(
        &self,
        request: Request<pb::CancelTrainingJobRequest>,
    ) -> Result<Response<pb::TrainingJob>, Status> {
        let jobs = self.jobs.clone();
        let id = request.into_inner().id;
        blocking(move || jobs.cancel(&id)).await
    }

    type WatchTrainingJobStream = EventStream;

    async fn watch_training_job(
        &self,
        request: Request<pb::WatchTrainingJobRequest>,
    ) -> Result<Response<Self::WatchTrainingJobStream>, Status> {
        let req = request.into_inner();
        let jobs = self.jobs.clone();
        let id = req.id.clone();
        let (backlog, mut live, ended) = {
            let jobs = jobs.clone();
            let id = id.clone();
            tokio::task::spawn_blocking(move || jobs.subscribe(&id, req.after_sequence))
                .await
                .map_err(ServiceError::from)??
        };
        let (tx, rx) = mpsc::channel(64);
        let shutdown = jobs.shutting_down();
        tokio::spawn(async move {
            let mut last = req.after_sequence;
            for e in backlog {
                if !forward(&tx, &mut last, e).await {
                    return;
                }
            }
            if ended {
                return;
            }
            loop {
                let next = tokio::select! {
                    r = live.recv() => r,
                    _ = shutdown.cancelled() => {
                        let _ = tx.send(Err(Status::unavailable("the ML service is shutting down; watch again with after_sequence"))).await;
                        return;
                    }
                };
                match next {
                    Ok(e) if e.sequence <= last => {}
                    Ok(e) => {
                        if !forward(&tx, &mut last, e).await {
                            return;
                        }
                    }
                    // A slow watcher missed live events: catch up from the log.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let (jobs, id, after) = (jobs.clone(), id.clone(), last);
                        let missed = match tokio::task::spawn_blocking(move || {
                            jobs.events_after(&id, after)
                        })
                        .await
                        {
                            Ok(Ok(m)) => m,
                            Ok(Err(e)) => {
                                let _ = tx.send(Err(e.into())).await;
                                return;
                            }
                            Err(e) => {
                                let _ = tx.send(Err(ServiceError::from(e).into())).await;
                                return;
                            }
                        };
                        for e in missed {
                            if !forward(&tx, &mut last, e).await {
                                return;
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
