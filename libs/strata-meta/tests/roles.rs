//! The ML service's own PostgreSQL role (`strata_ml`, migration 0003): once the schema's owner
//! has migrated, it runs the job queue and the aliases, and the database refuses it the web
//! API's users and API keys. On a real cluster started on loopback by strata-testkit.

use std::time::Duration;

use sqlx::Executor;
use strata_meta::{ApiKeyRow, JobRow, JobStatus, MetadataStore, UserRow, connect};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ml_role_runs_jobs_and_aliases_but_cannot_touch_users_or_api_keys() {
    let Some(pg) = strata_testkit::Postgres::start() else {
        return;
    };
    let owner_url = pg.database();
    let db = owner_url
        .rsplit('/')
        .next()
        .expect("database name")
        .to_owned();
    let ml_url = format!("postgres://strata_ml@127.0.0.1:{}/{db}", pg.port());

    // The deployment creates the role (the dev database's initdb script does); trust
    // authentication here, a password there.
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&owner_url)
        .await
        .expect("connect as owner");
    admin
        .execute("CREATE ROLE strata_ml LOGIN")
        .await
        .expect("create role");

    // Before the owner migrated, the ML role cannot create the schema.
    assert!(
        connect(&ml_url).await.is_err(),
        "the ML role must not be able to create tables"
    );

    let owner = connect(&owner_url).await.expect("the owner migrates");
    owner
        .create_user(&UserRow {
            name: "admin".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            role: "admin".into(),
            created_ms: 1,
        })
        .await
        .expect("owner writes users");

    let ml = connect(&ml_url)
        .await
        .expect("the ML role starts on a migrated schema");
    let job = JobRow {
        id: "job-1".into(),
        status: JobStatus::Queued,
        model_name: "m".into(),
        record: b"record".to_vec(),
    };
    ml.create_job(&job, b"queued", 1).await.expect("create job");
    let claimed = ml
        .claim("replica-1", Duration::from_secs(60))
        .await
        .expect("claim")
        .expect("a job");
    ml.renew(&claimed.lease, Duration::from_secs(60))
        .await
        .expect("renew");
    assert_eq!(ml.events("job-1", 0).await.expect("events").len(), 1);
    ml.set_alias("m", "production", "v1").await.expect("alias");
    assert_eq!(ml.aliases("m").await.expect("aliases").len(), 1);

    assert!(ml.users().await.is_err(), "read users");
    assert!(ml.user("admin").await.is_err(), "read a user");
    assert!(
        ml.create_user(&UserRow {
            name: "intruder".into(),
            password_hash: "x".into(),
            role: "admin".into(),
            created_ms: 2,
        })
        .await
        .is_err(),
        "write users"
    );
    assert!(
        ml.set_user_password("admin", "x").await.is_err(),
        "change a password"
    );
    assert!(ml.api_keys().await.is_err(), "read API keys");
    assert!(
        ml.create_api_key(&ApiKeyRow {
            name: "k".into(),
            key_sha256: "00".into(),
            role: "admin".into(),
            created_ms: 2,
        })
        .await
        .is_err(),
        "write API keys"
    );
    assert_eq!(owner.users().await.expect("users").len(), 1);
}
