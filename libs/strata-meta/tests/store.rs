//! One suite, two backends: every scenario runs on SQLite (a file in a temp dir) and on a real
//! PostgreSQL cluster started on loopback by strata-testkit, each on a fresh database.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use strata_meta::{
    ApiKeyRow, EventRow, JobRow, JobStatus, MetaError, MetadataStore, Renewal, SqlMetadataStore,
    UserDeletion, UserRow, connect,
};

fn job(id: &str, model: &str) -> JobRow {
    JobRow {
        id: id.into(),
        status: JobStatus::Queued,
        model_name: model.into(),
        record: format!("record of {id}").into_bytes(),
    }
}

async fn create(store: &SqlMetadataStore, id: &str, model: &str) {
    store
        .create_job(&job(id, model), b"queued", 1000)
        .await
        .expect("create job");
}

const LONG: Duration = Duration::from_secs(60);

async fn jobs_and_events_round_trip(url: String) {
    let store = connect(&url).await.expect("connect");
    for (id, model) in [("job-1", "a"), ("job-2", "b"), ("job-3", "a")] {
        create(&store, id, model).await;
    }
    let got = store.job("job-2").await.expect("get").expect("exists");
    assert_eq!(got, job("job-2", "b"));
    assert_eq!(store.job("nope").await.expect("get"), None);
    let ids = |rows: Vec<JobRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.jobs(None, None).await.expect("list")),
        ["job-3", "job-2", "job-1"]
    );
    assert_eq!(
        ids(store.jobs(None, Some("a")).await.expect("list")),
        ["job-3", "job-1"]
    );
    assert!(matches!(
        store.create_job(&job("job-1", "a"), b"again", 1000).await,
        Err(MetaError::AlreadyExists(_))
    ));

    let claimed = store
        .claim("r1", LONG)
        .await
        .expect("claim")
        .expect("a job");
    assert_eq!(claimed.row.id, "job-1", "the oldest job first");
    let seqs = store
        .record(
            &claimed.lease,
            JobStatus::Running,
            b"running",
            &[b"started".to_vec(), b"progress".to_vec()],
        )
        .await
        .expect("record");
    assert_eq!(seqs, [2, 3]);
    let events = store.events("job-1", 1).await.expect("events");
    assert_eq!(
        events,
        [
            EventRow {
                sequence: 2,
                body: b"started".to_vec()
            },
            EventRow {
                sequence: 3,
                body: b"progress".to_vec()
            }
        ]
    );
    assert_eq!(store.events("job-1", 0).await.expect("events").len(), 3);
    let running = store
        .jobs(Some(JobStatus::Running), None)
        .await
        .expect("list");
    assert_eq!(ids(running), ["job-1"]);
    let counts = store.count_by_status().await.expect("counts");
    assert_eq!(
        counts,
        BTreeMap::from([(JobStatus::Queued, 2), (JobStatus::Running, 1)])
    );
}

async fn the_queue_is_bounded(url: String) {
    let store = connect(&url).await.expect("connect");
    for i in 0..3 {
        store
            .create_job(&job(&format!("job-{i}"), "m"), b"q", 3)
            .await
            .expect("below the limit");
    }
    assert!(matches!(
        store.create_job(&job("job-9", "m"), b"q", 3).await,
        Err(MetaError::QueueFull(3))
    ));
    // A claimed job no longer waits, so there is room again.
    store.claim("r1", LONG).await.expect("claim").expect("job");
    store
        .create_job(&job("job-9", "m"), b"q", 3)
        .await
        .expect("room after a claim");
}

async fn concurrent_claims_take_each_job_exactly_once(url: String) {
    let store = Arc::new(connect(&url).await.expect("connect"));
    for i in 0..24 {
        create(&store, &format!("job-{i:02}"), "m").await;
    }
    let mut tasks = Vec::new();
    for r in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(c) = store.claim(&format!("r{r}"), LONG).await.expect("claim") {
                assert_eq!(c.lease.attempt, 1);
                mine.push(c.row.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("claimer"));
    }
    let unique: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), 24, "{all:?}");
    assert_eq!(unique.len(), 24, "a job was claimed twice: {all:?}");
}

async fn an_expired_lease_moves_the_job_and_fences_the_old_holder(url: String) {
    let store = connect(&url).await.expect("connect");
    create(&store, "job-1", "m").await;
    let first = store
        .claim("r1", Duration::from_millis(300))
        .await
        .expect("claim")
        .expect("job");
    assert!(!first.resumed());
    assert_eq!(
        store
            .renew(&first.lease, Duration::from_millis(300))
            .await
            .expect("renew"),
        Renewal::Held {
            cancel_requested: false
        }
    );
    // Held: nobody else gets it.
    assert!(store.claim("r2", LONG).await.expect("claim").is_none());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let second = store
        .claim("r2", LONG)
        .await
        .expect("claim")
        .expect("expired");
    assert!(second.resumed());
    assert_eq!(second.lease.attempt, 2);
    // The old holder can neither renew nor write.
    assert_eq!(
        store.renew(&first.lease, LONG).await.expect("renew"),
        Renewal::Lost
    );
    assert!(matches!(
        store
            .record(
                &first.lease,
                JobStatus::Succeeded,
                b"late",
                &[b"x".to_vec()]
            )
            .await,
        Err(MetaError::LeaseLost(_))
    ));
    // A restart of r2 under the same name hands its jobs back at once.
    assert_eq!(store.expire_leases("r2").await.expect("expire"), 1);
    assert!(
        store
            .record(&second.lease, JobStatus::Running, b"still", &[])
            .await
            .is_ok(),
        "expiring does not take the job away by itself"
    );
    let third = store
        .claim("r2", LONG)
        .await
        .expect("claim")
        .expect("expired");
    assert_eq!(third.lease.attempt, 3);
    assert!(matches!(
        store
            .record(&second.lease, JobStatus::Running, b"old", &[])
            .await,
        Err(MetaError::LeaseLost(_))
    ));
    let second = third;
    store
        .record(
            &second.lease,
            JobStatus::Succeeded,
            b"done",
            &[b"ok".to_vec()],
        )
        .await
        .expect("the holder finishes");
    let done = store.job("job-1").await.expect("get").expect("job");
    assert_eq!(
        (done.status, done.record.as_slice()),
        (JobStatus::Succeeded, &b"done"[..])
    );
    // Finished: released, and never claimable again; no second finish either.
    assert!(
        store
            .claim("r3", Duration::ZERO)
            .await
            .expect("claim")
            .is_none()
    );
    assert!(matches!(
        store
            .record(&second.lease, JobStatus::Failed, b"twice", &[])
            .await,
        Err(MetaError::LeaseLost(_))
    ));
    assert_eq!(store.events("job-1", 0).await.expect("events").len(), 2);
}

async fn a_requeued_job_is_claimable_at_once(url: String) {
    let store = connect(&url).await.expect("connect");
    create(&store, "job-1", "m").await;
    let c = store.claim("r1", LONG).await.expect("claim").expect("job");
    store
        .record(
            &c.lease,
            JobStatus::Queued,
            b"checkpointed",
            &[b"requeued".to_vec()],
        )
        .await
        .expect("requeue");
    let again = store.claim("r2", LONG).await.expect("claim").expect("job");
    assert_eq!(again.row.record, b"checkpointed");
    assert_eq!(again.lease.attempt, 2);
    assert!(!again.resumed(), "requeued, not taken over");
}

async fn cancellation_happens_once(url: String) {
    let store = connect(&url).await.expect("connect");
    create(&store, "queued", "m").await;
    create(&store, "running", "m").await;
    let c = store.claim("r1", LONG).await.expect("claim").expect("job");
    assert_eq!(c.row.id, "queued");
    store
        .record(&c.lease, JobStatus::Queued, b"back", &[])
        .await
        .expect("requeue");
    // Two cancellers race on the queued job: exactly one transition.
    let (a, b) = tokio::join!(
        store.transition(
            "queued",
            JobStatus::Queued,
            JobStatus::Cancelled,
            b"c1",
            b"e1"
        ),
        store.transition(
            "queued",
            JobStatus::Queued,
            JobStatus::Cancelled,
            b"c2",
            b"e2"
        ),
    );
    let (a, b) = (a.expect("cancel"), b.expect("cancel"));
    assert_eq!(a.is_some() as u8 + b.is_some() as u8, 1, "{a:?} {b:?}");
    assert!(
        store
            .claim("r1", LONG)
            .await
            .expect("claim")
            .is_some_and(|c| c.row.id == "running")
    );

    // A running job is flagged; its holder learns it when renewing.
    let running = store.job("running").await.expect("get").expect("job");
    assert_eq!(running.status, JobStatus::Running);
    assert_eq!(
        store.request_cancel("running").await.expect("flag"),
        JobStatus::Running
    );
    assert_eq!(
        store.request_cancel("queued").await.expect("ended"),
        JobStatus::Cancelled
    );
    assert!(matches!(
        store.request_cancel("missing").await,
        Err(MetaError::NotFound(_))
    ));
    let lease = strata_meta::Lease {
        job_id: "running".into(),
        owner: "r1".into(),
        attempt: 1,
    };
    assert_eq!(
        store
            .renew(&lease, Duration::from_millis(1))
            .await
            .expect("renew"),
        Renewal::Held {
            cancel_requested: true
        }
    );
    // If the holder dies instead, the next claimer sees the request.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let next = store
        .claim("r2", LONG)
        .await
        .expect("claim")
        .expect("expired");
    assert!(next.cancel_requested && next.resumed());
}

async fn aliases_move_and_stay_per_model(url: String) {
    let store = connect(&url).await.expect("connect");
    store
        .set_alias("digits", "production", "v1")
        .await
        .expect("set");
    store
        .set_alias("digits", "staging", "v2")
        .await
        .expect("set");
    store
        .set_alias("other", "production", "v7")
        .await
        .expect("set");
    store
        .set_alias("digits", "production", "v2")
        .await
        .expect("move");
    assert_eq!(
        store.aliases("digits").await.expect("aliases"),
        BTreeMap::from([
            ("production".into(), "v2".into()),
            ("staging".into(), "v2".into())
        ])
    );
    assert!(
        store
            .delete_alias("digits", "staging")
            .await
            .expect("delete")
    );
    assert!(!store.delete_alias("digits", "staging").await.expect("gone"));
    assert_eq!(store.aliases("digits").await.expect("aliases").len(), 1);
    assert_eq!(
        store.aliases("other").await.expect("aliases")["production"],
        "v7"
    );
    assert!(store.aliases("none").await.expect("aliases").is_empty());
}

async fn reconnecting_keeps_data_and_migrations_run_once(url: String) {
    let store = connect(&url).await.expect("connect");
    create(&store, "job-1", "m").await;
    store.close().await;
    let (a, b) = tokio::join!(connect(&url), connect(&url));
    let (a, b) = (a.expect("reconnect"), b.expect("reconnect"));
    assert!(a.job("job-1").await.expect("get").is_some());
    assert_eq!(b.jobs(None, None).await.expect("list").len(), 1);
}

fn user(name: &str, role: &str) -> UserRow {
    UserRow {
        name: name.into(),
        password_hash: format!("$argon2id$hash-of-{name}"),
        role: role.into(),
        created_ms: 1_700_000_000_000,
    }
}

async fn users_and_api_keys(url: String) {
    let store = Arc::new(connect(&url).await.expect("connect"));
    // Two API replicas bootstrapping the same admin at once: exactly one creates it.
    let mut rival = user("admin", "admin");
    rival.password_hash = "rival".into();
    let first = user("admin", "admin");
    let (a, b) = tokio::join!(store.create_user(&first), store.create_user(&rival));
    assert_ne!(a.expect("create"), b.expect("create"), "exactly one wins");
    assert!(
        store
            .create_user(&user("ann", "trainer"))
            .await
            .expect("create")
    );
    let mut changed = user("ann", "admin");
    changed.password_hash = "other".into();
    assert!(!store.create_user(&changed).await.expect("taken"));
    assert_eq!(
        store.user("ann").await.expect("get"),
        Some(user("ann", "trainer")),
        "a taken name leaves the user as it was"
    );
    assert_eq!(store.user("nobody").await.expect("get"), None);
    let names = |users: Vec<UserRow>| users.into_iter().map(|u| u.name).collect::<Vec<_>>();
    assert_eq!(names(store.users().await.expect("list")), ["admin", "ann"]);
    assert!(
        store
            .set_user_password("ann", "$argon2id$new")
            .await
            .expect("set")
    );
    let ann = store.user("ann").await.expect("get").expect("ann");
    assert_eq!(
        (ann.password_hash.as_str(), ann.role.as_str()),
        ("$argon2id$new", "trainer"),
        "only the hash changes"
    );
    assert!(
        !store
            .set_user_password("nobody", "$argon2id$new")
            .await
            .expect("set"),
        "no such user"
    );

    // The last admin stays; once there is another, either may go, but not both.
    assert_eq!(
        store.delete_user("admin", "admin").await.expect("delete"),
        UserDeletion::LastOfRole
    );
    assert!(
        store
            .create_user(&user("bob", "admin"))
            .await
            .expect("create")
    );
    let (x, y) = tokio::join!(
        store.delete_user("admin", "admin"),
        store.delete_user("bob", "admin")
    );
    let outcomes = BTreeSet::from([
        format!("{:?}", x.expect("delete")),
        format!("{:?}", y.expect("delete")),
    ]);
    assert_eq!(
        outcomes,
        BTreeSet::from(["Deleted".to_owned(), "LastOfRole".to_owned()]),
        "two admins deleting each other leave one"
    );
    assert_eq!(
        store.delete_user("nobody", "admin").await.expect("delete"),
        UserDeletion::NotFound
    );
    assert_eq!(
        store.delete_user("ann", "admin").await.expect("delete"),
        UserDeletion::Deleted
    );

    let key = |name: &str, digest: &str| ApiKeyRow {
        name: name.into(),
        key_sha256: digest.into(),
        role: "viewer".into(),
        created_ms: 5,
    };
    assert!(
        store
            .create_api_key(&key("ci", "d1"))
            .await
            .expect("create")
    );
    assert!(
        !store
            .create_api_key(&key("ci", "d2"))
            .await
            .expect("name taken")
    );
    assert!(
        !store
            .create_api_key(&key("other", "d1"))
            .await
            .expect("digest taken")
    );
    assert!(
        store
            .create_api_key(&key("bot", "d3"))
            .await
            .expect("create")
    );
    assert_eq!(
        store.api_key_by_hash("d1").await.expect("get"),
        Some(key("ci", "d1"))
    );
    assert_eq!(store.api_key_by_hash("d2").await.expect("get"), None);
    assert_eq!(
        store.api_key("ci").await.expect("get"),
        Some(key("ci", "d1"))
    );
    assert_eq!(store.api_key("d1").await.expect("get"), None, "by name");
    let keys: Vec<_> = store
        .api_keys()
        .await
        .expect("list")
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(keys, ["bot", "ci"]);
    assert!(store.delete_api_key("ci").await.expect("revoke"));
    assert!(!store.delete_api_key("ci").await.expect("gone"));
    assert_eq!(
        store.api_key_by_hash("d1").await.expect("get"),
        None,
        "a revoked key is gone"
    );
    assert_eq!(store.api_key("ci").await.expect("get"), None);
}

macro_rules! suite {
    ($url:expr, $($scenario:ident),+ $(,)?) => {{
        $(
            eprintln!("scenario {}", stringify!($scenario));
            $scenario($url).await;
        )+
    }};
}

macro_rules! all_scenarios {
    ($url:expr) => {
        suite!(
            $url,
            jobs_and_events_round_trip,
            the_queue_is_bounded,
            concurrent_claims_take_each_job_exactly_once,
            an_expired_lease_moves_the_job_and_fences_the_old_holder,
            a_requeued_job_is_claimable_at_once,
            cancellation_happens_once,
            aliases_move_and_stay_per_model,
            reconnecting_keeps_data_and_migrations_run_once,
            users_and_api_keys,
        )
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let n = std::sync::atomic::AtomicU32::new(0);
    let url = || {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("sqlite:{}/meta-{i}.db", dir.path().display())
    };
    all_scenarios!(url());
    // One file in WAL mode: the log sits beside it while a store is open.
    let path = dir.path().join("wal.db");
    let store = connect(&format!("sqlite:{}", path.display()))
        .await
        .expect("connect");
    create(&store, "job-1", "m").await;
    assert!(path.is_file());
    assert!(
        dir.path().join("wal.db-wal").is_file(),
        "SQLite runs in WAL mode"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_on_postgres() {
    let Some(pg) = strata_testkit::Postgres::start() else {
        return;
    };
    all_scenarios!(pg.database());
}
