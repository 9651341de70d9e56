//! Who is calling and what they may do: users (argon2id password hashes) and API keys (sha256)
//! in the metadata store (SQLite by default, PostgreSQL shared by the replicas), JWTs (HS256
//! pinned, `exp`/`iss`/`aud` required, keys rotated by `kid`), and roles checked per route
//! through the [`Caller`] extractor.
//!
//! A token names its principal and carries a tag of the credential it was issued for (a digest
//! of the stored password hash or key digest). Every request looks the principal up again, so
//! deleting a user, revoking a key or changing a password invalidates the tokens already issued
//! at once, on every replica, and a token always acts with the principal's current role.
//!
//! A first start on a store with no users creates a bootstrap `admin` whose password is either
//! given (`STRATA_BOOTSTRAP_ADMIN_PASSWORD`) or generated and printed once; admins then manage
//! users and API keys through `/v1/auth/users` and `/v1/auth/api-keys`.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use strata_meta::{ApiKeyRow, MetaError, MetadataStore, UserDeletion, UserRow};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;
use strata_runtime::caller::{HmacKeys, KeySpecError};

/// The only signing algorithm accepted; a token naming any other (including `none`) is refused.
const ALGORITHM: Algorithm = Algorithm::HS256;
// HS256 keys shorter than the hash output weaken it; refused at start-up.
use strata_runtime::caller::MIN_SECRET_BYTES;

/// Whether a principal signs in with a password or an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    User,
    ApiKey,
}

/// What a caller may do. Each role includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read everything, predict, embed.
    Viewer,
    /// Also upload datasets, run training jobs, promote models.
    Trainer,
    /// Also manage users and delete things.
    Admin,
}

impl Role {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Trainer => "trainer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Role::Viewer, Role::Trainer, Role::Admin]
            .into_iter()
            .find(|r| r.as_str() == name)
    }
}

/// Failures to set up authentication; the server refuses to start on any of them.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error(
        "no JWT signing key: set STRATA_JWT_KEYS (kid:secret[,kid:secret...]) or run with --dev"
    )]
    MissingKeys,
    #[error(
        "invalid STRATA_JWT_KEYS entry {0:?}: expected kid:secret with a secret of at least {MIN_SECRET_BYTES} bytes"
    )]
    InvalidKey(String),
    #[error("users and API keys: {0}")]
    Store(#[from] MetaError),
    #[error("cannot hash a password: {0}")]
    Hash(String),
    #[error("the operating system has no randomness: {0}")]
    Random(String),
    #[error("cannot write the admin password to {0}: {1}")]
    PasswordFile(std::path::PathBuf, std::io::Error),
    #[error(
        "the bootstrap admin password has {0} characters; it needs at least {MIN_BOOTSTRAP_PASSWORD_CHARS}"
    )]
    WeakBootstrapPassword(usize),
    #[error(
        "no user exists yet and no way to hand over a generated admin password without logging \
         it: set STRATA_BOOTSTRAP_ADMIN_PASSWORD (from a Secret) or \
         --bootstrap-admin-password-file, or run with --dev"
    )]
    NoBootstrapPassword,
}

/// Shortest bootstrap admin password accepted: it guards the first admin of a deployment.
pub const MIN_BOOTSTRAP_PASSWORD_CHARS: usize = 12;

/// JWT keys by `kid`. New tokens are signed with the first; all verify, so a key can be rotated
/// out by first adding the new one in front and dropping the old after the token lifetime. The
/// same key-set form as the caller tokens' (`strata_runtime::caller::HmacKeys`).
#[derive(Debug, Clone)]
pub struct JwtKeys(HmacKeys);

impl JwtKeys {
    /// Parses `kid:secret[,kid:secret...]`.
    pub fn parse(spec: &str) -> Result<Self, AuthSetupError> {
        HmacKeys::parse(spec).map(JwtKeys).map_err(|e| match e {
            KeySpecError::Invalid(redacted) => AuthSetupError::InvalidKey(redacted),
            KeySpecError::Missing => AuthSetupError::MissingKeys,
        })
    }

    /// A random key for `--dev`: tokens stop working when the process restarts.
    pub fn generate_dev() -> Result<Self, AuthSetupError> {
        Ok(JwtKeys(HmacKeys::single(
            "dev",
            random_token(32)?.into_bytes(),
        )))
    }
}

/// `len` random bytes, hex-encoded.
pub fn random_token(len: usize) -> Result<String, AuthSetupError> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).map_err(|e| AuthSetupError::Random(e.to_string()))?;
    Ok(hex::encode(bytes))
}

/// The claims of a strata access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    /// Whether `sub` names a user or an API key.
    pub kind: PrincipalKind,
    /// The role when the token was issued; requests act with the principal's current role.
    pub role: Role,
    /// [`credential_tag`] of the credential the token was issued for.
    pub cred: String,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
}

/// An argon2id PHC hash of `password`.
pub fn hash_password(password: &str) -> Result<String, AuthSetupError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AuthSetupError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthSetupError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthSetupError::Hash(e.to_string()))
}

/// Hex sha256 of an API key: keys are long and random, so a fast hash is enough.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// What a token carries of the credential it was issued for: 64 bits of a digest of the stored
/// password hash or key digest. It changes when the password does, and tells nothing about it.
fn credential_tag(stored: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(b"strata token credential\0");
    digest.update(stored.as_bytes());
    hex::encode(&digest.finalize()[..8])
}

/// A user or API key whose credentials were checked, or whose token was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub kind: PrincipalKind,
    pub name: String,
    pub role: Role,
    /// [`credential_tag`] of its current credential.
    cred: String,
}

impl Identity {
    fn of_user(user: &UserRow) -> Result<Self, ApiError> {
        Ok(Self {
            kind: PrincipalKind::User,
            role: stored_role(&user.name, &user.role)?,
            name: user.name.clone(),
            cred: credential_tag(&user.password_hash),
        })
    }

    fn of_api_key(key: &ApiKeyRow) -> Result<Self, ApiError> {
        Ok(Self {
            kind: PrincipalKind::ApiKey,
            role: stored_role(&key.name, &key.role)?,
            name: key.name.clone(),
            cred: credential_tag(&key.key_sha256),
        })
    }
}

/// Creates the bootstrap `admin` when the store has no users yet. Returns the generated password
/// when this process created the admin without a given one, so the caller shows it exactly
/// once; several replicas starting together create one admin between them.
///
/// With `password_file`, a generated password is written there (mode 0600) before the admin
/// exists, so a file that cannot be written stops the start instead of leaving an admin whose
/// password nobody has.
pub async fn bootstrap_admin(
    store: &dyn MetadataStore,
    bootstrap_password: Option<&str>,
    password_file: Option<&Path>,
) -> Result<Option<String>, AuthSetupError> {
    if let Some(p) = bootstrap_password
        && p.chars().count() < MIN_BOOTSTRAP_PASSWORD_CHARS
    {
        return Err(AuthSetupError::WeakBootstrapPassword(p.chars().count()));
    }
    if !store.users().await?.is_empty() {
        return Ok(None);
    }
    let (password, generated) = match bootstrap_password {
        Some(p) => (p.to_owned(), false),
        None => (random_token(12)?, true),
    };
    // Written beside its final name first, moved into place only if this process made the admin.
    let staged = match password_file.filter(|_| generated) {
        Some(path) => Some((path, write_secret_file(path, &password)?)),
        None => None,
    };
    let created = store
        .create_user(&new_user("admin", &password, Role::Admin).await?)
        .await?;
    if let Some((path, staged)) = staged
        && created
    {
        staged
            .persist(path)
            .map_err(|e| AuthSetupError::PasswordFile(path.to_owned(), e.error))?;
    }
    Ok((created && generated).then_some(password))
}

/// `secret` in a new file with mode 0600 in `path`'s directory (created if missing), to be moved
/// to `path` once it is wanted; dropped unpersisted, it is deleted.
fn write_secret_file(path: &Path, secret: &str) -> Result<tempfile::NamedTempFile, AuthSetupError> {
    let fail = |e: std::io::Error| AuthSetupError::PasswordFile(path.to_owned(), e);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    // tempfile creates files with mode 0600 on Unix.
    let mut file = tempfile::Builder::new()
        .prefix(".admin-password")
        .tempfile_in(dir)
        .map_err(fail)?;
    writeln!(file, "{secret}").map_err(fail)?;
    file.as_file().sync_all().map_err(fail)?;
    Ok(file)
}

/// A user row for `name` with an argon2id hash of `password`, hashed off the async workers
/// (argon2 is deliberately slow).
async fn new_user(name: &str, password: &str, role: Role) -> Result<UserRow, AuthSetupError> {
    Ok(UserRow {
        name: name.to_owned(),
        password_hash: hash_password_blocking(password).await?,
        role: role.as_str().to_owned(),
        created_ms: unix_now_ms(),
    })
}

/// [`hash_password`] on a blocking thread: argon2 is deliberately slow.
async fn hash_password_blocking(password: &str) -> Result<String, AuthSetupError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AuthSetupError::Hash(e.to_string()))?
}

/// A token as returned by `POST /v1/auth/token` (OAuth 2 token response fields).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// The JWT to send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

/// Issues and checks tokens; checks, creates and removes users and API keys in the metadata
/// store (shared by every API replica).
#[derive(Clone)]
pub struct Authenticator {
    keys: JwtKeys,
    issuer: String,
    audience: String,
    ttl_seconds: u64,
    store: Arc<dyn MetadataStore>,
    /// Bounds the password checks (19 MiB of argon2id memory each) that run at once.
    password_checks: Arc<tokio::sync::Semaphore>,
}

/// Password checks at once unless [`Authenticator::with_password_checks`] says otherwise.
pub const DEFAULT_PASSWORD_CHECKS: usize = 4;

/// The JOSE `typ` of strata access tokens (RFC 9068), checked on every token (RFC 8725 §3.11).
pub const TOKEN_TYPE: &str = "at+jwt";

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("keys", &self.keys)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("store", &self.store.backend())
            .finish()
    }
}

/// A stored role the API does not know: the database was edited by hand or by a newer version.
fn stored_role(name: &str, role: &str) -> Result<Role, ApiError> {
    Role::parse(role).ok_or_else(|| {
        ApiError::Internal(format!(
            "principal {name} has an unknown stored role {role:?}"
        ))
    })
}

impl Authenticator {
    pub fn new(
        keys: JwtKeys,
        issuer: String,
        audience: String,
        ttl_seconds: u64,
        store: Arc<dyn MetadataStore>,
    ) -> Self {
        Self {
            keys,
            issuer,
            audience,
            ttl_seconds,
            store,
            password_checks: Arc::new(tokio::sync::Semaphore::new(DEFAULT_PASSWORD_CHECKS)),
        }
    }

    /// At most `n` password checks at once; others wait their turn.
    pub fn with_password_checks(mut self, n: usize) -> Self {
        self.password_checks = Arc::new(tokio::sync::Semaphore::new(n.max(1)));
        self
    }

    /// Every user, then every API key, with its role (for admins).
    pub async fn principals(&self) -> Result<Vec<(PrincipalKind, Role, String)>, ApiError> {
        let mut out = Vec::new();
        for user in self.store.users().await? {
            out.push((
                PrincipalKind::User,
                stored_role(&user.name, &user.role)?,
                user.name,
            ));
        }
        for key in self.store.api_keys().await? {
            out.push((
                PrincipalKind::ApiKey,
                stored_role(&key.name, &key.role)?,
                key.name,
            ));
        }
        Ok(out)
    }

    /// Checks a user's password. Unknown users cost the same work as wrong passwords.
    pub async fn check_password(
        &self,
        name: &str,
        password: &str,
    ) -> Result<Option<Identity>, ApiError> {
        let user = self.store.user(name).await?;
        let hash = match &user {
            Some(u) => u.password_hash.clone(),
            None => dummy_hash()
                .await
                .ok_or_else(|| ApiError::Internal("no dummy password hash".to_owned()))?,
        };
        let password = password.to_owned();
        let _permit = self
            .password_checks
            .acquire()
            .await
            .map_err(|_| ApiError::Internal("password check semaphore closed".to_owned()))?;
        // argon2 is deliberately slow; keep it off the async workers.
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
        .map_err(|e| ApiError::Internal(format!("password check panicked: {e}")))?;
        match user {
            Some(u) if ok => Identity::of_user(&u).map(Some),
            _ => Ok(None),
        }
    }

    /// Checks an API key.
    pub async fn check_api_key(&self, key: &str) -> Result<Option<Identity>, ApiError> {
        self.store
            .api_key_by_hash(&hash_api_key(key))
            .await?
            .as_ref()
            .map(Identity::of_api_key)
            .transpose()
    }

    /// The principal a verified token was issued to, as it is now: none when it was deleted or
    /// its credential changed since.
    async fn current(&self, claims: &Claims) -> Result<Option<Identity>, ApiError> {
        let principal = match claims.kind {
            PrincipalKind::User => self
                .store
                .user(&claims.sub)
                .await?
                .as_ref()
                .map(Identity::of_user),
            PrincipalKind::ApiKey => self
                .store
                .api_key(&claims.sub)
                .await?
                .as_ref()
                .map(Identity::of_api_key),
        }
        .transpose()?;
        Ok(principal.filter(|p| p.cred == claims.cred))
    }

    /// Verifies a bearer token and finds its principal, as [`Caller`] does for every request.
    pub async fn authenticate(&self, token: &str) -> Result<Caller, ApiError> {
        let claims = self.verify(token)?;
        let principal = self.current(&claims).await?.ok_or_else(|| {
            ApiError::Unauthenticated(
                "invalid token: revoked (its user or API key was removed, or the password changed)"
                    .to_owned(),
            )
        })?;
        Ok(Caller {
            kind: principal.kind,
            name: principal.name,
            role: principal.role,
        })
    }

    /// Adds a user; 409 when the name is taken.
    pub async fn create_user(
        &self,
        name: &str,
        password: &str,
        role: Role,
    ) -> Result<(), ApiError> {
        let user = new_user(name, password, role)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let created = self.store.create_user(&user).await?;
        if created {
            Ok(())
        } else {
            Err(ApiError::Conflict(format!(
                "a user named {name} already exists"
            )))
        }
    }

    /// Replaces a user's password; the tokens issued to the user stop working.
    pub async fn set_password(&self, name: &str, password: &str) -> Result<(), ApiError> {
        let hash = hash_password_blocking(password)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        if self.store.set_user_password(name, &hash).await? {
            Ok(())
        } else {
            Err(ApiError::NotFound(format!("no user named {name}")))
        }
    }

    /// Removes a user, and so the tokens issued to it; never the last admin.
    pub async fn delete_user(&self, name: &str) -> Result<(), ApiError> {
        match self.store.delete_user(name, Role::Admin.as_str()).await? {
            UserDeletion::Deleted => Ok(()),
            UserDeletion::NotFound => Err(ApiError::NotFound(format!("no user named {name}"))),
            UserDeletion::LastOfRole => Err(ApiError::Conflict(format!(
                "{name} is the last admin; create another admin first"
            ))),
        }
    }

    /// Creates an API key and returns it: the only time it is seen, as only its digest is kept.
    pub async fn create_api_key(&self, name: &str, role: Role) -> Result<String, ApiError> {
        let key = format!(
            "strata_{}",
            random_token(32).map_err(|e| ApiError::Internal(e.to_string()))?
        );
        let created = self
            .store
            .create_api_key(&ApiKeyRow {
                name: name.to_owned(),
                key_sha256: hash_api_key(&key),
                role: role.as_str().to_owned(),
                created_ms: unix_now_ms(),
            })
            .await?;
        if created {
            Ok(key)
        } else {
            Err(ApiError::Conflict(format!(
                "an API key named {name} already exists"
            )))
        }
    }

    /// Revokes an API key and the tokens it was exchanged for.
    pub async fn delete_api_key(&self, name: &str) -> Result<(), ApiError> {
        if self.store.delete_api_key(name).await? {
            Ok(())
        } else {
            Err(ApiError::NotFound(format!("no API key named {name}")))
        }
    }

    /// A token for the first admin user (by name), for work the server does on its own behalf
    /// through its public endpoints (`--demo`); `None` when no admin user exists.
    pub async fn token_for_an_admin(&self) -> Result<Option<TokenResponse>, ApiError> {
        let users = self.store.users().await?;
        let admin = users
            .iter()
            .find(|u| Role::parse(&u.role) == Some(Role::Admin));
        admin
            .map(|u| Identity::of_user(u).and_then(|id| self.issue(&id)))
            .transpose()
    }

    /// Signs a token for a principal whose credentials were just checked.
    pub fn issue(&self, principal: &Identity) -> Result<TokenResponse, ApiError> {
        let now = unix_now();
        let claims = Claims {
            sub: principal.name.clone(),
            kind: principal.kind,
            role: principal.role,
            cred: principal.cred.clone(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + self.ttl_seconds,
        };
        let mut header = Header::new(ALGORITHM);
        header.typ = Some(TOKEN_TYPE.to_owned());
        header.kid = Some(self.keys.0.signing_kid().to_owned());
        let secret = self.keys.0.signing_secret();
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret))
            .map_err(|e| ApiError::Internal(format!("cannot sign token: {e}")))?;
        Ok(TokenResponse {
            access_token: token,
            token_type: "Bearer".to_owned(),
            expires_in: self.ttl_seconds,
        })
    }

    /// Verifies signature (by `kid`), algorithm, `exp`, `iss` and `aud`.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let invalid = |why: &str| ApiError::Unauthenticated(format!("invalid token: {why}"));
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed"))?;
        if header.alg != ALGORITHM {
            return Err(invalid("algorithm not accepted"));
        }
        if header.typ.as_deref() != Some(TOKEN_TYPE) {
            return Err(invalid("not an access token (typ)"));
        }
        let kid = header.kid.ok_or_else(|| invalid("no key id"))?;
        let secret = self
            .keys
            .0
            .secret(&kid)
            .ok_or_else(|| invalid("unknown key id"))?;
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // `kind`, `role` and `cred` are required by `Claims` itself: a token without them is
        // rejected, as is one from before they existed.
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        let claims =
            jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret), &validation)
                .map_err(|e| {
                    use jsonwebtoken::errors::ErrorKind;
                    match e.kind() {
                        ErrorKind::ExpiredSignature => invalid("expired"),
                        ErrorKind::InvalidAudience => invalid("wrong audience"),
                        ErrorKind::InvalidIssuer => invalid("wrong issuer"),
                        ErrorKind::InvalidSignature => invalid("bad signature"),
                        ErrorKind::ImmatureSignature => invalid("not valid yet (nbf)"),
                        _ => invalid("rejected"),
                    }
                })?
                .claims;
        // Signed by us, but never as we issue: from the future, or longer-lived than tokens are.
        if claims.iat > unix_now() + LEEWAY_SECONDS {
            return Err(invalid("issued in the future"));
        }
        if claims.exp.saturating_sub(claims.iat) > self.ttl_seconds + LEEWAY_SECONDS {
            return Err(invalid("lifetime longer than this server issues"));
        }
        Ok(claims)
    }
}

/// An argon2id hash of a random string, verified against when the user does not exist so that
/// response time does not reveal which user names exist.
async fn dummy_hash() -> Option<String> {
    static DUMMY: tokio::sync::OnceCell<Option<String>> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_init(|| async {
            tokio::task::spawn_blocking(|| random_token(16).and_then(|p| hash_password(&p)).ok())
                .await
                .ok()
                .flatten()
        })
        .await
        .clone()
}

/// Clock skew tolerated between replicas, in seconds.
const LEEWAY_SECONDS: u64 = 5;

fn unix_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The authenticated caller of a request. Extracting it fails with 401 when the bearer token is
/// missing, invalid or revoked; [`Caller::require`] fails with 403 when the role is too low.
#[derive(Debug, Clone)]
pub struct Caller {
    pub kind: PrincipalKind,
    pub name: String,
    /// The principal's role now, which may differ from the one in the token.
    pub role: Role,
}

impl From<Role> for strata_runtime::caller::CallerRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Viewer => Self::Viewer,
            Role::Trainer => Self::Trainer,
            Role::Admin => Self::Admin,
        }
    }
}

impl Caller {
    /// The principal as the ML service's logs name it: a user's name, `key:<name>` for a key.
    pub fn principal_id(&self) -> String {
        match self.kind {
            PrincipalKind::User => self.name.clone(),
            PrincipalKind::ApiKey => format!("key:{}", self.name),
        }
    }

    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "{} has role {:?}; this operation needs {:?}",
                self.name, self.role, role
            )))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        use tracing::Instrument;
        // Authenticated once per request, whichever extractor asks first.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        // Its own span: the principal lookup is a database read on every request.
        let span = tracing::info_span!("auth", principal = tracing::field::Empty);
        async {
            let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
                ApiError::Unauthenticated("missing Authorization: Bearer token".to_owned())
            })?;
            let token = header
                .to_str()
                .ok()
                .and_then(|h| h.strip_prefix("Bearer "))
                .ok_or_else(|| {
                    ApiError::Unauthenticated("Authorization must be `Bearer <token>`".to_owned())
                })?;
            let caller = state.auth.authenticate(token.trim()).await?;
            tracing::Span::current().record("principal", caller.name.as_str());
            Ok::<_, ApiError>(caller)
        }
        .instrument(span)
        .await
        .inspect(|caller| {
            parts.extensions.insert(caller.clone());
        })
    }
}
