//! strata-testkit: the real servers that tests of the scale-out backends run against, each on a
//! free loopback port in a temporary directory and stopped when dropped: PostgreSQL from the
//! distribution's binaries ([`Postgres`]) and the S3-protocol server of the `s3s-fs` crate, run
//! in this process ([`S3Server`]). Also a throwaway certificate authority for TLS tests
//! ([`TestPki`]).
//!
//! When PostgreSQL's binaries are missing, [`Postgres::start`] returns `None` after printing a
//! `SKIP:` line saying what to install, so a developer without them still gets a green run; with
//! `CI` set it panics instead, because CI installs them (`tools/setup`) and must never skip.
//! The S3 server is compiled in and never missing, and so is the OTLP trace receiver
//! ([`OtlpReceiver`]) that trace tests export spans to. [`hostile`] writes the crafted Parquet
//! files the hardening tests upload.
//!
//! Tests find the repository's files with [`repo_path`], under Cargo and Bazel alike.
//!
//! Invariant: test support only. No product crate depends on it except as a dev-dependency, and
//! it never reaches past loopback.

pub mod hostile;
mod otlp;
mod pki;

pub use otlp::{CollectedSpan, OtlpReceiver, span_tree};
pub use pki::TestPki;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A file or directory of the repository, by its path from the repository root.
///
/// Under Bazel (`bazel test`/`bazel run` set `RUNFILES_DIR`, `RUNFILES_MANIFEST_FILE` or
/// `TEST_SRCDIR`) it is the runfile `_main/<rel>`, which the test target must list in `data`:
/// the crate's `CARGO_MANIFEST_DIR` there names the compile action's sandbox, gone by the time the
/// test runs. Under Cargo it is the checkout, found from this crate's own directory.
pub fn repo_path(rel: &str) -> PathBuf {
    if under_bazel() {
        let runfiles = runfiles::Runfiles::create()
            .unwrap_or_else(|e| panic!("Bazel runfiles for {rel}: {e}"));
        return runfiles
            .rlocation(Path::new("_main").join(rel))
            .unwrap_or_else(|| panic!("{rel} is not a runfile of this test; add it to `data`"));
    }
    // Cargo keeps the checkout; tools/testkit is two levels below its root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// Whether this test runs under Bazel (it has a runfiles tree) rather than Cargo.
fn under_bazel() -> bool {
    ["RUNFILES_DIR", "RUNFILES_MANIFEST_FILE", "TEST_SRCDIR"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

/// A free TCP port on 127.0.0.1 (the listener is closed again, so a server can bind it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Reports a missing dependency: a skip for developers, a failure in CI.
fn missing(what: &str, hint: &str) {
    let message = format!("{what} not found ({hint})");
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false") {
        panic!("{message}; CI must not skip these tests");
    }
    eprintln!("SKIP: {message}; the tests that need it did not run");
}

/// `postgres` refuses to run as root; tests running as root hand the cluster to this user.
const NOBODY: (u32, u32) = (65534, 65534);

fn running_as_root() -> bool {
    // The owner of a file this process just created is its effective user.
    let probe = tempfile::NamedTempFile::new().expect("temp file");
    std::os::unix::fs::MetadataExt::uid(&probe.as_file().metadata().expect("metadata")) == 0
}

/// A PostgreSQL cluster of its own: `initdb` into a temporary directory, `pg_ctl start` on a
/// free loopback port with trust authentication for user `strata`, `pg_ctl stop` on drop.
pub struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    as_nobody: bool,
    next_db: std::sync::atomic::AtomicU32,
    _dir: tempfile::TempDir,
}

impl Postgres {
    /// Where the binaries are: `STRATA_PG_BIN`, else `pg_config --bindir`, else the newest
    /// Debian `/usr/lib/postgresql/<version>/bin`.
    fn find_bin() -> Option<PathBuf> {
        let has_initdb = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
        if let Some(dir) = std::env::var_os("STRATA_PG_BIN") {
            return Some(PathBuf::from(dir)).filter(|d| has_initdb(d));
        }
        if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if has_initdb(&dir) {
                return Some(dir);
            }
        }
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| {
                let e = e.ok()?;
                let v = e.file_name().to_str()?.parse::<u32>().ok()?;
                Some((v, e.path().join("bin")))
            })
            .filter(|(_, d)| has_initdb(d))
            .collect();
        versions.sort();
        versions.pop().map(|(_, d)| d)
    }

    /// Starts a cluster, or returns None (after a SKIP line) when PostgreSQL is not installed.
    pub fn start() -> Option<Postgres> {
        let Some(bin) = Self::find_bin() else {
            missing(
                "PostgreSQL (initdb, pg_ctl)",
                "install Debian's `postgresql` package, run tools/setup, or set STRATA_PG_BIN",
            );
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("strata-pg-")
            .tempdir()
            .expect("temp dir");
        let as_nobody = running_as_root();
        if as_nobody {
            std::os::unix::fs::chown(dir.path(), Some(NOBODY.0), Some(NOBODY.1))
                .expect("hand the cluster directory to nobody");
        }
        let data = dir.path().join("data");
        let port = free_port();
        let pg = Postgres {
            bin,
            data,
            port,
            as_nobody,
            next_db: std::sync::atomic::AtomicU32::new(0),
            _dir: dir,
        };
        pg.run(
            "initdb",
            &[
                "-D",
                pg.data.to_str().expect("utf-8 path"),
                "-U",
                "strata",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
        );
        // No fsync: the cluster dies with the test. Unix sockets stay inside the temp dir.
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            pg._dir.path().display()
        );
        let log = pg._dir.path().join("server.log");
        pg.run(
            "pg_ctl",
            &[
                "start",
                "-w",
                "-D",
                pg.data.to_str().expect("utf-8 path"),
                "-l",
                log.to_str().expect("utf-8 path"),
                "-o",
                &options,
            ],
        );
        Some(pg)
    }

    fn command(&self, tool: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(tool));
        // The test's own working directory may be closed to `nobody`.
        cmd.current_dir(self._dir.path()).stdin(Stdio::null());
        if self.as_nobody {
            use std::os::unix::process::CommandExt;
            // std also drops root's supplementary groups when it changes the uid.
            cmd.uid(NOBODY.0).gid(NOBODY.1);
        }
        cmd
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let out = self
            .command(tool)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
        if !out.status.success() {
            let log =
                std::fs::read_to_string(self._dir.path().join("server.log")).unwrap_or_default();
            panic!(
                "{tool} {args:?} failed: {}\n{}\n{}\nserver log:\n{log}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        out
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A new, empty database; its URL.
    pub fn database(&self) -> String {
        let n = self
            .next_db
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("test{n}");
        let port = self.port.to_string();
        self.run(
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", "strata", &name],
        );
        self.url(&name)
    }

    /// URL of database `name` on this cluster.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://strata@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Immediate: nothing to keep, and the temp dir goes right after.
        let _ = self
            .command("pg_ctl")
            .args(["stop", "-m", "immediate", "-w", "-D"])
            .arg(&self.data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// An S3-protocol server of its own, in this process: the `s3s-fs` library (crates.io) serving
/// a temporary directory over hyper on a free loopback port, on a runtime thread of its own,
/// with one bucket and a random key pair (requests are signed, as real S3 wants); stopped on
/// drop. In-process because it then builds with the workspace's hyper and tokio instead of a
/// separate `cargo install`, and can never be missing.
pub struct S3Server {
    port: u16,
    access_key: String,
    secret_key: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

/// The bucket every [`S3Server`] has.
pub const BUCKET: &str = "strata-test";

impl S3Server {
    /// Starts a server; it accepts connections once this returns.
    pub fn start() -> S3Server {
        let dir = tempfile::Builder::new()
            .prefix("strata-s3-")
            .tempdir()
            .expect("temp dir");
        std::fs::create_dir_all(dir.path().join(BUCKET)).expect("bucket dir");
        let nonce = format!(
            "{:x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
                ^ u128::from(std::process::id())
        );
        let (access_key, secret_key) = (format!("AK{nonce}"), format!("SK{nonce}"));
        let service = {
            let fs = s3s_fs::FileSystem::new(dir.path()).expect("s3s-fs root");
            let mut builder = s3s::service::S3ServiceBuilder::new(fs);
            builder.set_auth(s3s::auth::SimpleAuth::from_single(
                access_key.clone(),
                secret_key.clone(),
            ));
            AtomicCreate {
                service: builder.build(),
                creates: Default::default(),
            }
        };
        // Bound here, before the thread starts: the port is ours, and listening, on return.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("s3s-fs".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("s3 server runtime");
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    let http = hyper_util::server::conn::auto::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    );
                    loop {
                        let socket = tokio::select! {
                            accepted = listener.accept() => match accepted {
                                Ok((socket, _)) => socket,
                                // Out of file descriptors, say: back off instead of spinning.
                                Err(_) => {
                                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                                    continue;
                                }
                            },
                            _ = &mut stopped => break,
                        };
                        let conn = http
                            .serve_connection(hyper_util::rt::TokioIo::new(socket), service.clone())
                            .into_owned();
                        tokio::spawn(async move {
                            let _ = conn.await;
                        });
                    }
                });
                // Dropping the runtime ends the open connections' tasks.
            })
            .expect("s3 server thread");
        S3Server {
            port,
            access_key,
            secret_key,
            stop: Some(stop),
            thread: Some(thread),
            _dir: dir,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `s3://` URL of a prefix in the test bucket.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{BUCKET}/{prefix}")
    }

    /// The object_store options (environment names) that reach this server.
    pub fn options(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", self.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_key.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_VIRTUAL_HOSTED_STYLE_REQUEST", "false".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// s3s-fs checks `If-None-Match: *` and then writes, so two racing conditional PUTs of one key
/// can both succeed; S3 decides them atomically (one wins, the other gets 412). Conditional PUTs
/// therefore go one at a time here, so the server behaves like the S3 the store is written for.
#[derive(Clone)]
struct AtomicCreate {
    service: s3s::service::S3Service,
    creates: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl hyper::service::Service<http::Request<hyper::body::Incoming>> for AtomicCreate {
    type Response = s3s::HttpResponse;
    type Error = s3s::HttpError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn call(&self, req: http::Request<hyper::body::Incoming>) -> Self::Future {
        let conditional = req.method() == http::Method::PUT
            && req.headers().contains_key(http::header::IF_NONE_MATCH);
        let (service, creates) = (self.service.clone(), self.creates.clone());
        Box::pin(async move {
            let _one_at_a_time = if conditional {
                Some(creates.lock_owned().await)
            } else {
                None
            };
            hyper::service::Service::call(&service, req).await
        })
    }
}

/// Where the all-MiniLM-L6-v2 directory is: `STRATA_MINILM_DIR`, else where `tools/setup` puts it
/// (`.cache/assets/all-MiniLM-L6-v2` in the workspace). It may not exist; callers check.
pub fn minilm_path() -> std::path::PathBuf {
    std::env::var_os("STRATA_MINILM_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../.cache/assets/all-MiniLM-L6-v2")
        })
}

/// The directory holding MiniLM's, which test servers of the ML service get as their import
/// directory (`--import-dir`); the system temp directory where it is absent, so servers start.
pub fn assets_dir() -> std::path::PathBuf {
    match minilm_path().parent() {
        Some(parent) if parent.is_dir() => parent.to_path_buf(),
        _ => std::env::temp_dir(),
    }
}
