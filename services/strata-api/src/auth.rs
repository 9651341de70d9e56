//! Who is calling and what they may do: users (argon2id password hashes) and API keys (sha256)
//! from a users file, JWTs (HS256 pinned, `exp`/`iss`/`aud` required, keys rotated by `kid`),
//! and roles checked per route through the [`Caller`] extractor.
//!
//! A first start with no users file creates one holding a bootstrap `admin` whose password is
//! either given (`STRATA_BOOTSTRAP_ADMIN_PASSWORD`) or generated and printed once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

/// The only signing algorithm accepted; a token naming any other (including `none`) is refused.
const ALGORITHM: Algorithm = Algorithm::HS256;
/// HS256 keys shorter than the hash output weaken it; refuse them at start-up.
const MIN_SECRET_BYTES: usize = 32;

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
    #[error("cannot read users file {path}: {source}")]
    ReadUsers {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("users file {path} is not valid: {source}")]
    ParseUsers {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write users file {path}: {source}")]
    WriteUsers {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot hash a password: {0}")]
    Hash(String),
    #[error("the operating system has no randomness: {0}")]
    Random(String),
}

/// JWT keys by `kid`. New tokens are signed with the first; all verify, so a key can be rotated
/// out by first adding the new one in front and dropping the old after the token lifetime.
#[derive(Clone)]
pub struct JwtKeys {
    signing_kid: String,
    keys: BTreeMap<String, Vec<u8>>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets.
        f.debug_struct("JwtKeys")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl JwtKeys {
    /// Parses `kid:secret[,kid:secret...]`.
    pub fn parse(spec: &str) -> Result<Self, AuthSetupError> {
        let mut signing_kid = None;
        let mut keys = BTreeMap::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((kid, secret)) = entry.split_once(':') else {
                return Err(AuthSetupError::InvalidKey(redact(entry)));
            };
            if kid.is_empty() || secret.len() < MIN_SECRET_BYTES {
                return Err(AuthSetupError::InvalidKey(redact(entry)));
            }
            signing_kid.get_or_insert_with(|| kid.to_owned());
            keys.insert(kid.to_owned(), secret.as_bytes().to_vec());
        }
        let signing_kid = signing_kid.ok_or(AuthSetupError::MissingKeys)?;
        Ok(Self { signing_kid, keys })
    }

    /// A random key for `--dev`: tokens stop working when the process restarts.
    pub fn generate_dev() -> Result<Self, AuthSetupError> {
        let secret = random_token(32)?;
        Ok(Self {
            signing_kid: "dev".to_owned(),
            keys: BTreeMap::from([("dev".to_owned(), secret.into_bytes())]),
        })
    }
}

fn redact(entry: &str) -> String {
    entry.split_once(':').map_or_else(
        || "<no kid>".to_owned(),
        |(kid, _)| format!("{kid}:<redacted>"),
    )
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
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
}

/// One user of the users file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    pub name: String,
    /// PHC string of an argon2id hash (`$argon2id$v=19$...`).
    pub password_hash: String,
    pub role: Role,
}

/// One API key of the users file; keys are random, so a fast hash is enough.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub name: String,
    /// Hex sha256 of the key.
    pub key_sha256: String,
    pub role: Role,
}

/// The users file (`STRATA_USERS_FILE`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UsersFile {
    #[serde(default)]
    pub users: Vec<UserRecord>,
    #[serde(default)]
    pub api_keys: Vec<ApiKeyRecord>,
}

/// An argon2id PHC hash of `password`, for the users file.
pub fn hash_password(password: &str) -> Result<String, AuthSetupError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AuthSetupError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthSetupError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthSetupError::Hash(e.to_string()))
}

/// Hex sha256 of an API key, for the users file.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Reads the users file, or creates it with a bootstrap admin if it does not exist. Returns the
/// generated admin password when one was made, so the caller prints it exactly once.
pub fn load_or_bootstrap(
    path: &Path,
    bootstrap_password: Option<&str>,
) -> Result<(UsersFile, Option<String>), AuthSetupError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let users =
                serde_json::from_slice(&bytes).map_err(|source| AuthSetupError::ParseUsers {
                    path: path.to_owned(),
                    source,
                })?;
            Ok((users, None))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let (password, generated) = match bootstrap_password {
                Some(p) => (p.to_owned(), None),
                None => {
                    let p = random_token(12)?;
                    (p.clone(), Some(p))
                }
            };
            let users = UsersFile {
                users: vec![UserRecord {
                    name: "admin".to_owned(),
                    password_hash: hash_password(&password)?,
                    role: Role::Admin,
                }],
                api_keys: Vec::new(),
            };
            write_atomically(path, &users).map_err(|source| AuthSetupError::WriteUsers {
                path: path.to_owned(),
                source,
            })?;
            Ok((users, generated))
        }
        Err(source) => Err(AuthSetupError::ReadUsers {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Writes to a temporary file beside `path`, syncs it, then renames it over `path`.
fn write_atomically(path: &Path, users: &UsersFile) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    serde_json::to_writer_pretty(&mut tmp, users)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()
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

/// Issues and checks tokens; checks passwords and API keys.
#[derive(Debug, Clone)]
pub struct Authenticator {
    keys: JwtKeys,
    issuer: String,
    audience: String,
    ttl_seconds: u64,
    users: UsersFile,
}

impl Authenticator {
    pub fn new(
        keys: JwtKeys,
        issuer: String,
        audience: String,
        ttl_seconds: u64,
        users: UsersFile,
    ) -> Self {
        Self {
            keys,
            issuer,
            audience,
            ttl_seconds,
            users,
        }
    }

    /// Names and roles of every user and API key, for admins.
    pub fn principals(&self) -> Vec<(String, Role)> {
        let users = self.users.users.iter().map(|u| (u.name.clone(), u.role));
        let keys = self.users.api_keys.iter().map(|k| (k.name.clone(), k.role));
        users.chain(keys).collect()
    }

    /// Checks a user's password. Unknown users cost the same work as wrong passwords.
    pub fn check_password(&self, name: &str, password: &str) -> Option<(String, Role)> {
        let user = self.users.users.iter().find(|u| u.name == name);
        let hash = match user {
            Some(u) => u.password_hash.as_str(),
            None => dummy_hash()?,
        };
        let parsed = PasswordHash::new(hash).ok()?;
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        user.filter(|_| ok).map(|u| (u.name.clone(), u.role))
    }

    /// Checks an API key.
    pub fn check_api_key(&self, key: &str) -> Option<(String, Role)> {
        let digest = hash_api_key(key);
        self.users
            .api_keys
            .iter()
            .find(|k| k.key_sha256 == digest)
            .map(|k| (k.name.clone(), k.role))
    }

    /// Signs a token for `name` with `role`.
    pub fn issue(&self, name: &str, role: Role) -> Result<TokenResponse, ApiError> {
        let now = unix_now();
        let claims = Claims {
            sub: name.to_owned(),
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + self.ttl_seconds,
        };
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.keys.signing_kid.clone());
        let secret = &self.keys.keys[&self.keys.signing_kid];
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
        let kid = header.kid.ok_or_else(|| invalid("no key id"))?;
        let secret = self
            .keys
            .keys
            .get(&kid)
            .ok_or_else(|| invalid("unknown key id"))?;
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret), &validation)
            .map(|data| data.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::ExpiredSignature => invalid("expired"),
                    ErrorKind::InvalidAudience => invalid("wrong audience"),
                    ErrorKind::InvalidIssuer => invalid("wrong issuer"),
                    ErrorKind::InvalidSignature => invalid("bad signature"),
                    _ => invalid("rejected"),
                }
            })
    }
}

/// An argon2id hash of a random string, verified against when the user does not exist so that
/// response time does not reveal which user names exist.
fn dummy_hash() -> Option<&'static str> {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| random_token(16).and_then(|p| hash_password(&p)).ok())
        .as_deref()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The authenticated caller of a request. Extracting it fails with 401 when the bearer token is
/// missing or invalid; [`Caller::require`] fails with 403 when the role is too low.
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
    pub role: Role,
}

impl Caller {
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
        let claims = state.auth.verify(token.trim())?;
        Ok(Caller {
            name: claims.sub,
            role: claims.role,
        })
    }
}
