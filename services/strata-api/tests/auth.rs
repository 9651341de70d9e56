//! Authentication and roles against the real API on loopback: tokens, the role checks, the
//! auth matrix — every secured operation of the OpenAPI spec refuses every kind of bad token —
//! and revocation: deleted users and keys, and changed passwords, end the tokens issued before.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use common::{ADMIN_PASSWORD, dead_addr, start_api_with, temp_dir};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use strata_api::auth::Role;

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
    sign_as(Algorithm::HS256, Some("at+jwt"), kid, secret, claims)
}

fn sign_as(alg: Algorithm, typ: Option<&str>, kid: &str, secret: &str, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.typ = typ.map(str::to_owned);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

/// The claims of a real token, to sign altered copies of.
fn payload(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// `real` with `changes` applied (a null removes the claim).
fn altered(real: &Value, changes: Value) -> Value {
    let mut claims = real.clone();
    let map = claims.as_object_mut().expect("claims object");
    for (name, value) in changes.as_object().expect("changes object") {
        if value.is_null() {
            map.remove(name);
        } else {
            map.insert(name.clone(), value.clone());
        }
    }
    claims
}

/// The API with this test's keys and the given per-caller rate limit, in a temporary directory.
async fn api_with_rate_limit(per_second: &str, burst: &str) -> (tempfile::TempDir, common::Server) {
    let dir = temp_dir();
    let api = start_api_with(
        dead_addr().await,
        dir.path(),
        &[
            "--jwt-keys",
            KEYS,
            "--rate-limit-per-second",
            per_second,
            "--rate-limit-burst",
            burst,
        ],
    )
    .await;
    (dir, api)
}

async fn admin_token(http: &reqwest::Client, base: &str) -> String {
    common::sign_in(http, base, ADMIN_PASSWORD).await
}

/// Signs in as the bootstrap admin, then adds through the API a viewer user (`vera`) and a
/// trainer API key (`ci`), returning the admin's token and the key.
async fn add_principals(http: &reqwest::Client, base: &str) -> (String, String) {
    let admin = admin_token(http, base).await;
    let created = http
        .post(format!("{base}/v1/auth/users"))
        .bearer_auth(&admin)
        .json(&json!({"username": "vera", "password": VIEWER_PASSWORD, "role": "viewer"}))
        .send()
        .await
        .expect("POST /v1/auth/users");
    assert_eq!(created.status(), 201);
    assert_eq!(
        created.json::<Value>().await.expect("JSON"),
        json!({"name": "vera", "role": "viewer"})
    );
    let key = http
        .post(format!("{base}/v1/auth/api-keys"))
        .bearer_auth(&admin)
        .json(&json!({"name": "ci", "role": "trainer"}))
        .send()
        .await
        .expect("POST /v1/auth/api-keys");
    assert_eq!(key.status(), 201);
    let key: Value = key.json().await.expect("JSON");
    assert_eq!(
        (&key["name"], &key["role"]),
        (&json!("ci"), &json!("trainer"))
    );
    let key = key["api_key"]
        .as_str()
        .expect("the key, shown once")
        .to_owned();
    (admin, key)
}

const VIEWER_PASSWORD: &str = "viewer-pass-0123";

/// Sends `request`; its status and JSON body (null when there is none).
async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body)
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
    let api = start_api_with(dead_addr().await, dir.path(), &["--jwt-keys", KEYS]).await;
    let base = format!("http://{}", api.addr);
    let http = common::http();

    let (admin, key) = add_principals(&http, &base).await;
    let viewer = bearer(
        &http,
        &base,
        json!({"username": "vera", "password": VIEWER_PASSWORD}),
    )
    .await;
    let trainer = bearer(&http, &base, json!({"api_key": key})).await;

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
    assert_eq!(
        listed,
        json!([
            {"kind": "user", "name": "admin", "role": "admin"},
            {"kind": "user", "name": "vera", "role": "viewer"},
            {"kind": "api_key", "name": "ci", "role": "trainer"},
        ])
    );
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
    let old = sign("k1", OLD_SECRET, &payload(&admin));
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
    // Every bad token counts against this one address (rate limits key on the verified
    // principal only): under test here is authentication, not the limiter.
    let (_dir, api) = api_with_rate_limit("100000", "100000").await;
    let base = format!("http://{}", api.addr);
    let http = common::http();

    // Each bad token is the admin's real one with a single flaw.
    let real = payload(&admin_token(&http, &base).await);
    let b64 = |v: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "at+jwt", "kid": "k2"})),
        b64(&real)
    );
    let with = |changes: Value| sign("k2", SECRET, &altered(&real, changes));
    let bad_tokens: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("expired", Some(with(json!({"exp": now() - 3600})))),
        ("wrong audience", Some(with(json!({"aud": "someone-else"})))),
        ("wrong issuer", Some(with(json!({"iss": "someone-else"})))),
        (
            "bad signature",
            Some(sign(
                "k2",
                "a-completely-different-secret-of-32-bytes",
                &real,
            )),
        ),
        ("unknown kid", Some(sign("k9", SECRET, &real))),
        (
            "HS512",
            Some(sign_as(
                Algorithm::HS512,
                Some("at+jwt"),
                "k2",
                SECRET,
                &real,
            )),
        ),
        (
            "typ JWT (not an access token)",
            Some(sign_as(Algorithm::HS256, Some("JWT"), "k2", SECRET, &real)),
        ),
        (
            "no typ",
            Some(sign_as(Algorithm::HS256, None, "k2", SECRET, &real)),
        ),
        (
            "nbf in the future",
            Some(with(json!({"nbf": now() + 3600}))),
        ),
        (
            "issued in the future",
            Some(with(json!({"iat": now() + 3600, "exp": now() + 7200}))),
        ),
        (
            "lifetime beyond the server's",
            Some(with(json!({"iat": now(), "exp": now() + 30 * 86_400}))),
        ),
        ("alg none", Some(alg_none)),
        ("garbage", Some("not.a.jwt".to_owned())),
        (
            "stale credential",
            Some(with(json!({"cred": "0000000000000000"}))),
        ),
        ("unknown principal", Some(with(json!({"sub": "nobody"})))),
        (
            "user named as an API key",
            Some(with(json!({"kind": "api_key"}))),
        ),
        (
            "claims from before credential tags",
            Some(with(json!({"kind": null, "cred": null}))),
        ),
    ];
    // The unaltered token passes, so each refusal is for its one flaw.
    let me = http
        .get(format!("{base}/v1/auth/me"))
        .bearer_auth(sign("k2", SECRET, &real))
        .send()
        .await
        .expect("GET /v1/auth/me");
    assert_eq!(me.status(), 200);

    let spec = serde_json::to_value(strata_api::openapi()).expect("spec JSON");
    let mut secured = 0;
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if op.get("security").is_none() {
                continue;
            }
            secured += 1;
            let url = format!("{base}{}", path.replace(['{', '}'], ""));
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

#[tokio::test]
async fn production_mode_refuses_to_start_without_keys() {
    let dir = temp_dir();
    let db = format!("sqlite:{}/meta.db", dir.path().display());
    let config = strata_api::Config::parse_from(["strata-api", "--metadata-url", &db]);
    let err = strata_api::authenticator(&config)
        .await
        .expect_err("no keys, no --dev");
    assert!(err.to_string().contains("STRATA_JWT_KEYS"), "{err}");

    let short = strata_api::Config::parse_from([
        "strata-api",
        "--jwt-keys",
        "k:short",
        "--metadata-url",
        &db,
    ]);
    let err = strata_api::authenticator(&short)
        .await
        .expect_err("short secret");
    assert!(
        !err.to_string().contains("short"),
        "secrets never appear in errors: {err}"
    );

    let nowhere = strata_api::Config::parse_from([
        "strata-api",
        "--dev",
        "--metadata-url",
        "mysql://db/strata",
    ]);
    let err = strata_api::authenticator(&nowhere)
        .await
        .expect_err("unsupported database");
    assert!(err.to_string().contains("unsupported scheme"), "{err}");

    // Outside --dev, a first start must have a way to hand over the admin password that is not
    // the log, and a given one must not be trivially short.
    let keys = format!("k:{SECRET}");
    let silent =
        strata_api::Config::parse_from(["strata-api", "--jwt-keys", &keys, "--metadata-url", &db]);
    let err = strata_api::authenticator(&silent)
        .await
        .expect_err("no bootstrap password and no file");
    assert!(
        err.to_string().contains("STRATA_BOOTSTRAP_ADMIN_PASSWORD"),
        "{err}"
    );
    let weak = strata_api::Config::parse_from([
        "strata-api",
        "--jwt-keys",
        &keys,
        "--metadata-url",
        &db,
        "--bootstrap-admin-password",
        "admin",
    ]);
    let err = strata_api::authenticator(&weak)
        .await
        .expect_err("a five-character admin password");
    assert!(err.to_string().contains("at least 12"), "{err}");
    assert!(!err.to_string().contains("admin,"), "{err}");
}

#[tokio::test]
async fn first_start_creates_a_bootstrap_admin_once() {
    let dir = temp_dir();
    let url = format!("sqlite:{}/nested/meta.db", dir.path().display());
    let store = strata_meta::connect(&url).await.expect("store");
    let generated = strata_api::auth::bootstrap_admin(&store, None, None)
        .await
        .expect("bootstrap");
    let password = generated.expect("a generated password");
    let again = strata_api::auth::bootstrap_admin(&store, Some("ignored-password"), None)
        .await
        .expect("again");
    assert!(
        again.is_none(),
        "the password is shown only on the first start"
    );
    let auth = strata_api::auth::Authenticator::new(
        strata_api::auth::JwtKeys::parse(KEYS).expect("keys"),
        "strata".into(),
        "strata-api".into(),
        60,
        std::sync::Arc::new(store),
    );
    assert_eq!(
        auth.check_password("admin", &password)
            .await
            .expect("check")
            .map(|identity| identity.role),
        Some(Role::Admin)
    );
    assert!(
        auth.check_password("admin", "ignored-password")
            .await
            .expect("check")
            .is_none()
    );
    assert!(
        auth.check_password("nobody", &password)
            .await
            .expect("check")
            .is_none()
    );
}

/// Admins manage users and API keys; the last admin stays; a revoked key no longer signs in;
/// bad names and short passwords are 400s; nobody else may manage anything.
#[tokio::test]
async fn admins_manage_users_and_api_keys() {
    let dir = temp_dir();
    let api = start_api_with(dead_addr().await, dir.path(), &["--jwt-keys", KEYS]).await;
    let base = format!("http://{}", api.addr);
    let http = common::http();
    let (admin, key) = add_principals(&http, &base).await;
    let send = |method: reqwest::Method, path: &str, token: &str, body: Option<Value>| {
        let mut request = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request)
    };
    use reqwest::Method;

    let user = |name: &str, password: &str, role: &str| {
        Some(json!({"username": name, "password": password, "role": role}))
    };
    let (status, problem) = send(
        Method::POST,
        "/v1/auth/users",
        &admin,
        user("vera", VIEWER_PASSWORD, "admin"),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["type"], "https://strata.dev/problems/conflict");
    let (status, problem) = send(
        Method::POST,
        "/v1/auth/users",
        &admin,
        user("ann", "short", "viewer"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("password"),
        "{problem}"
    );
    let (status, _) = send(
        Method::POST,
        "/v1/auth/users",
        &admin,
        user("../x", VIEWER_PASSWORD, "viewer"),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = send(
        Method::POST,
        "/v1/auth/users",
        &admin,
        user("ann", VIEWER_PASSWORD, "root"),
    )
    .await;
    assert_eq!(status, 400, "an unknown role is malformed");

    // Only admins manage principals.
    let viewer = bearer(
        &http,
        &base,
        json!({"username": "vera", "password": VIEWER_PASSWORD}),
    )
    .await;
    let (status, _) = send(
        Method::POST,
        "/v1/auth/api-keys",
        &viewer,
        Some(json!({"name": "x", "role": "admin"})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = send(Method::DELETE, "/v1/auth/users/admin", &viewer, None).await;
    assert_eq!(status, 403);

    // The last admin stays; with a second admin the first may go.
    let (status, problem) = send(Method::DELETE, "/v1/auth/users/admin", &admin, None).await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("last admin")
    );
    let (status, _) = send(
        Method::POST,
        "/v1/auth/users",
        &admin,
        user("root2", "second-admin-pass", "admin"),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = send(Method::DELETE, "/v1/auth/users/vera", &admin, None).await;
    assert_eq!(status, 204);
    let (status, _) = send(Method::DELETE, "/v1/auth/users/vera", &admin, None).await;
    assert_eq!(status, 404);
    assert_eq!(
        token(
            &http,
            &base,
            json!({"username": "vera", "password": VIEWER_PASSWORD})
        )
        .await
        .status(),
        401,
        "a deleted user cannot sign in"
    );

    // Keys: a taken name is a conflict; a revoked key no longer signs in.
    let (status, _) = send(
        Method::POST,
        "/v1/auth/api-keys",
        &admin,
        Some(json!({"name": "ci", "role": "viewer"})),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(
        token(&http, &base, json!({"api_key": key})).await.status(),
        200
    );
    let (status, _) = send(Method::DELETE, "/v1/auth/api-keys/ci", &admin, None).await;
    assert_eq!(status, 204);
    assert_eq!(
        token(&http, &base, json!({"api_key": key})).await.status(),
        401
    );
    let (status, _) = send(Method::DELETE, "/v1/auth/api-keys/ci", &admin, None).await;
    assert_eq!(status, 404);
    api.stop().await;
}

/// Changing a password, deleting a user and revoking a key end the tokens issued before, at
/// once; users change their own password only with the current one, admins anyone's.
#[tokio::test]
async fn revocation_and_password_changes_end_old_tokens() {
    let dir = temp_dir();
    let api = start_api_with(dead_addr().await, dir.path(), &["--jwt-keys", KEYS]).await;
    let base = format!("http://{}", api.addr);
    let http = common::http();
    let (admin, key) = add_principals(&http, &base).await;
    let me = |token: String| answer(http.get(format!("{base}/v1/auth/me")).bearer_auth(token));
    let set_password = |token: &str, name: &str, body: Value| {
        answer(
            http.put(format!("{base}/v1/auth/users/{name}/password"))
                .bearer_auth(token)
                .json(&body),
        )
    };
    let sign_in = |password: &str| json!({"username": "vera", "password": password});

    let vera = bearer(&http, &base, sign_in(VIEWER_PASSWORD)).await;
    let new_password = "a-brand-new-passphrase";
    // One's own password: only with the right current one.
    let (status, problem) =
        set_password(&vera, "vera", json!({"new_password": new_password})).await;
    assert_eq!(status, 400, "{problem}");
    let (status, problem) = set_password(
        &vera,
        "vera",
        json!({"current_password": "not-the-password", "new_password": new_password}),
    )
    .await;
    assert_eq!(status, 403, "{problem}");
    let (status, problem) = set_password(
        &vera,
        "vera",
        json!({"current_password": VIEWER_PASSWORD, "new_password": "short"}),
    )
    .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(me(vera.clone()).await.0, 200, "refusals change nothing");
    let (status, problem) = set_password(
        &vera,
        "vera",
        json!({"current_password": VIEWER_PASSWORD, "new_password": new_password}),
    )
    .await;
    assert_eq!(status, 204, "{problem}");
    let (status, problem) = me(vera.clone()).await;
    assert_eq!(status, 401, "the old token is revoked");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("revoked"),
        "{problem}"
    );
    assert_eq!(
        token(&http, &base, sign_in(VIEWER_PASSWORD)).await.status(),
        401
    );
    let vera = bearer(&http, &base, sign_in(new_password)).await;
    assert_eq!(me(vera.clone()).await.0, 200);

    // Someone else's: admins only, without the current one.
    let (status, _) = set_password(
        &vera,
        "admin",
        json!({"current_password": ADMIN_PASSWORD, "new_password": new_password}),
    )
    .await;
    assert_eq!(status, 403, "a viewer cannot set the admin's password");
    let (status, _) = set_password(&admin, "nobody", json!({"new_password": new_password})).await;
    assert_eq!(status, 404);
    let (status, _) =
        set_password(&admin, "-not-a-name", json!({"new_password": new_password})).await;
    assert_eq!(status, 400);
    let reset = "reset-by-the-admin-1";
    let (status, problem) = set_password(&admin, "vera", json!({"new_password": reset})).await;
    assert_eq!(status, 204, "{problem}");
    assert_eq!(me(vera).await.0, 401, "a reset revokes too");
    assert_eq!(me(admin.clone()).await.0, 200, "other users' tokens stay");
    let vera = bearer(&http, &base, sign_in(reset)).await;

    // Deleting a user or revoking a key ends its tokens at once.
    let ci = bearer(&http, &base, json!({"api_key": key})).await;
    assert_eq!(
        me(ci.clone()).await,
        (200, json!({"name": "ci", "role": "trainer"}))
    );
    for path in ["/v1/auth/users/vera", "/v1/auth/api-keys/ci"] {
        let deleted = http
            .delete(format!("{base}{path}"))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("DELETE");
        assert_eq!(deleted.status(), 204, "{path}");
    }
    assert_eq!(me(vera).await.0, 401, "a deleted user's token");
    assert_eq!(me(ci).await.0, 401, "a revoked key's token");
    api.stop().await;
}

/// Two API replicas on one PostgreSQL share users and keys: what one creates, the other accepts.
#[tokio::test]
async fn replicas_on_postgres_share_users_and_keys() {
    let Some(pg) = strata_testkit::Postgres::start() else {
        return;
    };
    let url = pg.database();
    let (dir_a, dir_b) = (temp_dir(), temp_dir());
    let flags = ["--jwt-keys", KEYS, "--metadata-url", &url];
    let a = start_api_with(dead_addr().await, dir_a.path(), &flags).await;
    let b = start_api_with(dead_addr().await, dir_b.path(), &flags).await;
    let http = common::http();
    let (base_a, base_b) = (format!("http://{}", a.addr), format!("http://{}", b.addr));
    let (_, key) = add_principals(&http, &base_a).await;
    bearer(&http, &base_b, json!({"api_key": key})).await;
    bearer(
        &http,
        &base_b,
        json!({"username": "vera", "password": VIEWER_PASSWORD}),
    )
    .await;
    a.stop().await;
    b.stop().await;
}

/// Tokens and API keys are credentials: no cache may keep a response that carries one.
#[tokio::test]
async fn credential_responses_are_not_stored_by_caches() {
    let dir = temp_dir();
    let api = start_api_with(dead_addr().await, dir.path(), &["--jwt-keys", KEYS]).await;
    let base = format!("http://{}", api.addr);
    let http = common::http();
    let response = token(
        &http,
        &base,
        json!({"username": "admin", "password": ADMIN_PASSWORD}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let admin: Value = response.json().await.expect("token");
    let created = http
        .post(format!("{base}/v1/auth/api-keys"))
        .bearer_auth(admin["access_token"].as_str().expect("token"))
        .json(&json!({"name": "ci", "role": "trainer"}))
        .send()
        .await
        .expect("create key");
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["cache-control"], "no-store");
    api.stop().await;
}

/// Failed sign-ins back off per account and per address (429 with Retry-After naming the wait),
/// while the right password of another account from another address still works; password
/// checks run a few at a time, so a burst completes without exceeding memory.
#[tokio::test]
async fn failed_sign_ins_back_off_per_account_and_address() {
    let dir = temp_dir();
    let api = start_api_with(
        dead_addr().await,
        dir.path(),
        &[
            "--jwt-keys",
            KEYS,
            "--sign-in-free-failures",
            "3",
            "--client-ip-header",
            "x-forwarded-for",
            "--max-concurrent-password-checks",
            "2",
        ],
    )
    .await;
    let base = format!("http://{}", api.addr);
    let http = common::http();
    let attempt = |user: &str, password: &str, from: &str| {
        http.post(format!("{base}/v1/auth/token"))
            .header("x-forwarded-for", format!("198.51.100.7, {from}"))
            .json(&json!({"username": user, "password": password}))
            .send()
    };
    for _ in 0..4 {
        let r = attempt("admin", "wrong", "203.0.113.1")
            .await
            .expect("sign in");
        assert_eq!(
            r.status(),
            401,
            "three free failures, and the fourth is answered"
        );
    }
    // Another address, same account: the account's back-off holds, even for the right password.
    let r = attempt("admin", ADMIN_PASSWORD, "203.0.113.3")
        .await
        .expect("sign in");
    assert_eq!(r.status(), 429, "the account waits now");
    assert!(r.headers().contains_key("retry-after"));
    let problem: Value = r.json().await.expect("problem");
    assert_eq!(problem["type"], "https://strata.dev/problems/rate-limited");

    // The first address is past its free failures on `admin`; other accounts from it wait too.
    let r = attempt("nobody", "wrong", "203.0.113.1")
        .await
        .expect("sign in");
    assert_eq!(r.status(), 429, "the address waits");

    // After the wait (1 s for the first failure over the free ones), the right password works
    // and clears the account.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = attempt("admin", ADMIN_PASSWORD, "203.0.113.9")
        .await
        .expect("sign in");
    assert_eq!(r.status(), 200, "{:?}", r.text().await);

    // A burst of concurrent checks through two permits all answer.
    let burst = (0..8).map(|i| {
        let http = http.clone();
        let base = base.clone();
        async move {
            http.post(format!("{base}/v1/auth/token"))
                .header("x-forwarded-for", format!("192.0.2.{i}"))
                .json(&json!({"username": format!("u{i}"), "password": "wrong"}))
                .send()
                .await
                .expect("sign in")
                .status()
        }
    });
    for status in futures_util::future::join_all(burst).await {
        assert_eq!(status, 401);
    }
    api.stop().await;
}

/// The limiter keys on who the caller is, not on what they send: junk tokens share their
/// address's bucket, a valid token has its principal's, and an oversized header is refused.
#[tokio::test]
async fn rate_limits_key_on_the_verified_principal_or_the_address() {
    let (_dir, api) = api_with_rate_limit("1", "5").await;
    let base = format!("http://{}", api.addr);
    let http = common::http();
    let admin = admin_token(&http, &base).await;
    let mut limited = 0;
    for i in 0..12 {
        let r = http
            .get(format!("{base}/v1/auth/me"))
            .bearer_auth(format!("junk-{i}"))
            .send()
            .await
            .expect("request");
        if r.status() == 429 {
            limited += 1;
        } else {
            assert_eq!(r.status(), 401);
        }
    }
    assert!(
        limited >= 5,
        "new junk tokens do not buy new buckets ({limited} limited)"
    );
    let me = http
        .get(format!("{base}/v1/auth/me"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), 200, "the admin's own bucket is untouched");
    let huge = http
        .get(format!("{base}/v1/auth/me"))
        .bearer_auth("x".repeat(8 * 1024))
        .send()
        .await
        .expect("request");
    assert_eq!(huge.status(), 400);
    api.stop().await;
}
