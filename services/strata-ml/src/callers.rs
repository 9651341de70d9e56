//! Who may call the ML service: with `--caller-keys`, every RPC but the health checks must carry
//! a caller token (`authorization: Bearer …`, see [`strata_runtime::caller`]) signed by the web
//! API for this service, naming the principal it acts for and its role; the role must be enough
//! for the RPC. Refusals are UNAUTHENTICATED or PERMISSION_DENIED before any service runs. The
//! principal is recorded on the call's span (`enduser.id`, `enduser.role`), so logs and traces
//! say who asked.
//!
//! Without keys every caller is accepted (a developer's loopback); the service says so at start.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use strata_runtime::caller::{CallerKeys, CallerRole};
use tonic::codegen::http;
use tower::{Layer, Service};

/// The least role each RPC needs; `None` for RPCs anyone who can connect may call.
pub fn required_role(path: &str) -> Option<CallerRole> {
    let (service, method) = path.trim_start_matches('/').split_once('/')?;
    if service == "grpc.health.v1.Health" {
        return None;
    }
    Some(match (service, method) {
        ("strata.ml.v1.ModelService", "ImportModel" | "DeleteModelVersion")
        | ("strata.ml.v1.DatasetService", "DeleteDataset") => CallerRole::Admin,
        ("strata.ml.v1.DatasetService", "UploadDataset")
        | ("strata.ml.v1.TrainingService", "CreateTrainingJob" | "CancelTrainingJob")
        | ("strata.ml.v1.ModelService", "SetAlias") => CallerRole::Trainer,
        _ => CallerRole::Viewer,
    })
}

/// See the module docs.
#[derive(Debug, Clone, Default)]
pub struct CallerAuthLayer {
    keys: Option<Arc<CallerKeys>>,
}

impl CallerAuthLayer {
    pub fn new(keys: Option<CallerKeys>) -> Self {
        Self {
            keys: keys.map(Arc::new),
        }
    }
}

impl<S> Layer<S> for CallerAuthLayer {
    type Service = CallerAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallerAuth {
            inner,
            keys: self.keys.clone(),
        }
    }
}

/// See the module docs.
#[derive(Debug, Clone)]
pub struct CallerAuth<S> {
    inner: S,
    keys: Option<Arc<CallerKeys>>,
}

impl<S> CallerAuth<S> {
    fn check<B>(&self, request: &mut http::Request<B>) -> Result<(), tonic::Status> {
        let Some(keys) = &self.keys else {
            return Ok(());
        };
        let Some(needed) = required_role(request.uri().path()) else {
            return Ok(());
        };
        let token = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| tonic::Status::unauthenticated("a caller token is required"))?;
        let claims = keys
            .verify(token.trim())
            .map_err(|e| tonic::Status::unauthenticated(e.to_string()))?;
        let span = tracing::Span::current();
        span.record("enduser.id", claims.sub.as_str());
        let role = format!("{:?}", claims.role).to_lowercase();
        span.record("enduser.role", role.as_str());
        if claims.role < needed {
            return Err(tonic::Status::permission_denied(format!(
                "{} has role {:?}; {} needs {:?}",
                claims.sub,
                claims.role,
                request.uri().path(),
                needed
            )));
        }
        request.extensions_mut().insert(claims);
        Ok(())
    }
}

impl<S, B, ResBody> Service<http::Request<B>> for CallerAuth<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResBody>> + Send,
    S::Future: Send + 'static,
    ResBody: Default + Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        match self.check(&mut request) {
            Ok(()) => Box::pin(self.inner.call(request)),
            Err(status) => {
                tracing::warn!(
                    rpc = request.uri().path(),
                    reason = status.message(),
                    "caller refused"
                );
                Box::pin(std::future::ready(Ok(status.into_http())))
            }
        }
    }
}

/// The verified caller of a request, when the service verifies callers.
pub fn caller_of<T>(request: &tonic::Request<T>) -> Option<strata_runtime::caller::CallerClaims> {
    request
        .extensions()
        .get::<strata_runtime::caller::CallerClaims>()
        .cloned()
}

/// The principal a new job or model version is recorded under: the caller's, or none where
/// callers are not verified.
pub fn owner_of(caller: Option<&strata_runtime::caller::CallerClaims>) -> String {
    caller.map(|c| c.sub.clone()).unwrap_or_default()
}

/// Allows `caller` to act on something `owner` owns: the owner itself or an admin. Where callers
/// are not verified, or the thing predates owners, there is nothing to check.
pub fn check_owner(
    caller: Option<&strata_runtime::caller::CallerClaims>,
    owner: Option<&str>,
    what: &str,
) -> Result<(), crate::error::ServiceError> {
    let (Some(caller), Some(owner)) = (caller, owner.filter(|o| !o.is_empty())) else {
        return Ok(());
    };
    if caller.role >= CallerRole::Admin || caller.sub == owner {
        return Ok(());
    }
    Err(crate::error::ServiceError::PermissionDenied(format!(
        "{what} belongs to {owner}; only its owner or an admin may change it"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rpc_of_the_contract_needs_a_role_except_health() {
        assert_eq!(required_role("/grpc.health.v1.Health/Check"), None);
        assert_eq!(
            required_role("/strata.ml.v1.ModelService/ImportModel"),
            Some(CallerRole::Admin)
        );
        assert_eq!(
            required_role("/strata.ml.v1.TrainingService/CreateTrainingJob"),
            Some(CallerRole::Trainer)
        );
        assert_eq!(
            required_role("/strata.ml.v1.InferenceService/Embed"),
            Some(CallerRole::Viewer)
        );
        assert_eq!(
            required_role("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
            Some(CallerRole::Viewer)
        );
    }
}
