//! The caller token: how one strata process tells another who a request is for.
//!
//! The web API authenticates people and API keys; the ML service must still know who asked, to
//! log and authorise it, and must refuse anyone who is not the API. So the API signs, for every
//! call, a short-lived token for the ML service's audience naming the principal and its role
//! (or the API itself, for its own calls), and the ML service verifies it. Process-to-process
//! identity, not HTTP or models, so it lives here with the other process plumbing. HMAC keys in
//! the `kid:secret[,kid:secret...]` form the API's own token keys use, so rotation works the same.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The audience of caller tokens.
pub const AUDIENCE: &str = "strata-ml";
/// Their issuer.
pub const ISSUER: &str = "strata-api";
/// Their JOSE `typ`, so no other token of ours (an access token) is ever taken for one.
pub const TOKEN_TYPE: &str = "strata-caller+jwt";
/// How long a signed token lasts; longer-lived ones are refused.
pub const LIFETIME_SECS: u64 = 60;
/// Shortest accepted secret.
pub const MIN_SECRET_BYTES: usize = 32;
/// The principal name of the API's own calls (demo content, readiness).
pub const SERVICE_PRINCIPAL: &str = "service:strata-api";
const LEEWAY_SECS: u64 = 5;
const ALGORITHM: Algorithm = Algorithm::HS256;

/// What a caller may do, in increasing order (the web API's roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallerRole {
    Viewer,
    Trainer,
    Admin,
}

/// The claims of a caller token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerClaims {
    /// The principal: a user name, `key:<name>` for an API key, or [`SERVICE_PRINCIPAL`].
    pub sub: String,
    pub role: CallerRole,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
}

/// A `kid:secret[,kid:secret...]` list that does not parse; never shows a secret.
#[derive(Debug, thiserror::Error)]
pub enum KeySpecError {
    #[error(
        "invalid key entry {0:?}: expected kid:secret with a secret of at least {MIN_SECRET_BYTES} bytes"
    )]
    Invalid(String),
    #[error("no key given")]
    Missing,
}

/// HMAC secrets by key id, as both the web API's access tokens and caller tokens use them: the
/// first signs new tokens, all verify, so a key rotates out by first adding the new one in front.
#[derive(Clone)]
pub struct HmacKeys {
    signing: String,
    keys: BTreeMap<String, Vec<u8>>,
}

impl std::fmt::Debug for HmacKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets.
        f.debug_struct("HmacKeys")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl HmacKeys {
    /// Parses `kid:secret[,kid:secret...]`, secrets of at least [`MIN_SECRET_BYTES`].
    pub fn parse(spec: &str) -> Result<Self, KeySpecError> {
        let mut keys = BTreeMap::new();
        let mut signing = None;
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (kid, secret) = entry
                .split_once(':')
                .filter(|(k, s)| !k.is_empty() && s.len() >= MIN_SECRET_BYTES)
                .ok_or_else(|| {
                    KeySpecError::Invalid(entry.split_once(':').map_or_else(
                        || "<no kid>".to_owned(),
                        |(kid, _)| format!("{kid}:<redacted>"),
                    ))
                })?;
            signing.get_or_insert_with(|| kid.to_owned());
            keys.insert(kid.to_owned(), secret.as_bytes().to_vec());
        }
        let signing = signing.ok_or(KeySpecError::Missing)?;
        Ok(HmacKeys { signing, keys })
    }

    /// One key, e.g. a random one made at start.
    pub fn single(kid: &str, secret: Vec<u8>) -> Self {
        HmacKeys {
            signing: kid.to_owned(),
            keys: BTreeMap::from([(kid.to_owned(), secret)]),
        }
    }

    /// The id of the key that signs.
    pub fn signing_kid(&self) -> &str {
        &self.signing
    }

    /// The secret that signs.
    pub fn signing_secret(&self) -> &[u8] {
        &self.keys[&self.signing]
    }

    /// The secret of key `kid`, if it is one of these.
    pub fn secret(&self, kid: &str) -> Option<&[u8]> {
        self.keys.get(kid).map(Vec::as_slice)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CallerTokenError {
    #[error("caller keys: {0}")]
    Keys(#[from] KeySpecError),
    #[error("cannot sign a caller token: {0}")]
    Sign(String),
    #[error("caller token refused: {0}")]
    Refused(&'static str),
}

/// Caller-token keys by `kid`; the first signs, all verify.
#[derive(Debug, Clone)]
pub struct CallerKeys(HmacKeys);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl CallerKeys {
    /// `kid:secret[,kid:secret...]`; the errors never show a secret.
    pub fn parse(spec: &str) -> Result<Self, CallerTokenError> {
        Ok(CallerKeys(HmacKeys::parse(spec)?))
    }

    /// A token for `sub` acting with `role`, valid for [`LIFETIME_SECS`].
    pub fn sign(&self, sub: &str, role: CallerRole) -> Result<String, CallerTokenError> {
        let iat = now();
        let claims = CallerClaims {
            sub: sub.to_owned(),
            role,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat,
            exp: iat + LIFETIME_SECS,
        };
        let mut header = Header::new(ALGORITHM);
        header.typ = Some(TOKEN_TYPE.to_owned());
        header.kid = Some(self.0.signing_kid().to_owned());
        jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(self.0.signing_secret()),
        )
        .map_err(|e| CallerTokenError::Sign(e.to_string()))
    }

    /// The claims of a token this key set signed, for the ML audience, unexpired, not from the
    /// future and not longer-lived than [`LIFETIME_SECS`].
    pub fn verify(&self, token: &str) -> Result<CallerClaims, CallerTokenError> {
        let refused = CallerTokenError::Refused;
        let header = jsonwebtoken::decode_header(token).map_err(|_| refused("malformed"))?;
        if header.alg != ALGORITHM {
            return Err(refused("algorithm not accepted"));
        }
        if header.typ.as_deref() != Some(TOKEN_TYPE) {
            return Err(refused("not a caller token (typ)"));
        }
        let kid = header.kid.ok_or(refused("no key id"))?;
        let secret = self.0.secret(&kid).ok_or(refused("unknown key id"))?;
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        let claims = jsonwebtoken::decode::<CallerClaims>(
            token,
            &DecodingKey::from_secret(secret),
            &validation,
        )
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => refused("expired"),
            jsonwebtoken::errors::ErrorKind::InvalidSignature => refused("bad signature"),
            _ => refused("invalid claims"),
        })?
        .claims;
        if claims.iat > now() + LEEWAY_SECS {
            return Err(refused("issued in the future"));
        }
        if claims.exp.saturating_sub(claims.iat) > LIFETIME_SECS + LEEWAY_SECS {
            return Err(refused("lifetime too long"));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &str =
        "c2:caller-secret-of-at-least-32-bytes-long!,c1:an-older-caller-secret-still-verifying";

    #[test]
    fn signs_and_verifies_and_refuses_other_keys_and_types() {
        let keys = CallerKeys::parse(KEYS).expect("keys");
        let token = keys.sign("ada", CallerRole::Trainer).expect("sign");
        let claims = keys.verify(&token).expect("verify");
        assert_eq!(
            (claims.sub.as_str(), claims.role),
            ("ada", CallerRole::Trainer)
        );
        let other =
            CallerKeys::parse("c2:a-completely-different-secret-of-32-bytes").expect("keys");
        assert!(
            other.verify(&token).is_err(),
            "another secret under the same kid"
        );
        assert!(keys.verify("not.a.token").is_err());
        // An access token of the API (typ at+jwt) signed with the same secret is not a caller token.
        let mut header = Header::new(ALGORITHM);
        header.typ = Some("at+jwt".into());
        header.kid = Some("c2".into());
        let claims = CallerClaims {
            sub: "ada".into(),
            role: CallerRole::Admin,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now(),
            exp: now() + 30,
        };
        let access = jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(b"caller-secret-of-at-least-32-bytes-long!"),
        )
        .expect("sign");
        assert!(keys.verify(&access).is_err());
    }

    #[test]
    fn short_or_malformed_keys_are_refused_without_showing_them() {
        for spec in [
            "",
            "c1:short",
            "no-colon-here-but-long-enough-to-be-a-secret",
            ":x",
        ] {
            let err = CallerKeys::parse(spec).expect_err(spec);
            assert!(!err.to_string().contains("short"), "{err}");
        }
    }

    #[test]
    fn roles_are_ordered() {
        assert!(
            CallerRole::Viewer < CallerRole::Trainer && CallerRole::Trainer < CallerRole::Admin
        );
    }
}
