//! The artifact store: datasets, model versions and checkpoints as directories of files plus a
//! JSON manifest (kind, schema, hyperparameters, metrics, dataset hash, created-at, and the
//! sha256 of every file).
//!
//! Layout of [`FsArtifactStore`]: `<root>/<class>/<name>/<version>/{manifest.json, manifest.sha256,
//! files...}`. A write stages everything in `<root>/.staging/`, fsyncs each file and the directory,
//! renames the directory into place and fsyncs the parent, so a crash leaves either the whole
//! artifact or none of it. A read checks the manifest's own hash, then every file's hash, and
//! hands out the verified bytes (never a path that could change after the check).
//!
//! Who owns a staging directory is decided by a lock, not a process id: replicas on several nodes
//! share one volume, where a PID says nothing about another node's processes (and a PID of this
//! node may be reused). Each staging directory `<id>` has a `<id>.lock` file that its writer holds
//! with an exclusive `flock(2)` until the directory is renamed into place or removed. Opening the
//! store removes the directories whose lock nobody holds: the kernel drops a lock when its holder
//! dies, and on NFS Linux turns `flock` into a lock that the server arbitrates between nodes.
//! Two requirements follow. The volume must support locks: one mounted with `nolock` or
//! `local_lock=flock` is safe on one node only, and one that refuses locks (ENOLCK) fails every
//! write. And a process opens one store per root: NFS's emulated `flock` locks belong to the
//! process, so a second store in the same process could take its own writer's lock.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use sha2::{Digest, Sha256};

use crate::{StoreError, sha256_bytes};

pub(crate) const MANIFEST: &str = "manifest.json";
pub(crate) const MANIFEST_SUM: &str = "manifest.sha256";
pub(crate) const FORMAT: u32 = 1;

/// What an artifact is; also its top-level directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactClass {
    Dataset,
    Model,
    Checkpoint,
}

impl ArtifactClass {
    pub(crate) fn dir(self) -> &'static str {
        match self {
            ArtifactClass::Dataset => "datasets",
            ArtifactClass::Model => "models",
            ArtifactClass::Checkpoint => "checkpoints",
        }
    }
}

/// Address of one artifact: class, name (model name, dataset name or training-job id), version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ArtifactKey {
    pub class: ArtifactClass,
    pub name: String,
    pub version: String,
}

impl ArtifactKey {
    pub fn new(class: ArtifactClass, name: impl Into<String>, version: impl Into<String>) -> Self {
        ArtifactKey {
            class,
            name: name.into(),
            version: version.into(),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        validate_name("name", &self.name)?;
        validate_name("version", &self.version)
    }
}

impl std::fmt::Display for ArtifactKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.class.dir(), self.name, self.version)
    }
}

pub(crate) fn validate_name(what: &'static str, value: &str) -> Result<(), StoreError> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && !value.starts_with('.')
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidName {
            what,
            value: value.into(),
        })
    }
}

/// Hash and size of one file of an artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub sha256: String,
    pub bytes: u64,
}

/// What the caller says about an artifact; the store adds identity, time and file hashes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManifestInfo {
    /// Model kind (`mlp-classifier`, ...) or, for datasets, the format (`parquet`).
    pub kind: String,
    #[serde(default)]
    pub schema: serde_json::Value,
    #[serde(default)]
    pub hyperparameters: serde_json::Value,
    #[serde(default)]
    pub metrics: serde_json::Value,
    #[serde(default)]
    pub dataset_sha256: Option<String>,
    /// Anything else worth keeping (base model, training progress of a checkpoint, ...).
    #[serde(default)]
    pub extra: serde_json::Value,
}

/// The JSON manifest stored beside an artifact's files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub key: ArtifactKey,
    pub created_at: DateTime<Utc>,
    #[serde(flatten)]
    pub info: ManifestInfo,
    pub files: BTreeMap<String, FileEntry>,
    /// Object stores: the upload folder (beside the manifest) that holds the files. The
    /// filesystem store keeps them beside the manifest and leaves this out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl Manifest {
    /// The recorded size and hash of file `name`; `NoSuchFile` when the artifact has none.
    pub fn entry(&self, name: &str) -> Result<&FileEntry, StoreError> {
        self.files.get(name).ok_or_else(|| StoreError::NoSuchFile {
            key: self.key.to_string(),
            file: name.into(),
        })
    }
}

/// Where the bytes of a file to store come from.
#[derive(Debug, Clone)]
pub enum FileSource {
    Bytes(Vec<u8>),
    /// Copied (streamed) from a local file.
    Path(PathBuf),
}

/// A verified artifact: its manifest and the bytes of every file, each matching its sha256.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub manifest: Manifest,
    files: BTreeMap<String, Vec<u8>>,
}

impl Artifact {
    /// An artifact whose files were verified against `manifest`.
    pub(crate) fn new(manifest: Manifest, files: BTreeMap<String, Vec<u8>>) -> Self {
        Artifact { manifest, files }
    }

    pub fn file(&self, name: &str) -> Result<&[u8], StoreError> {
        self.files
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| StoreError::NoSuchFile {
                key: self.manifest.key.to_string(),
                file: name.into(),
            })
    }

    pub fn has_file(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// Moves one file's bytes out (large weights need not be copied).
    pub fn take_file(&mut self, name: &str) -> Result<Vec<u8>, StoreError> {
        let key = self.manifest.key.to_string();
        self.files
            .remove(name)
            .ok_or_else(|| StoreError::NoSuchFile {
                key,
                file: name.into(),
            })
    }
}

/// Storage of immutable, verified artifacts. The filesystem store is the embedded default;
/// [`crate::ObjectArtifactStore`] puts the same artifacts on object storage.
pub trait ArtifactStore: Send + Sync {
    /// Atomically creates `key` with `files`; fails with `AlreadyExists` if it exists.
    fn put(
        &self,
        key: &ArtifactKey,
        files: Vec<(String, FileSource)>,
        info: ManifestInfo,
    ) -> Result<Manifest, StoreError>;

    /// Reads and verifies the manifest and every file.
    fn get(&self, key: &ArtifactKey) -> Result<Artifact, StoreError>;

    /// Reads and verifies the manifest only (file hashes are checked by `get`).
    fn manifest(&self, key: &ArtifactKey) -> Result<Manifest, StoreError>;

    /// Copies file `name` of `key` to the local path `dest`, verified: the copy appears at `dest`
    /// only once its sha256 matched the manifest. Stores that can stream do (a dataset of
    /// gigabytes never sits in memory); this default reads the artifact whole.
    fn export_file(&self, key: &ArtifactKey, name: &str, dest: &Path) -> Result<(), StoreError> {
        let bytes = self.get(key)?.take_file(name)?;
        let partial = partial_path(dest);
        write_synced(&partial, &bytes)?;
        fs::rename(&partial, dest).map_err(|e| StoreError::io(dest, e))
    }

    /// Versions of `name` in `class`, sorted by version (natural order: `v2` before `v10`).
    fn versions(&self, class: ArtifactClass, name: &str) -> Result<Vec<String>, StoreError>;

    /// Names in `class` that have at least one version, sorted.
    fn names(&self, class: ArtifactClass) -> Result<Vec<String>, StoreError>;

    /// Removes an artifact; readers see it whole or not at all.
    fn delete(&self, key: &ArtifactKey) -> Result<(), StoreError>;
}

/// The version after the highest `vN` in `versions` (`v1` for none): how every writer of model
/// versions, the CLI and the ML service, numbers the next one.
pub fn next_version<S: AsRef<str>>(versions: &[S]) -> String {
    let highest = versions
        .iter()
        .filter_map(|v| v.as_ref().strip_prefix('v')?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    format!("v{}", highest.saturating_add(1))
}

/// Orders `v2` before `v10` and `step-000010` before `step-000100`.
pub fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    let split = |s: &str| {
        let digits = s.len() - s.bytes().rev().take_while(u8::is_ascii_digit).count();
        (s[..digits].to_owned(), s[digits..].parse::<u128>().ok())
    };
    split(a).cmp(&split(b)).then_with(|| a.cmp(b))
}

/// Filesystem [`ArtifactStore`] rooted at one directory.
#[derive(Debug, Clone)]
pub struct FsArtifactStore {
    root: PathBuf,
}

static STAGING_COUNTER: AtomicU64 = AtomicU64::new(0);

impl FsArtifactStore {
    /// Uses (and creates) `root`. Staging directories left by crashed writers are removed; those
    /// of live ones (another CLI or service on the same root, on this node or another) stay.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        let staging = root.join(".staging");
        fs::create_dir_all(&staging).map_err(|e| StoreError::io(&staging, e))?;
        remove_abandoned_stages(&staging)?;
        Ok(FsArtifactStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn dir(&self, key: &ArtifactKey) -> PathBuf {
        self.root
            .join(key.class.dir())
            .join(&key.name)
            .join(&key.version)
    }

    fn stage(&self) -> Result<Stage, StoreError> {
        Stage::new(&self.root.join(".staging"))
    }

    fn read_manifest(&self, key: &ArtifactKey) -> Result<Manifest, StoreError> {
        key.validate()?;
        let dir = self.dir(key);
        if !dir.is_dir() {
            return Err(StoreError::NotFound(key.to_string()));
        }
        let corrupt = |reason: String| StoreError::CorruptManifest {
            key: key.to_string(),
            reason,
        };
        let bytes = fs::read(dir.join(MANIFEST))
            .map_err(|e| corrupt(format!("cannot read {MANIFEST}: {e}")))?;
        let sum = fs::read_to_string(dir.join(MANIFEST_SUM))
            .map_err(|e| corrupt(format!("cannot read {MANIFEST_SUM}: {e}")))?;
        let actual = sha256_bytes(&bytes);
        if sum.trim() != actual {
            return Err(corrupt(format!(
                "sha256 {actual} does not match {MANIFEST_SUM} ({})",
                sum.trim()
            )));
        }
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("invalid JSON: {e}")))?;
        if manifest.format != FORMAT {
            return Err(corrupt(format!("unknown format {}", manifest.format)));
        }
        if &manifest.key != key {
            return Err(corrupt(format!("it describes {}", manifest.key)));
        }
        Ok(manifest)
    }

    fn list_dir(&self, dir: &Path) -> Result<Vec<String>, StoreError> {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io(dir, e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io(dir, e))?;
            if let Some(name) = entry.file_name().to_str()
                && validate_name("name", name).is_ok()
                && entry.path().is_dir()
            {
                names.push(name.to_owned());
            }
        }
        names.sort_by(|a, b| version_order(a, b));
        Ok(names)
    }
}

impl ArtifactStore for FsArtifactStore {
    fn put(
        &self,
        key: &ArtifactKey,
        files: Vec<(String, FileSource)>,
        info: ManifestInfo,
    ) -> Result<Manifest, StoreError> {
        key.validate()?;
        let target = self.dir(key);
        if target.exists() {
            return Err(StoreError::AlreadyExists(key.to_string()));
        }
        // Dropping the stage removes whatever is left of it: everything, unless the rename below
        // moved it into place.
        let stage = self.stage()?;
        let dir = &stage.dir;
        fs::create_dir(dir).map_err(|e| StoreError::io(dir, e))?;
        let mut entries = BTreeMap::new();
        for (name, source) in files {
            if name == MANIFEST
                || name == MANIFEST_SUM
                || validate_name("file name", &name).is_err()
            {
                return Err(StoreError::InvalidName {
                    what: "file name",
                    value: name,
                });
            }
            let path = dir.join(&name);
            let entry = match source {
                FileSource::Bytes(bytes) => {
                    write_synced(&path, &bytes)?;
                    FileEntry {
                        sha256: sha256_bytes(&bytes),
                        bytes: bytes.len() as u64,
                    }
                }
                FileSource::Path(from) => copy_synced(&from, &path)?,
            };
            entries.insert(name, entry);
        }
        let manifest = Manifest {
            format: FORMAT,
            key: key.clone(),
            created_at: Utc::now(),
            info,
            files: entries,
            location: None,
        };
        let json =
            serde_json::to_vec_pretty(&manifest).map_err(|e| StoreError::CorruptManifest {
                key: key.to_string(),
                reason: format!("cannot serialise: {e}"),
            })?;
        write_synced(&dir.join(MANIFEST), &json)?;
        write_synced(
            &dir.join(MANIFEST_SUM),
            format!("{}\n", sha256_bytes(&json)).as_bytes(),
        )?;
        sync_dir(dir)?;
        let parent = target.parent().unwrap_or(&self.root);
        fs::create_dir_all(parent).map_err(|e| StoreError::io(parent, e))?;
        // rename(2) onto an existing non-empty directory fails, so a concurrent writer of the
        // same key loses cleanly instead of mixing files.
        fs::rename(dir, &target).map_err(|e| {
            if target.exists() {
                StoreError::AlreadyExists(key.to_string())
            } else {
                StoreError::io(&target, e)
            }
        })?;
        sync_dir(parent)?;
        Ok(manifest)
    }

    fn get(&self, key: &ArtifactKey) -> Result<Artifact, StoreError> {
        let manifest = self.read_manifest(key)?;
        let dir = self.dir(key);
        let mut files = BTreeMap::new();
        for (name, entry) in &manifest.files {
            validate_name("file name", name)?;
            let path = dir.join(name);
            let bytes = match fs::read(&path) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(StoreError::MissingFile {
                        key: key.to_string(),
                        file: name.clone(),
                    });
                }
                Err(e) => return Err(StoreError::io(&path, e)),
            };
            let actual = sha256_bytes(&bytes);
            if actual != entry.sha256 {
                return Err(StoreError::CorruptFile {
                    key: key.to_string(),
                    file: name.clone(),
                    expected: entry.sha256.clone(),
                    actual,
                });
            }
            files.insert(name.clone(), bytes);
        }
        Ok(Artifact { manifest, files })
    }

    fn manifest(&self, key: &ArtifactKey) -> Result<Manifest, StoreError> {
        self.read_manifest(key)
    }

    fn export_file(&self, key: &ArtifactKey, name: &str, dest: &Path) -> Result<(), StoreError> {
        let manifest = self.read_manifest(key)?;
        let entry = manifest.entry(name)?;
        validate_name("file name", name)?;
        let source = self.dir(key).join(name);
        if !source.is_file() {
            return Err(StoreError::MissingFile {
                key: key.to_string(),
                file: name.into(),
            });
        }
        let partial = partial_path(dest);
        let copied = copy_synced(&source, &partial);
        let result = copied.and_then(|copy| {
            if copy.sha256 == entry.sha256 {
                fs::rename(&partial, dest).map_err(|e| StoreError::io(dest, e))
            } else {
                Err(StoreError::CorruptFile {
                    key: key.to_string(),
                    file: name.into(),
                    expected: entry.sha256.clone(),
                    actual: copy.sha256,
                })
            }
        });
        if result.is_err() {
            let _ = fs::remove_file(&partial);
        }
        result
    }

    fn versions(&self, class: ArtifactClass, name: &str) -> Result<Vec<String>, StoreError> {
        validate_name("name", name)?;
        self.list_dir(&self.root.join(class.dir()).join(name))
    }

    fn names(&self, class: ArtifactClass) -> Result<Vec<String>, StoreError> {
        let dir = self.root.join(class.dir());
        // Deleting the last version leaves the name's directory; removing it there could race a
        // writer putting a new version, so empty names are skipped here instead.
        let mut names = Vec::new();
        for name in self.list_dir(&dir)? {
            if !self.list_dir(&dir.join(&name))?.is_empty() {
                names.push(name);
            }
        }
        Ok(names)
    }

    fn delete(&self, key: &ArtifactKey) -> Result<(), StoreError> {
        key.validate()?;
        let dir = self.dir(key);
        if !dir.is_dir() {
            return Err(StoreError::NotFound(key.to_string()));
        }
        // Move out of sight first, so no reader ever sees a half-deleted artifact. A crash while
        // removing it leaves an abandoned stage, which the next open removes.
        let trash = self.stage()?;
        fs::rename(&dir, &trash.dir).map_err(|e| StoreError::io(&dir, e))?;
        if let Some(parent) = dir.parent() {
            sync_dir(parent)?;
        }
        fs::remove_dir_all(&trash.dir).map_err(|e| StoreError::io(&trash.dir, e))
    }
}

/// A staging directory and the lock that says its writer is alive. `dir` is not created here:
/// `put` creates it, `delete` renames an artifact to it. Dropping the stage removes the directory
/// (if still there), then the lock file, and only then releases the lock.
struct Stage {
    dir: PathBuf,
    lock_path: PathBuf,
    _lock: File,
}

impl Stage {
    fn new(staging: &Path) -> Result<Stage, StoreError> {
        loop {
            let n = STAGING_COUNTER.fetch_add(1, Ordering::Relaxed);
            let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
            // Unique enough to rarely collide across nodes; `create_new` makes a collision a retry.
            let id = format!("{nanos:x}-{}-{n}", std::process::id());
            let lock_path = staging.join(format!("{id}.lock"));
            let lock = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock_path);
            let lock = match lock {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(StoreError::io(&lock_path, e)),
            };
            lock.lock().map_err(|e| StoreError::io(&lock_path, e))?;
            // Between creating the file and locking it, a cleaner may have found it unlocked and
            // removed it: then this lock guards nothing anybody can see, so start again.
            if same_file(&lock, &lock_path) {
                return Ok(Stage {
                    dir: staging.join(id),
                    lock_path,
                    _lock: lock,
                });
            }
        }
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir_all(&self.dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %self.dir.display(), error = %e, "cannot remove a staging directory");
            // Keep the lock file: without it the directory would look like a lock-less leftover,
            // and the next open removes it once this process has let go of the lock.
            return;
        }
        let _ = fs::remove_file(&self.lock_path);
    }
}

/// Removes every staging directory whose writer is gone: its lock is free (or its lock file is
/// missing, which no writer of this version leaves behind while it writes).
fn remove_abandoned_stages(staging: &Path) -> Result<(), StoreError> {
    let io = |e| StoreError::io(staging, e);
    let mut names = Vec::new();
    for entry in fs::read_dir(staging).map_err(io)? {
        names.push(entry.map_err(io)?.file_name());
    }
    for name in &names {
        let path = staging.join(name);
        let Some(text) = name.to_str() else { continue };
        if let Some(id) = text.strip_suffix(".lock") {
            let file = match OpenOptions::new().write(true).open(&path) {
                Ok(file) => file,
                // Its writer finished (or another cleaner was quicker) after the listing.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(StoreError::io(&path, e)),
            };
            match file.try_lock() {
                Ok(()) => {
                    remove_if_present(&staging.join(id))?;
                    remove_if_present(&path)?;
                }
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => return Err(StoreError::io(&path, e)),
            }
        } else if fs::symlink_metadata(staging.join(format!("{text}.lock"))).is_err() {
            // A lock-less directory, left by a version that named stages by PID (or put there by
            // hand). A writer creates its lock file before its directory and removes it only
            // after the directory is gone, so asking now (not trusting the listing, which may
            // miss entries created while it runs) cannot catch a live writer without its lock.
            remove_if_present(&path)?;
        }
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    let result = if path.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::io(path, e)),
        _ => Ok(()),
    }
}

/// Whether the open `file` is still the one at `path`.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

/// Copies `from` to `to` in 1 MiB pieces, hashing as it goes, and fsyncs the copy: an upload of
/// gigabytes never sits in memory.
pub(crate) fn copy_synced(from: &Path, to: &Path) -> Result<FileEntry, StoreError> {
    let mut src = File::open(from).map_err(|e| StoreError::io(from, e))?;
    let mut dst = File::create(to).map_err(|e| StoreError::io(to, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(StoreError::io(from, e)),
        };
        hasher.update(&buf[..n]);
        dst.write_all(&buf[..n])
            .map_err(|e| StoreError::io(to, e))?;
        bytes += n as u64;
    }
    dst.sync_all().map_err(|e| StoreError::io(to, e))?;
    Ok(FileEntry {
        sha256: hex::encode(hasher.finalize()),
        bytes,
    })
}

/// Where an export is written before it is verified and renamed to `dest`.
pub(crate) fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    dest.with_file_name(name)
}

pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut file = File::create(path).map_err(|e| StoreError::io(path, e))?;
    file.write_all(bytes).map_err(|e| StoreError::io(path, e))?;
    file.sync_all().map_err(|e| StoreError::io(path, e))
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_naturally() {
        let mut v = vec!["v10", "v2", "v1", "step-000100", "step-000020"];
        v.sort_by(|a, b| version_order(a, b));
        assert_eq!(v, ["step-000020", "step-000100", "v1", "v2", "v10"]);
    }

    #[test]
    fn names_are_checked() {
        for bad in ["", "..", ".hidden", "a/b", "a b", &"x".repeat(129)] {
            assert!(validate_name("name", bad).is_err(), "{bad:?}");
        }
        assert!(validate_name("name", "digits-mlp_v1.2").is_ok());
    }
}
