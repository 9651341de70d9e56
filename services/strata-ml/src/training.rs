//! `strata.ml.v1.TrainingService`: the gRPC face of the [`JobManager`].

use std::pin::Pin;

use strata_proto::strata::ml::v1 as pb;
use strata_proto::strata::ml::v1::training_service_server::TrainingService;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use crate::callers;
use crate::error::ServiceError;
use crate::jobs::JobManager;
use crate::paging;

pub struct TrainingApi {
    pub jobs: JobManager,
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::TrainingEvent, Status>> + Send>>;

#[tonic::async_trait]
impl TrainingService for TrainingApi {
    async fn create_training_job(
        &self,
        request: Request<pb::CreateTrainingJobRequest>,
    ) -> Result<Response<pb::TrainingJob>, Status> {
        let caller = callers::caller_of(&request);
        Ok(Response::new(
            self.jobs.create(request.into_inner(), caller).await?,
        ))
    }

    async fn get_training_job(
        &self,
        request: Request<pb::GetTrainingJobRequest>,
    ) -> Result<Response<pb::TrainingJob>, Status> {
        Ok(Response::new(
            self.jobs.get(&request.into_inner().id).await?,
        ))
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
        let jobs = self.jobs.list(req.state, &req.model_name).await?;
        let (jobs, next_page_token) = paging::page(
            jobs,
            |j| j.id.clone(),
            prost::Message::encoded_len,
            req.page_size,
            &req.page_token,
            true,
        )?;
        Ok(Response::new(pb::ListTrainingJobsResponse {
            jobs,
            next_page_token,
        }))
    }

    async fn cancel_training_job(
        &self,
        request: Request<pb::CancelTrainingJobRequest>,
    ) -> Result<Response<pb::TrainingJob>, Status> {
        let caller = callers::caller_of(&request);
        let id = request.into_inner().id;
        let job = self.jobs.get(&id).await?;
        callers::check_owner(
            caller.as_ref(),
            Some(job.owner.as_str()),
            &format!("job {id}"),
        )?;
        Ok(Response::new(self.jobs.cancel(&id).await?))
    }

    type WatchTrainingJobStream = EventStream;

    async fn watch_training_job(
        &self,
        request: Request<pb::WatchTrainingJobRequest>,
    ) -> Result<Response<Self::WatchTrainingJobStream>, Status> {
        let req = request.into_inner();
        let events = self.jobs.watch(&req.id, req.after_sequence).await?;
        Ok(Response::new(Box::pin(
            ReceiverStream::new(events).map(|e| e.map_err(Status::from)),
        )))
    }
}
