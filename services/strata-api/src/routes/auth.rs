//! `POST /v1/auth/token` and the caller's own identity.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, Role, TokenResponse};
use crate::error::{ApiError, Problem};
use crate::routes::common::ApiJson;
use crate::state::AppState;

/// Credentials: a user name and password, or an API key.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TokenRequest {
    Password { username: String, password: String },
    ApiKey { api_key: String },
}

/// Exchanges credentials for a short-lived access token.
#[utoipa::path(
    post, path = "/v1/auth/token", operation_id = "createToken", tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "A bearer token", body = TokenResponse),
        (status = 400, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong credentials", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<TokenRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let auth = state.auth.clone();
    // argon2 is deliberately slow; keep it off the async workers.
    let principal = tokio::task::spawn_blocking(move || match request {
        TokenRequest::Password { username, password } => auth.check_password(&username, &password),
        TokenRequest::ApiKey { api_key } => auth.check_api_key(&api_key),
    })
    .await
    .map_err(|e| ApiError::Internal(format!("credential check panicked: {e}")))?;
    let (name, role) =
        principal.ok_or_else(|| ApiError::Unauthenticated("wrong credentials".to_owned()))?;
    Ok(Json(state.auth.issue(&name, role)?))
}

/// A user or API key and its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

/// Returns who the bearer token belongs to.
#[utoipa::path(
    get, path = "/v1/auth/me", operation_id = "getCurrentPrincipal", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Principal),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn me(caller: Caller) -> Json<Principal> {
    Json(Principal {
        name: caller.name,
        role: caller.role,
    })
}

/// Lists every user and API key with its role (admins only).
#[utoipa::path(
    get, path = "/v1/auth/principals", operation_id = "listPrincipals", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Users and API keys", body = Vec<Principal>),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_principals(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Principal>>, ApiError> {
    caller.require(Role::Admin)?;
    Ok(Json(
        state
            .auth
            .principals()
            .into_iter()
            .map(|(name, role)| Principal { name, role })
            .collect(),
    ))
}
