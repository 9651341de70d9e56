//! Authentication and roles against the real API on loopback: tokens, the role checks, and the
//! auth matrix — every secured operation of the OpenAPI spec refuses every kind of bad token.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use common::{ADMIN_PASSWORD, dead_addr, start_api_with, temp_dir};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use strata_api::auth::{ApiKeyRecord, Role, UserRecord, UsersFile, hash_api_key, hash_password};

const SECRET: &str = "test-signing-secret-of-at-least-32-bytes!";
const OLD_SECRET: &str = "an-older-key-still-accepted-for-rotation!";
const KEYS: &str =
    "k2:test-signing-secret-of-at-least-32-bytes!,k1:an-older-key-still-accepted-for-rotation!";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

fn sign(kid: &str, secret: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

fn claims(aud: &str, exp: u64) -> Value {
    json!({"sub": "admin", "role": "admin", "iss": "strata", "aud": aud, "iat": now(), "exp": exp})
}

/// Writes a users file with the admin, a viewer and a trainer API key before the API starts.
fn write_users(dir: &std::path::Path) {
    let users = UsersFile {
        users: vec![
            UserRecord {
                name: "admin".into(),
                password_hash: hash_password(ADMIN_PASSWORD).expect("hash"),
                role: Role::Admin,
            },
            UserRecord {
                name: "vera".into(),
                password_hash: hash_password("viewer-pass").expect("hash"),
                role: Role::Viewer,
            },
        ],
        api_keys: vec![ApiKeyRecord {
            name: "ci".into(),
            key_sha256: hash_api_key("sk-test-trainer"),
            role: Role::Trainer,
        }],
    };
    std::fs::write(
        dir.join("users.json"),
        serde_json::to_vec(&users).expect("json"),
    )
    .expect("write users");
}

async fn token(http: &reqwest::Client, base: &str, body: Value) -> reqwest::Response {
    http.post(format!("{base}/v1/auth/token"))
        .json(&body)
        .send()
        .await
        .expect("POST /v1/auth/token")
}

async fn bearer(http: &reqwest::Client, base: &str, body: Value) -> String {
    let response = token(http, base, body).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("token JSON");
    assert_eq!(body["token_type"], "Bearer");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

#[tokio::test]
async fn tokens_identify_callers_and_roles_are_enforced() {
    let dir = temp_dir();
    write_users(dir.path());
    let api = start_api_with(dead_addr().await, dir.path(), &["--jwt-keys", KEYS]).await;
    let base = format!("http://{}", api.addr);
    let http = common::http();

    let admin = bearer(
        &http,
        &base,
        json!({"username": "admin", "password": ADMIN_PASSWORD}),
    )
    .await;
    let viewer = bearer(
        &http,
        &base,
        json!({"username": "vera", "password": "viewer-pass"}),
    )
    .await;
    let trainer = bearer(&http, &base, json!({"api_key": "sk-test-trainer"})).await;

    // New tokens carry the first key's kid.
    assert_eq!(
        jsonwebtoken::decode_header(&admin)
            .expect("header")
            .kid
            .as_deref(),
        Some("k2")
    );

    for (token, name, role) in [
        (&admin, "admin", "admin"),
        (&viewer, "vera", "viewer"),
        (&trainer, "ci", "trainer"),
    ] {
        let me: Value = http
            .get(format!("{base}/v1/auth/me"))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET /v1/auth/me")
            .json()
            .await
            .expect("me JSON");
        assert_eq!(me, json!({"name": name, "role": role}));
    }

    let listed = http
        .get(format!("{base}/v1/auth/principals"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("admin lists");
    assert_eq!(listed.status(), 200);
    let listed: Value = listed.json().await.expect("JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(3));
    assert!(
        !listed.to_string().contains("argon2"),
        "hashes never leave the server"
    );

    for token in [&viewer, &trainer] {
        let refused = http
            .get(format!("{base}/v1/auth/principals"))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        assert_eq!(refused.status(), 403);
        assert_eq!(
            refused.headers()["content-type"],
            "application/problem+json"
        );
    }

    // A token signed with the older, still listed key verifies (rotation).
    let old = sign("k1", OLD_SECRET, &claims("strata-api", now() + 60));
    let me = http
        .get(format!("{base}/v1/auth/me"))
        .bearer_auth(&old)
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), 200);
    api.stop().await;
}

#[tokio::test]
async fn bad_credentials_and_bodies_are_clear_4xx() {
    let dir = temp_dir();
    let api = start_api_with(dead_addr().await, dir.path(), &["--jwt-keys", KEYS]).await;
    let base = format!("http://{}", api.addr);
    let http = common::http();

    for body in [
        json!({"username": "admin", "password": "wrong"}),
        json!({"username": "nobody", "password": "wrong"}),
        json!({"api_key": "sk-unknown"}),
    ] {
        let response = token(&http, &base, body.clone()).await;
        assert_eq!(response.status(), 401, "{body}");
        assert!(response.headers().contains_key("www-authenticate"));
        let problem: Value = response.json().await.expect("problem");
        assert_eq!(
            problem["type"],
            "https://strata.dev/problems/unauthenticated"
        );
    }

    for raw in ["{not json", r#"{"username": 3}"#, "[]"] {
        let response = http
            .post(format!("{base}/v1/auth/token"))
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 400, "{raw}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{raw}"
        );
    }
    api.stop().await;
}

#[tokio::test]
async fn every_secured_operation_refuses_every_bad_token() {
    let dir = temp_dir();
    let api = start_api_with(dead_addr().await, dir.path(), &["--jwt-keys", KEYS]).await;
    let base = format!("http://{}", api.addr);
    let http = common::http();

    let b64 = |v: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": "k2"})),
        b64(&claims("strata-api", now() + 60))
    );
    let bad_tokens: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        (
            "expired",
            Some(sign("k2", SECRET, &claims("strata-api", now() - 3600))),
        ),
        (
            "wrong audience",
            Some(sign("k2", SECRET, &claims("someone-else", now() + 60))),
        ),
        (
            "bad signature",
            Some(sign(
                "k2",
                "a-completely-different-secret-of-32-bytes",
                &claims("strata-api", now() + 60),
            )),
        ),
        (
            "unknown kid",
            Some(sign("k9", SECRET, &claims("strata-api", now() + 60))),
        ),
        ("alg none", Some(alg_none)),
        ("garbage", Some("not.a.jwt".to_owned())),
    ];

    let spec = serde_json::to_value(strata_api::openapi()).expect("spec JSON");
    let mut secured = 0;
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if op.get("security").is_none() {
                continue;
            }
            secured += 1;
            let url = format!("{base}{}", path.replace('{', "").replace('}', ""));
            let method =
                reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            for (what, token) in &bad_tokens {
                let mut request = http.request(method.clone(), &url).json(&json!({}));
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await.expect("request");
                assert_eq!(
                    response.status(),
                    401,
                    "{method} {path} with a {what} token"
                );
                assert_eq!(
                    response.headers()["content-type"],
                    "application/problem+json",
                    "{method} {path} {what}"
                );
            }
        }
    }
    assert!(
        secured >= 2,
        "the spec marks its secured operations ({secured} found)"
    );
    api.stop().await;
}

#[test]
fn production_mode_refuses_to_start_without_keys() {
    let dir = temp_dir();
    let users = dir.path().join("users.json");
    let config = strata_api::Config::parse_from([
        "strata-api",
        "--users-file",
        users.to_str().expect("utf-8"),
    ]);
    let err = strata_api::authenticator(&config).expect_err("no keys, no --dev");
    assert!(err.to_string().contains("STRATA_JWT_KEYS"), "{err}");

    let short = strata_api::Config::parse_from([
        "strata-api",
        "--jwt-keys",
        "k:short",
        "--users-file",
        users.to_str().expect("utf-8"),
    ]);
    let err = strata_api::authenticator(&short).expect_err("short secret");
    assert!(
        !err.to_string().contains("short"),
        "secrets never appear in errors: {err}"
    );
}

#[test]
fn first_start_creates_a_bootstrap_admin_once() {
    let dir = temp_dir();
    let users = dir.path().join("nested/users.json");
    let (file, generated) = strata_api::auth::load_or_bootstrap(&users, None).expect("bootstrap");
    let password = generated.expect("a generated password");
    assert_eq!(file.users.len(), 1);
    assert!(file.users[0].password_hash.starts_with("$argon2id$"));
    let (_, again) = strata_api::auth::load_or_bootstrap(&users, None).expect("reload");
    assert!(
        again.is_none(),
        "the password is shown only on the first start"
    );
    let auth = strata_api::auth::Authenticator::new(
        strata_api::auth::JwtKeys::parse(KEYS).expect("keys"),
        "strata".into(),
        "strata-api".into(),
        60,
        file,
    );
    assert_eq!(
        auth.check_password("admin", &password).map(|(_, r)| r),
        Some(Role::Admin)
    );
    assert!(auth.check_password("admin", "guess").is_none());
}
