//! `POST /v1/auth/token`, the caller's own identity, and admins' management of users (with
//! their passwords) and API keys.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, PrincipalKind, Role, TokenResponse};
use crate::error::{ApiError, Problem};
use crate::middleware::{ClientAddress, too_many_requests};
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
        (status = 429, description = "Too many failed sign-ins for this account or address; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The metadata store is unreachable; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    axum::Extension(ClientAddress(address)): axum::Extension<ClientAddress>,
    ApiJson(request): ApiJson<TokenRequest>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let account = match &request {
        TokenRequest::Password { username, .. } => Some(username.clone()),
        TokenRequest::ApiKey { .. } => None,
    };
    let backoff = &state.sign_in;
    let wait = [
        backoff.addresses.retry_after(&address),
        account
            .as_deref()
            .and_then(|a| backoff.accounts.retry_after(a)),
    ]
    .into_iter()
    .flatten()
    .max();
    if let Some(wait) = wait {
        return Ok(too_many_requests(
            wait,
            "too many failed sign-ins for this account or address",
            "/v1/auth/token",
        ));
    }
    let principal = match request {
        TokenRequest::Password { username, password } => {
            state.auth.check_password(&username, &password).await?
        }
        TokenRequest::ApiKey { api_key } => state.auth.check_api_key(&api_key).await?,
    };
    let Some(identity) = principal else {
        backoff.addresses.failed(&address);
        if let Some(account) = &account {
            backoff.accounts.failed(account);
        }
        return Err(ApiError::Unauthenticated("wrong credentials".to_owned()));
    };
    if let Some(account) = &account {
        backoff.accounts.succeeded(account);
    }
    Ok((no_store(), Json(state.auth.issue(&identity)?)).into_response())
}

/// Responses that carry a credential must never be stored by a cache (RFC 6749 §5.1).
fn no_store() -> [(axum::http::HeaderName, &'static str); 2] {
    [
        (axum::http::header::CACHE_CONTROL, "no-store"),
        (axum::http::header::PRAGMA, "no-cache"),
    ]
}

/// A user or API key and its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

/// A user or API key, with its kind (for admins' listings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PrincipalEntry {
    pub kind: PrincipalKind,
    pub name: String,
    pub role: Role,
}

/// Shorter passwords are refused. (Names follow the `pattern` of the schemas below, checked
/// by `check_name`.)
const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_CHARS: usize = 256;

fn check_name(name: &str) -> Result<(), ApiError> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c));
    if first_ok && rest_ok && name.len() <= 64 {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "name {name:?} must be 1-64 of A-Z a-z 0-9 . _ @ -, starting with a letter, digit or _"
        )))
    }
}

fn check_password_length(password: &str) -> Result<(), ApiError> {
    let chars = password.chars().count();
    if (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "password must be {MIN_PASSWORD_CHARS}-{MAX_PASSWORD_CHARS} characters, got {chars}"
        )))
    }
}

/// A new user.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    #[schema(pattern = r"^[A-Za-z0-9_][A-Za-z0-9._@-]{0,63}$", example = "ann")]
    pub username: String,
    #[schema(min_length = 12, max_length = 256)]
    pub password: String,
    pub role: Role,
}

/// A new password for a user.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPasswordRequest {
    /// Required when users change their own password (admins included); not read when an admin
    /// resets someone else's.
    #[schema(max_length = 256)]
    pub current_password: Option<String>,
    #[schema(min_length = 12, max_length = 256)]
    pub new_password: String,
}

/// A new API key's name and role.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    #[schema(
        pattern = r"^[A-Za-z0-9_][A-Za-z0-9._@-]{0,63}$",
        example = "ci-pipeline"
    )]
    pub name: String,
    pub role: Role,
}

/// A created API key. `api_key` is shown this once: only its sha256 is stored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedApiKey {
    pub name: String,
    pub role: Role,
    /// Exchange it at `POST /v1/auth/token` as `{"api_key": "..."}`.
    pub api_key: String,
}

/// Adds a user (admins only).
#[utoipa::path(
    post, path = "/v1/auth/users", operation_id = "createUser", tag = "auth",
    security(("bearer" = [])),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created", body = Principal),
        (status = 400, description = "Malformed request, bad name or too short a password", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The metadata store is unreachable; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<CreateUserRequest>,
) -> Result<(StatusCode, Json<Principal>), ApiError> {
    caller.require(Role::Admin)?;
    check_name(&request.username)?;
    check_password_length(&request.password)?;
    state
        .auth
        .create_user(&request.username, &request.password, request.role)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Principal {
            name: request.username,
            role: request.role,
        }),
    ))
}

/// Removes a user (admins only); never the last admin. The tokens the user holds stop working.
#[utoipa::path(
    delete, path = "/v1/auth/users/{name}", operation_id = "deleteUser", tag = "auth",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "User name", pattern = r"^[A-Za-z0-9_][A-Za-z0-9._@-]{0,63}$")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Not a valid name", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The last admin", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The metadata store is unreachable; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Admin)?;
    check_name(&name)?;
    state.auth.delete_user(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes a user's password: users their own, given the current one; admins anyone's. Every
/// token issued to the user stops working, the caller's own included: sign in again.
#[utoipa::path(
    put, path = "/v1/auth/users/{name}/password", operation_id = "setUserPassword", tag = "auth",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "User name", pattern = r"^[A-Za-z0-9_][A-Za-z0-9._@-]{0,63}$")),
    request_body = SetPasswordRequest,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "Malformed request, bad name, too short a password, or no current password for one's own", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Someone else's password and not an admin, or a wrong current password", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The metadata store is unreachable; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn set_user_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<SetPasswordRequest>,
) -> Result<StatusCode, ApiError> {
    check_name(&name)?;
    let own = caller.kind == PrincipalKind::User && caller.name == name;
    if !own {
        caller.require(Role::Admin)?;
    }
    check_password_length(&request.new_password)?;
    if let Some(current) = &request.current_password
        && current.chars().count() > MAX_PASSWORD_CHARS
    {
        return Err(ApiError::BadRequest(format!(
            "current_password is longer than any password ({MAX_PASSWORD_CHARS} characters)"
        )));
    }
    if own {
        // A stolen token alone must not be enough to take the account over.
        let current = request.current_password.as_deref().ok_or_else(|| {
            ApiError::BadRequest("current_password is required to change one's own".to_owned())
        })?;
        if state.auth.check_password(&name, current).await?.is_none() {
            return Err(ApiError::Forbidden("current_password is wrong".to_owned()));
        }
    }
    state
        .auth
        .set_password(&name, &request.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Creates an API key (admins only) and returns it, once.
#[utoipa::path(
    post, path = "/v1/auth/api-keys", operation_id = "createApiKey", tag = "auth",
    security(("bearer" = [])),
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "Created; the key is in the body and nowhere else", body = CreatedApiKey),
        (status = 400, description = "Malformed request or bad name", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The metadata store is unreachable; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_api_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<CreateApiKeyRequest>,
) -> Result<
    (
        StatusCode,
        [(axum::http::HeaderName, &'static str); 2],
        Json<CreatedApiKey>,
    ),
    ApiError,
> {
    caller.require(Role::Admin)?;
    check_name(&request.name)?;
    let api_key = state
        .auth
        .create_api_key(&request.name, request.role)
        .await?;
    Ok((
        StatusCode::CREATED,
        no_store(),
        Json(CreatedApiKey {
            name: request.name,
            role: request.role,
            api_key,
        }),
    ))
}

/// Revokes an API key (admins only), and the tokens it was exchanged for.
#[utoipa::path(
    delete, path = "/v1/auth/api-keys/{name}", operation_id = "deleteApiKey", tag = "auth",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "API key name", pattern = r"^[A-Za-z0-9_][A-Za-z0-9._@-]{0,63}$")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "Not a valid name", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such API key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The metadata store is unreachable; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Admin)?;
    check_name(&name)?;
    state.auth.delete_api_key(&name).await?;
    Ok(StatusCode::NO_CONTENT)
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
        (status = 200, description = "Users and API keys", body = Vec<PrincipalEntry>),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_principals(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<PrincipalEntry>>, ApiError> {
    caller.require(Role::Admin)?;
    Ok(Json(
        state
            .auth
            .principals()
            .await?
            .into_iter()
            .map(|(kind, role, name)| PrincipalEntry { kind, name, role })
            .collect(),
    ))
}
