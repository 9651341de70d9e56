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
///
/// The name is judged lexically before the file system is touched, so a path outside the import
/// directory is INVALID_ARGUMENT whether or not it exists: the answer never tells a caller what
/// exists elsewhere on the server. Symbolic links are then followed and the target checked again.
fn import_path(dir: &Path, requested: &str) -> Result<PathBuf, ServiceError> {
    let internal = |e: std::io::Error| {
        ServiceError::Internal(format!("import directory {}: {e}", dir.display()))
    };
    let base = dir.canonicalize().map_err(internal)?;
    // The directory as configured may reach it through a symbolic link (a linked data or cache
    // directory); a caller may name a model through either spelling.
    let given = lexical(&std::path::absolute(dir).map_err(internal)?);
    let outside = || {
        ServiceError::InvalidArgument(format!(
            "`{requested}` is outside the import directory; models are imported from a \
             directory inside it (--import-dir / STRATA_ML_IMPORT_DIR)"
        ))
    };
    let inside = |path: &Path, root: &Path| path.starts_with(root) && path != root;
    let named = lexical(&given.join(requested));
    if !(inside(&named, &given) || inside(&lexical(&base.join(requested)), &base)) {
        return Err(outside());
    }
    let resolved = named.canonicalize().map_err(|_| {
        ServiceError::NotFound(format!("`{requested}` not found in the import directory"))
    })?;
    if !inside(&resolved, &base) {
        return Err(outside());
    }
    // The files a model is read from must be inside too: a link in a model's directory to a
    // file elsewhere would otherwise be read (models are flat directories, one level deep).
    if resolved.is_dir() {
        for entry in std::fs::read_dir(&resolved).map_err(internal)? {
            let entry = entry.map_err(internal)?;
            let real = entry.path().canonicalize();
            if !real.is_ok_and(|real| inside(&real, &base)) {
                return Err(ServiceError::InvalidArgument(format!(
                    "`{requested}` holds `{}`, a link that leads outside the import directory \
                     (--import-dir / STRATA_ML_IMPORT_DIR) or nowhere",
                    entry.file_name().to_string_lossy()
                )));
            }
        }
    }
    Ok(resolved)
}

/// `path` with `.` and `..` folded away without reading the file system (`..` at the root stays
/// at the root, as the kernel does).
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_folds_dots_and_stops_at_the_root() {
        assert_eq!(lexical(Path::new("/a/b/../c/./d")), PathBuf::from("/a/c/d"));
        assert_eq!(lexical(Path::new("/a/../../../etc")), PathBuf::from("/etc"));
        assert_eq!(lexical(Path::new("/a/b/")), PathBuf::from("/a/b"));
    }

    #[test]
    fn outside_paths_are_invalid_whether_or_not_they_exist() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("model")).expect("mkdir");
        let invalid = |p: &str| {
            matches!(
                import_path(dir.path(), p),
                Err(ServiceError::InvalidArgument(_))
            )
        };
        for p in [
            "/",
            "/etc",
            "/no/such/dir",
            "..",
            "../x",
            "model/../..",
            "",
            ".",
            "model/..",
        ] {
            assert!(invalid(p), "{p}");
        }
        assert!(matches!(
            import_path(dir.path(), "missing"),
            Err(ServiceError::NotFound(_))
        ));
        let inside = import_path(dir.path(), "model/../model").expect("inside");
        assert!(inside.ends_with("model"));
    }

    #[test]
    fn an_import_directory_reached_through_a_link_takes_either_spelling() {
        let real = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(real.path().join("model")).expect("mkdir");
        let links = tempfile::tempdir().expect("temp dir");
        let link = links.path().join("imports");
        std::os::unix::fs::symlink(real.path(), &link).expect("symlink");
        let through_link = link.join("model");
        let through_real = real.path().join("model");
        for name in [&through_link, &through_real] {
            let found = import_path(&link, name.to_str().expect("utf-8")).expect("inside");
            assert_eq!(found, through_real.canonicalize().expect("real"));
        }
        let escape = link.join("../elsewhere");
        assert!(matches!(
            import_path(&link, escape.to_str().expect("utf-8")),
            Err(ServiceError::InvalidArgument(_))
        ));
    }
}
