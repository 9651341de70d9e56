//! `strata.ml.v1.ModelService`: the gRPC face of the [`ModelRegistry`].

use std::path::PathBuf;
use std::sync::Arc;

use strata_proto::strata::ml::v1 as pb;
use strata_proto::strata::ml::v1::model_service_server::ModelService;
use tonic::{Request, Response, Status};

use crate::error::{ServiceError, blocking};
use crate::paging;
use crate::registry::ModelRegistry;

pub struct ModelApi {
    pub registry: Arc<ModelRegistry>,
}

#[tonic::async_trait]
impl ModelService for ModelApi {
    async fn list_models(
        &self,
        request: Request<pb::ListModelsRequest>,
    ) -> Result<Response<pb::ListModelsResponse>, Status> {
        let req = request.into_inner();
        let registry = self.registry.clone();
        blocking(move || {
            let (names, next_page_token) = paging::page(
                registry.names()?,
                String::clone,
                req.page_size,
                &req.page_token,
                false,
            )?;
            let mut models = Vec::with_capacity(names.len());
            for name in names {
                match registry.model(&name) {
                    Ok(m) => models.push(m),
                    // Deleted between listing and reading: not part of this page any more.
                    Err(ServiceError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(pb::ListModelsResponse {
                models,
                next_page_token,
            })
        })
        .await
    }

    async fn get_model(
        &self,
        request: Request<pb::GetModelRequest>,
    ) -> Result<Response<pb::Model>, Status> {
        let name = request.into_inner().name;
        let registry = self.registry.clone();
        blocking(move || registry.model(&name)).await
    }

    async fn set_alias(
        &self,
        request: Request<pb::SetAliasRequest>,
    ) -> Result<Response<pb::Model>, Status> {
        let req = request.into_inner();
        let registry = self.registry.clone();
        blocking(move || registry.set_alias(&req.name, &req.alias, &req.version)).await
    }

    async fn delete_model_version(
        &self,
        request: Request<pb::DeleteModelVersionRequest>,
    ) -> Result<Response<pb::DeleteModelVersionResponse>, Status> {
        let req = request.into_inner();
        let registry = self.registry.clone();
        blocking(move || {
            registry
                .delete_version(&req.name, &req.version)
                .map(|_| pb::DeleteModelVersionResponse {})
        })
        .await
    }

    async fn import_model(
        &self,
        request: Request<pb::ImportModelRequest>,
    ) -> Result<Response<pb::ModelVersion>, Status> {
        let req = request.into_inner();
        if req.path.is_empty() {
            return Err(ServiceError::InvalidArgument("path is required".into()).into());
        }
        let registry = self.registry.clone();
        blocking(move || registry.import(&req.name, &req.kind, &PathBuf::from(&req.path))).await
    }
}
