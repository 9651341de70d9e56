//! `strata.ml.v1.ModelService`: the gRPC face of the [`ModelRegistry`].
//!
//! `ImportModel` reads a model directory on the server, so it reads only below the configured
//! import directory (`--import-dir`): a caller names a directory there, never any other file the
//! process can open.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use strata_proto::strata::ml::v1 as pb;
use strata_proto::strata::ml::v1::model_service_server::ModelService;
use tonic::{Request, Response, Status};

use crate::callers;
use crate::error::{ServiceError, blocking};
use crate::paging;
use crate::registry::ModelRegistry;
use strata_runtime::caller::CallerRole;

pub struct ModelApi {
    pub registry: Arc<ModelRegistry>,
    /// The only directory `ImportModel` reads below.
    pub import_dir: PathBuf,
    /// Aliases only admins may move (`--protected-aliases`).
    pub protected_aliases: Vec<String>,
}

/// `requested` (relative to `dir`, or absolute) resolved with symbolic links followed, if it
/// names something inside `dir`.
fn import_path(dir: &Path, requested: &str) -> Result<PathBuf, ServiceError> {
    let base = dir
        .canonicalize()
        .map_err(|e| ServiceError::Internal(format!("import directory {}: {e}", dir.display())))?;
    let resolved = base.join(requested).canonicalize().map_err(|_| {
        ServiceError::NotFound(format!("`{requested}` not found in the import directory"))
    })?;
    if !resolved.starts_with(&base) || resolved == base {
        return Err(ServiceError::InvalidArgument(format!(
            "`{requested}` is outside the import directory; models are imported from a \
             directory inside it (--import-dir / STRATA_ML_IMPORT_DIR)"
        )));
    }
    Ok(resolved)
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
                // Names only here; each model's message is bounded by its versions page.
                String::len,
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
        let caller = callers::caller_of(&request);
        let req = request.into_inner();
        if let Some(c) = &caller
            && c.role < CallerRole::Admin
            && self.protected_aliases.contains(&req.alias)
        {
            return Err(ServiceError::PermissionDenied(format!(
                "alias `{}` is protected: only admins move it",
                req.alias
            ))
            .into());
        }
        let registry = self.registry.clone();
        blocking(move || {
            registry.check_owner(caller.as_ref(), &req.name)?;
            registry.set_alias(&req.name, &req.alias, &req.version)
        })
        .await
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
        let caller = callers::caller_of(&request);
        let req = request.into_inner();
        if req.path.is_empty() {
            return Err(ServiceError::InvalidArgument("path is required".into()).into());
        }
        let path = import_path(&self.import_dir, &req.path)?;
        let owner = callers::owner_of(caller.as_ref());
        let registry = self.registry.clone();
        blocking(move || {
            registry.check_owner(caller.as_ref(), &req.name)?;
            registry.import(&req.name, &req.kind, &path, &owner)
        })
        .await
    }
}
