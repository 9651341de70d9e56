//! [`ObjectArtifactStore`]: the [`ArtifactStore`] on object storage through the `object_store`
//! crate: `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix`, or `file:///dir`
//! (the same layout on a local directory, for tests and single machines).
//!
//! Layout under the prefix: `<class>/<name>/<version>/manifest.json` and, beside it, the files
//! of one upload in `<version>/<upload>/` (with `manifest.sha256`, the manifest's own hash). A
//! put writes every file first (streamed and hashed; multipart above [`PART_BYTES`]), then the
//! manifest's hash, then the manifest, created only if absent. A version exists exactly when
//! its manifest does, so readers never see a half-written one, and two writers of the same
//! version each write their own upload folder: one manifest wins, the loser removes its files.
//! Every read checks the manifest's hash and then each file's sha256.
//!
//! Credentials and endpoints come from the usual environment variables of each cloud
//! (`AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT`, `AWS_ALLOW_HTTP`, `GOOGLE_SERVICE_ACCOUNT`,
//! `AZURE_STORAGE_ACCOUNT_NAME`, ...), read by `object_store`'s builders.
//!
//! The trait is blocking; this store runs its requests on a small runtime of its own, so it can
//! be called from any thread, inside an async runtime or not.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use chrono::Utc;
use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::store::{FORMAT, MANIFEST, MANIFEST_SUM, validate_name};
use crate::{
    Artifact, ArtifactClass, ArtifactKey, ArtifactStore, FileEntry, FileSource, Manifest,
    ManifestInfo, StoreError, sha256_bytes,
};

/// Files larger than this are uploaded in parts of this size (S3's minimum part is 5 MiB).
pub const PART_BYTES: usize = 8 * 1024 * 1024;

static UPLOADS: AtomicU64 = AtomicU64::new(0);

/// See the module docs.
pub struct ObjectArtifactStore {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    /// What logs and errors may show: scheme, bucket and prefix, never credentials.
    name: String,
    /// Always Some until drop.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for ObjectArtifactStore {
    fn drop(&mut self) {
        // A runtime dropped the plain way blocks, which panics inside an async context.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl std::fmt::Debug for ObjectArtifactStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectArtifactStore")
            .field("location", &self.name)
            .finish()
    }
}

fn remote(what: impl std::fmt::Display, e: impl std::fmt::Display) -> StoreError {
    StoreError::Remote(format!("{what}: {e}"))
}

impl ObjectArtifactStore {
    /// Opens the store a URL names; options come from the environment (see the module docs).
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let options: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| {
                ["AWS_", "GOOGLE_", "AZURE_"]
                    .iter()
                    .any(|p| k.starts_with(p))
            })
            .collect();
        Self::open_with(url, options)
    }

    /// Opens the store a URL names with explicit builder options (`aws_endpoint`,
    /// `aws_access_key_id`, ...; names as in the environment, any case).
    pub fn open_with(url: &str, options: Vec<(String, String)>) -> Result<Self, StoreError> {
        let parsed = url::Url::parse(url).map_err(|e| StoreError::InvalidUrl(e.to_string()))?;
        let options = options
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v));
        install_tls_provider();
        let (store, prefix) = object_store::parse_url_opts(&parsed, options)
            .map_err(|e| StoreError::InvalidUrl(e.to_string()))?;
        let name = format!(
            "{}://{}/{}",
            parsed.scheme(),
            parsed.host_str().unwrap_or_default(),
            prefix
        );
        Self::with_store(Arc::from(store), prefix, name)
    }

    /// Uses an already configured object store under `prefix`.
    pub fn with_store(
        store: Arc<dyn ObjectStore>,
        prefix: ObjectPath,
        name: String,
    ) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("strata-objects")
            .enable_all()
            .build()
            .map_err(|e| remote("cannot start the object store's runtime", e))?;
        Ok(ObjectArtifactStore {
            store,
            prefix,
            name,
            runtime: Some(runtime),
        })
    }

    /// The underlying store and prefix (for range reads of Parquet files).
    pub fn object_store(&self) -> (Arc<dyn ObjectStore>, ObjectPath) {
        (self.store.clone(), self.prefix.clone())
    }

    /// Where a file of an artifact lives, from its verified manifest.
    pub fn file_location(&self, manifest: &Manifest, file: &str) -> ObjectPath {
        let dir = self.dir(&manifest.key);
        match &manifest.location {
            Some(upload) => dir.join(upload.as_str()).join(file),
            None => dir.join(file),
        }
    }

    /// Runs a request on the store's own runtime and waits for it from any thread.
    fn run<T: Send + 'static>(&self, f: impl Future<Output = T> + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        if let Some(rt) = &self.runtime {
            rt.spawn(async move {
                let _ = tx.send(f.await);
            });
        }
        rx.recv()
            .unwrap_or_else(|_| panic!("object store request task ended without an answer"))
    }

    fn class_dir(&self, class: ArtifactClass) -> ObjectPath {
        self.prefix.clone().join(class.dir())
    }

    fn dir(&self, key: &ArtifactKey) -> ObjectPath {
        self.class_dir(key.class)
            .join(key.name.as_str())
            .join(key.version.as_str())
    }

    /// The version directories under `path` that hold a manifest (`<version>/manifest.json`),
    /// given as the path segment right below `path`.
    fn visible_children(&self, path: ObjectPath, depth: usize) -> Result<Vec<String>, StoreError> {
        let store = self.store.clone();
        let name = self.name.clone();
        let objects: Vec<object_store::ObjectMeta> = self.run(async move {
            store
                .list(Some(&path))
                .try_collect::<Vec<_>>()
                .await
                .map_err(|e| remote(format!("listing {name}"), e))
        })?;
        let base = self.prefix.parts().count();
        let mut out: Vec<String> = objects
            .iter()
            .filter_map(|o| {
                let parts: Vec<_> = o.location.parts().collect();
                // prefix / class / name / version / manifest.json
                let rel = parts.get(base..)?;
                (rel.len() == 4 && rel[3].as_ref() == MANIFEST)
                    .then(|| rel[depth].as_ref().to_owned())
            })
            .filter(|n| validate_name("name", n).is_ok())
            .collect();
        out.sort_by(|a, b| crate::store::version_order(a, b));
        out.dedup();
        Ok(out)
    }
}

impl ObjectArtifactStore {
    /// Reads a Parquet file of an artifact with ranged GETs (the footer, then the column chunks
    /// it needs), never downloading the object whole. Ranged reads cannot check the file's
    /// sha256 (that needs every byte); the manifest's size must match the object's.
    pub fn read_parquet(
        &self,
        key: &ArtifactKey,
        file: &str,
    ) -> Result<Vec<arrow::record_batch::RecordBatch>, StoreError> {
        let manifest = self.manifest(key)?;
        let entry = manifest
            .files
            .get(file)
            .cloned()
            .ok_or_else(|| StoreError::NoSuchFile {
                key: key.to_string(),
                file: file.to_owned(),
            })?;
        let path = self.file_location(&manifest, file);
        let store = self.store.clone();
        let key = key.to_string();
        let file = file.to_owned();
        self.run(async move {
            let meta = store.head(&path).await.map_err(|e| remote(&path, e))?;
            if meta.size != entry.bytes {
                return Err(StoreError::CorruptFile {
                    key,
                    file,
                    expected: format!("{} bytes", entry.bytes),
                    actual: format!("{} bytes", meta.size),
                });
            }
            // Its replacement (a hand-written `AsyncFileReader`) would copy this reader: the
            // deprecated one already reads footer and column chunks by range.
            #[allow(deprecated, reason = "range reads through object_store, as wanted")]
            let reader =
                parquet::arrow::async_reader::ParquetObjectReader::new(store, path.clone())
                    .with_file_size(meta.size);
            let failed = |e: parquet::errors::ParquetError| remote(&path, e);
            parquet::arrow::ParquetRecordBatchStreamBuilder::new(reader)
                .await
                .map_err(failed)?
                .build()
                .map_err(failed)?
                .try_collect::<Vec<_>>()
                .await
                .map_err(failed)
        })
    }
}

/// reqwest's rustls needs a process-wide crypto provider; ring is the one compiled in.
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}

async fn get_bytes(
    store: &dyn ObjectStore,
    path: &ObjectPath,
) -> Result<Option<Bytes>, object_store::Error> {
    match store.get(path).await {
        Ok(r) => r.bytes().await.map(Some),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Streams one file into the store, multipart above [`PART_BYTES`]; returns its hash and size.
async fn upload(
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    source: FileSource,
) -> Result<FileEntry, StoreError> {
    let mut writer =
        object_store::buffered::BufWriter::with_capacity(store, path.clone(), PART_BYTES);
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    match source {
        FileSource::Bytes(b) => {
            hasher.update(&b);
            total = b.len() as u64;
            writer.write_all(&b).await.map_err(|e| remote(&path, e))?;
        }
        FileSource::Path(p) => {
            let mut file = std::fs::File::open(&p).map_err(|e| StoreError::io(&p, e))?;
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = file.read(&mut buf).map_err(|e| StoreError::io(&p, e))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                total += n as u64;
                writer
                    .write_all(&buf[..n])
                    .await
                    .map_err(|e| remote(&path, e))?;
            }
        }
    }
    writer.shutdown().await.map_err(|e| remote(&path, e))?;
    Ok(FileEntry {
        sha256: hex::encode(hasher.finalize()),
        bytes: total,
    })
}

async fn delete_under(
    store: &dyn ObjectStore,
    dir: &ObjectPath,
) -> Result<(), object_store::Error> {
    let objects: Vec<_> = store.list(Some(dir)).try_collect().await?;
    for o in objects {
        match store.delete(&o.location).await {
            Err(e) if !not_found(&e) => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

impl ArtifactStore for ObjectArtifactStore {
    fn put(
        &self,
        key: &ArtifactKey,
        files: Vec<(String, FileSource)>,
        info: ManifestInfo,
    ) -> Result<Manifest, StoreError> {
        key.validate()?;
        for (name, _) in &files {
            if name == MANIFEST || name == MANIFEST_SUM || validate_name("file name", name).is_err()
            {
                return Err(StoreError::InvalidName {
                    what: "file name",
                    value: name.clone(),
                });
            }
        }
        let dir = self.dir(key);
        let upload_id = format!(
            "u{}-{}-{}",
            Utc::now().timestamp_nanos_opt().unwrap_or_default(),
            std::process::id(),
            UPLOADS.fetch_add(1, Ordering::Relaxed)
        );
        let store = self.store.clone();
        let key = key.clone();
        self.run(async move {
            let manifest_path = dir.clone().join(MANIFEST);
            match store.head(&manifest_path).await {
                Ok(_) => return Err(StoreError::AlreadyExists(key.to_string())),
                Err(e) if not_found(&e) => {}
                Err(e) => return Err(remote(&manifest_path, e)),
            }
            let upload_dir = dir.clone().join(upload_id.as_str());
            let result = async {
                let mut entries = BTreeMap::new();
                for (name, source) in files {
                    let entry = upload(
                        store.clone(),
                        upload_dir.clone().join(name.as_str()),
                        source,
                    )
                    .await?;
                    entries.insert(name, entry);
                }
                let manifest = Manifest {
                    format: FORMAT,
                    key: key.clone(),
                    created_at: Utc::now(),
                    info,
                    files: entries,
                    location: Some(upload_id.clone()),
                };
                let json = serde_json::to_vec_pretty(&manifest).map_err(|e| {
                    StoreError::CorruptManifest {
                        key: key.to_string(),
                        reason: format!("cannot serialise: {e}"),
                    }
                })?;
                let sum = upload_dir.clone().join(MANIFEST_SUM);
                store
                    .put(&sum, PutPayload::from(format!("{}\n", sha256_bytes(&json))))
                    .await
                    .map_err(|e| remote(&sum, e))?;
                // Last, and only if no other writer got there first: now the version exists.
                let create = PutOptions {
                    mode: PutMode::Create,
                    ..Default::default()
                };
                match store
                    .put_opts(&manifest_path, PutPayload::from(json.clone()), create)
                    .await
                {
                    Ok(_) => Ok(manifest),
                    Err(object_store::Error::AlreadyExists { .. }) => {
                        Err(StoreError::AlreadyExists(key.to_string()))
                    }
                    // Stores without conditional writes: check, then write (a narrow race).
                    Err(object_store::Error::NotImplemented { .. }) => {
                        match store.head(&manifest_path).await {
                            Ok(_) => Err(StoreError::AlreadyExists(key.to_string())),
                            Err(e) if not_found(&e) => store
                                .put(&manifest_path, PutPayload::from(json))
                                .await
                                .map(|_| manifest)
                                .map_err(|e| remote(&manifest_path, e)),
                            Err(e) => Err(remote(&manifest_path, e)),
                        }
                    }
                    Err(e) => Err(remote(&manifest_path, e)),
                }
            }
            .await;
            if result.is_err() {
                let _ = delete_under(&*store, &upload_dir).await;
            }
            result
        })
    }

    fn manifest(&self, key: &ArtifactKey) -> Result<Manifest, StoreError> {
        key.validate()?;
        let dir = self.dir(key);
        let store = self.store.clone();
        let key = key.clone();
        self.run(async move {
            let path = dir.clone().join(MANIFEST);
            let corrupt = |reason: String| StoreError::CorruptManifest {
                key: key.to_string(),
                reason,
            };
            let bytes = get_bytes(&*store, &path)
                .await
                .map_err(|e| remote(&path, e))?
                .ok_or_else(|| StoreError::NotFound(key.to_string()))?;
            let manifest: Manifest = serde_json::from_slice(&bytes)
                .map_err(|e| corrupt(format!("invalid JSON: {e}")))?;
            let upload = manifest
                .location
                .clone()
                .filter(|u| validate_name("upload", u).is_ok())
                .ok_or_else(|| corrupt("it names no valid upload folder".into()))?;
            let sum_path = dir.clone().join(upload.as_str()).join(MANIFEST_SUM);
            let sum = get_bytes(&*store, &sum_path)
                .await
                .map_err(|e| remote(&sum_path, e))?
                .ok_or_else(|| corrupt(format!("{MANIFEST_SUM} is missing")))?;
            let actual = sha256_bytes(&bytes);
            let expected = String::from_utf8_lossy(&sum).trim().to_owned();
            if expected != actual {
                return Err(corrupt(format!(
                    "sha256 {actual} does not match {MANIFEST_SUM} ({expected})"
                )));
            }
            if manifest.format != FORMAT {
                return Err(corrupt(format!("unknown format {}", manifest.format)));
            }
            if manifest.key != key {
                return Err(corrupt(format!("it describes {}", manifest.key)));
            }
            Ok(manifest)
        })
    }

    fn get(&self, key: &ArtifactKey) -> Result<Artifact, StoreError> {
        let manifest = self.manifest(key)?;
        let paths: Vec<(String, ObjectPath, FileEntry)> = manifest
            .files
            .iter()
            .map(|(name, entry)| {
                validate_name("file name", name)?;
                Ok((
                    name.clone(),
                    self.file_location(&manifest, name),
                    entry.clone(),
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        let store = self.store.clone();
        let key_name = key.to_string();
        let files = self.run(async move {
            let mut files = BTreeMap::new();
            for (name, path, entry) in paths {
                let bytes = get_bytes(&*store, &path)
                    .await
                    .map_err(|e| remote(&path, e))?
                    .ok_or_else(|| StoreError::MissingFile {
                        key: key_name.clone(),
                        file: name.clone(),
                    })?;
                let actual = sha256_bytes(&bytes);
                if actual != entry.sha256 {
                    return Err(StoreError::CorruptFile {
                        key: key_name.clone(),
                        file: name,
                        expected: entry.sha256,
                        actual,
                    });
                }
                files.insert(name, bytes.to_vec());
            }
            Ok(files)
        })?;
        Ok(Artifact::new(manifest, files))
    }

    fn export_file(
        &self,
        key: &ArtifactKey,
        name: &str,
        dest: &std::path::Path,
    ) -> Result<(), StoreError> {
        let manifest = self.manifest(key)?;
        validate_name("file name", name)?;
        let entry = manifest.entry(name)?.clone();
        let path = self.file_location(&manifest, name);
        let store = self.store.clone();
        let partial = crate::store::partial_path(dest);
        let (key_name, file) = (key.to_string(), name.to_owned());
        let written = partial.clone();
        // Streamed: the file goes to disk piece by piece while its hash is computed.
        let result = self.run(async move {
            let response = match store.get(&path).await {
                Ok(r) => r,
                Err(e) if not_found(&e) => {
                    return Err(StoreError::MissingFile {
                        key: key_name,
                        file,
                    });
                }
                Err(e) => return Err(remote(&path, e)),
            };
            let mut out =
                std::fs::File::create(&written).map_err(|e| StoreError::io(&written, e))?;
            let mut hasher = Sha256::new();
            let mut pieces = response.into_stream();
            while let Some(piece) = pieces.try_next().await.map_err(|e| remote(&path, e))? {
                hasher.update(&piece);
                std::io::Write::write_all(&mut out, &piece)
                    .map_err(|e| StoreError::io(&written, e))?;
            }
            out.sync_all().map_err(|e| StoreError::io(&written, e))?;
            let actual = hex::encode(hasher.finalize());
            if actual != entry.sha256 {
                return Err(StoreError::CorruptFile {
                    key: key_name,
                    file,
                    expected: entry.sha256,
                    actual,
                });
            }
            Ok(())
        });
        let result = result
            .and_then(|()| std::fs::rename(&partial, dest).map_err(|e| StoreError::io(dest, e)));
        if result.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        result
    }

    fn versions(&self, class: ArtifactClass, name: &str) -> Result<Vec<String>, StoreError> {
        validate_name("name", name)?;
        self.visible_children(self.class_dir(class).join(name), 2)
    }

    fn names(&self, class: ArtifactClass) -> Result<Vec<String>, StoreError> {
        let mut names = self.visible_children(self.class_dir(class), 1)?;
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn delete(&self, key: &ArtifactKey) -> Result<(), StoreError> {
        key.validate()?;
        let dir = self.dir(key);
        let store = self.store.clone();
        let key = key.clone();
        self.run(async move {
            let manifest = dir.clone().join(MANIFEST);
            // S3 deletes idempotently, so absence is found by looking.
            match store.head(&manifest).await {
                Ok(_) => {}
                Err(e) if not_found(&e) => return Err(StoreError::NotFound(key.to_string())),
                Err(e) => return Err(remote(&manifest, e)),
            }
            // The manifest goes first: from then on no reader sees the version.
            match store.delete(&manifest).await {
                Err(e) if !not_found(&e) => return Err(remote(&manifest, e)),
                _ => {}
            }
            delete_under(&*store, &dir)
                .await
                .map_err(|e| remote(&dir, e))
        })
    }
}
