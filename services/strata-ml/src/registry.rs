//! The model registry: named models with immutable versions (`v1`, `v2`, ...) in the artifact
//! store, movable aliases in the metadata store, and the cache of loaded models.
//!
//! A model reference is `name`, `name@version` or `name@alias`; `latest` always means the newest
//! version. Alias names never look like versions (`v<digits>`), so a reference is unambiguous.
//! Every method here blocks (file I/O, model loading, metadata queries); async callers use
//! `spawn_blocking`.

use std::path::Path;
use std::sync::{Arc, Mutex};

use strata_core::{ClassPrediction, Device, Inputs, IoSchema, Model, Outputs, Registry};
use strata_data::{
    ArtifactClass, ArtifactKey, ArtifactStore, FileSource, Manifest, ManifestInfo, StoreError,
};
use strata_proto::strata::ml::v1 as pb;
use strata_runtime::metrics::{GENERATION_SEQUENCES, GENERATION_TOKENS_TOTAL, MODEL_CACHE_BYTES};

use crate::batcher::{BatchConfig, Batcher, QueueLimit};
use crate::convert;
use crate::error::{ServiceError, ServiceResult};
use strata_meta::MetadataStore;

pub const LATEST: &str = "latest";

/// One input of a batch.
pub enum Input {
    Features(Vec<f32>),
    Text(String),
}

/// One output of a batch.
pub enum Output {
    Class(ClassPrediction),
    Embedding(Vec<f32>),
}

/// A loaded model version with its batcher.
pub struct LoadedModel {
    pub key: ArtifactKey,
    pub schema: IoSchema,
    pub batcher: Batcher<Input, Output>,
    /// Counts tokens for usage accounting (text models only).
    pub tokenizer: Option<tokenizers::Tokenizer>,
    /// Text generators: the model and the engine that decodes its concurrent calls together.
    pub generator: Option<Arc<strata_core::generate::Generator>>,
    pub engine: Option<Arc<strata_core::generate::Engine>>,
    pub bytes: u64,
}

struct Cache {
    lru: lru::LruCache<ArtifactKey, Arc<LoadedModel>>,
    bytes: u64,
}

pub struct ModelRegistry {
    store: Arc<dyn ArtifactStore>,
    meta: Arc<dyn MetadataStore>,
    kinds: Arc<Registry>,
    device: Device,
    batch: BatchConfig,
    queue: Arc<QueueLimit>,
    cache_limit: u64,
    generation: strata_core::generate::Limits,
    cache: Mutex<Cache>,
    /// Runs metadata queries (async) from the blocking threads this registry is called on.
    runtime: tokio::runtime::Handle,
    /// Serialises alias changes against version deletes and loads of the same model.
    write_lock: Mutex<()>,
    load_lock: Mutex<()>,
}

/// `name`, `name@version` or `name@alias`.
pub fn parse_ref(reference: &str) -> ServiceResult<(&str, Option<&str>)> {
    let (name, tag) = match reference.split_once('@') {
        Some((n, t)) => (n, Some(t)),
        None => (reference, None),
    };
    convert::check_name("model name", name)?;
    if tag.is_some_and(str::is_empty) {
        return Err(ServiceError::InvalidArgument(format!(
            "model reference `{reference}` has an empty version or alias"
        )));
    }
    Ok((name, tag))
}

fn is_version_like(s: &str) -> bool {
    s.strip_prefix('v')
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

fn check_alias(alias: &str) -> ServiceResult<()> {
    let ok = !alias.is_empty()
        && alias.len() <= 64
        && alias
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        return Err(ServiceError::InvalidArgument(format!(
            "alias `{alias}` is invalid: use 1-64 characters of [a-z0-9-]"
        )));
    }
    if alias == LATEST || is_version_like(alias) {
        return Err(ServiceError::InvalidArgument(format!(
            "alias `{alias}` is reserved: `latest` and version-like names (v1, v2, ...) cannot be aliases"
        )));
    }
    Ok(())
}

impl ModelRegistry {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn ArtifactStore>,
        meta: Arc<dyn MetadataStore>,
        kinds: Arc<Registry>,
        device: Device,
        batch: BatchConfig,
        queue: Arc<QueueLimit>,
        cache_limit: u64,
    ) -> Self {
        metrics::gauge!(MODEL_CACHE_BYTES).set(0.0);
        ModelRegistry {
            store,
            meta,
            kinds,
            device,
            batch,
            queue,
            cache_limit,
            generation: strata_core::generate::Limits::default(),
            cache: Mutex::new(Cache {
                lru: lru::LruCache::unbounded(),
                bytes: 0,
            }),
            runtime: tokio::runtime::Handle::current(),
            write_lock: Mutex::new(()),
            load_lock: Mutex::new(()),
        }
    }

    /// Limits of the generation engine each loaded text generator gets.
    pub fn with_generation(mut self, limits: strata_core::generate::Limits) -> Self {
        self.generation = limits;
        self
    }

    fn aliases(&self, name: &str) -> ServiceResult<std::collections::BTreeMap<String, String>> {
        Ok(self.runtime.block_on(self.meta.aliases(name))?)
    }

    /// The version of `name` that training job `job` stored, with its test metrics, if any.
    pub fn version_made_by(
        &self,
        name: &str,
        job: &str,
    ) -> ServiceResult<Option<(String, pb::Metrics)>> {
        for version in self.versions(name)?.into_iter().rev() {
            let m = self
                .store
                .manifest(&ArtifactKey::new(ArtifactClass::Model, name, &version))?;
            if m.info.extra.get("training_job_id").and_then(|v| v.as_str()) == Some(job) {
                let metrics = m
                    .info
                    .metrics
                    .get("test")
                    .and_then(convert::metrics_json)
                    .unwrap_or_default();
                return Ok(Some((version, metrics)));
            }
        }
        Ok(None)
    }

    pub fn kinds(&self) -> &Registry {
        &self.kinds
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    fn versions(&self, name: &str) -> ServiceResult<Vec<String>> {
        Ok(self.store.versions(ArtifactClass::Model, name)?)
    }

    /// The exact version a reference means. NOT_FOUND for an unknown model, version or alias.
    pub fn resolve(&self, reference: &str) -> ServiceResult<ArtifactKey> {
        let (name, tag) = parse_ref(reference)?;
        let versions = self.versions(name)?;
        let Some(newest) = versions.last() else {
            return Err(ServiceError::NotFound(format!("model `{name}` not found")));
        };
        let version = match tag {
            None | Some(LATEST) => newest.clone(),
            Some(t) if versions.iter().any(|v| v == t) => t.to_owned(),
            Some(t) => self.aliases(name)?.get(t).cloned().ok_or_else(|| {
                ServiceError::NotFound(format!("model `{name}` has no version or alias `{t}`"))
            })?,
        };
        Ok(ArtifactKey::new(ArtifactClass::Model, name, version))
    }

    pub fn artifact(&self, key: &ArtifactKey) -> ServiceResult<strata_data::Artifact> {
        Ok(self.store.get(key)?)
    }

    /// A version's manifest, without reading its files.
    pub fn manifest(&self, key: &ArtifactKey) -> ServiceResult<strata_data::Manifest> {
        Ok(self.store.manifest(key)?)
    }

    pub fn version_message(&self, m: &Manifest) -> pb::ModelVersion {
        let info = &m.info;
        let text = |v: &serde_json::Value| {
            if v.is_null() {
                String::new()
            } else {
                v.to_string()
            }
        };
        let extra_str = |k: &str| {
            info.extra
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        pb::ModelVersion {
            version: m.key.version.clone(),
            kind: info.kind.clone(),
            io_schema_json: text(&info.schema),
            test_metrics: info.metrics.get("test").and_then(convert::metrics_json),
            hyperparameters_json: text(&info.hyperparameters),
            dataset_sha256: info.dataset_sha256.clone().unwrap_or_default(),
            training_job_id: extra_str("training_job_id"),
            base_model: extra_str("base_model"),
            owner: extra_str("owner"),
            size_bytes: m.files.values().map(|f| f.bytes).sum(),
            created_at: convert::timestamp(
                m.created_at.timestamp(),
                m.created_at.timestamp_subsec_nanos(),
            ),
        }
    }

    /// Who owns model `name`: the owner of its first version; `None` when the model does not
    /// exist yet or was made where callers were not verified.
    pub fn owner(&self, name: &str) -> ServiceResult<Option<String>> {
        let model = match self.model(name) {
            Ok(m) => m,
            Err(ServiceError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(model
            .versions
            .first()
            .map(|v| v.owner.clone())
            .filter(|o| !o.is_empty()))
    }

    /// Allows `caller` to change model `name` (train under it, import into it, move its aliases):
    /// its owner or an admin (see [`crate::callers::check_owner`]).
    pub fn check_owner(
        &self,
        caller: Option<&strata_runtime::caller::CallerClaims>,
        name: &str,
    ) -> ServiceResult<()> {
        crate::callers::check_owner(
            caller,
            self.owner(name)?.as_deref(),
            &format!("model `{name}`"),
        )
    }

    /// A model with all its versions (oldest first) and aliases.
    pub fn model(&self, name: &str) -> ServiceResult<pb::Model> {
        convert::check_name("model name", name)?;
        let versions = self.versions(name)?;
        if versions.is_empty() {
            return Err(ServiceError::NotFound(format!("model `{name}` not found")));
        }
        let mut out = Vec::with_capacity(versions.len());
        for v in versions {
            let m = self
                .store
                .manifest(&ArtifactKey::new(ArtifactClass::Model, name, v))?;
            out.push(self.version_message(&m));
        }
        Ok(pb::Model {
            name: name.to_owned(),
            versions: out,
            aliases: self.aliases(name)?.into_iter().collect(),
        })
    }

    pub fn names(&self) -> ServiceResult<Vec<String>> {
        Ok(self.store.names(ArtifactClass::Model)?)
    }

    pub fn set_alias(&self, name: &str, alias: &str, version: &str) -> ServiceResult<pb::Model> {
        convert::check_name("model name", name)?;
        check_alias(alias)?;
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        if !self.versions(name)?.iter().any(|v| v == version) {
            return Err(ServiceError::NotFound(format!(
                "model `{name}` has no version `{version}`"
            )));
        }
        self.runtime
            .block_on(self.meta.set_alias(name, alias, version))?;
        drop(_guard);
        self.model(name)
    }

    pub fn delete_version(&self, name: &str, version: &str) -> ServiceResult<()> {
        convert::check_name("model name", name)?;
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let aliases = self.aliases(name)?;
        let pointing: Vec<&String> = aliases
            .iter()
            .filter(|(_, v)| *v == version)
            .map(|(a, _)| a)
            .collect();
        if !pointing.is_empty() {
            return Err(ServiceError::FailedPrecondition(format!(
                "{name}@{version} is aliased as {}; move the alias first",
                pointing
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let key = ArtifactKey::new(ArtifactClass::Model, name, version);
        self.store.delete(&key)?;
        self.evict(&key);
        Ok(())
    }

    /// Stores a new version of `name` (the next `vN`) and returns its manifest.
    pub fn put_version(
        &self,
        name: &str,
        files: Vec<(String, FileSource)>,
        info: ManifestInfo,
    ) -> ServiceResult<Manifest> {
        convert::check_name("model name", name)?;
        // Two jobs may finish the same model at once; the loser takes the next number.
        for _ in 0..16 {
            let next = strata_data::next_version(&self.versions(name)?);
            let key = ArtifactKey::new(ArtifactClass::Model, name, next);
            match self.store.put(&key, files.clone(), info.clone()) {
                Err(StoreError::AlreadyExists(_)) => continue,
                other => return Ok(other?),
            }
        }
        Err(ServiceError::Internal(format!(
            "could not allocate a new version of `{name}`"
        )))
    }

    /// Imports a pretrained model directory on this machine as a new version.
    pub fn import(
        &self,
        name: &str,
        kind: &str,
        dir: &Path,
        owner: &str,
    ) -> ServiceResult<pb::ModelVersion> {
        convert::check_name("model name", name)?;
        let kind = self.kinds.get(kind)?;
        if !dir.is_dir() {
            return Err(ServiceError::NotFound(format!(
                "directory {} not found on the ML service",
                dir.display()
            )));
        }
        let mut files = kind.import(dir)?;
        record_owner(&mut files.info, owner);
        let manifest = self.put_version(name, files.files, files.info)?;
        Ok(self.version_message(&manifest))
    }

    /// The loaded model for `key`, loading it (once) on a miss and unloading least recently used
    /// models beyond the memory budget.
    pub fn load(&self, key: &ArtifactKey) -> ServiceResult<Arc<LoadedModel>> {
        if let Some(m) = self.cached(key) {
            return Ok(m);
        }
        let _loading = self.load_lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = self.cached(key) {
            return Ok(m);
        }
        // Only a real load gets a span: a cache hit costs nothing worth tracing.
        let _span = tracing::info_span!("model.load", model = %key).entered();
        let artifact = self.store.get(key)?;
        let bytes: u64 = artifact.manifest.files.values().map(|f| f.bytes).sum();
        let tokenizer = if artifact.has_file("tokenizer.json") {
            let mut t = tokenizers::Tokenizer::from_bytes(artifact.file("tokenizer.json")?)
                .map_err(|e| ServiceError::DataLoss(format!("{key}: tokenizer.json: {e}")))?;
            t.with_padding(None);
            Some(t)
        } else {
            None
        };
        let model: Arc<dyn Model> = Arc::from(self.kinds.load(artifact, &self.device)?);
        let schema = model.schema().clone();
        let generator = model.generator();
        let engine = match &generator {
            Some(g) => {
                let label = key.name.clone();
                let observe = move |s: &strata_core::generate::scheduler::Stats| {
                    use std::sync::atomic::Ordering::Relaxed;
                    for (state, n) in [
                        ("active", s.active.load(Relaxed)),
                        ("waiting", s.waiting.load(Relaxed)),
                    ] {
                        metrics::gauge!(GENERATION_SEQUENCES, "model" => label.clone(), "state" => state)
                            .set(n as f64);
                    }
                    metrics::counter!(GENERATION_TOKENS_TOTAL, "model" => label.clone(), "type" => "prompt")
                        .absolute(s.prompt_tokens.load(Relaxed));
                    metrics::counter!(GENERATION_TOKENS_TOTAL, "model" => label.clone(), "type" => "completion")
                        .absolute(s.generated_tokens.load(Relaxed));
                };
                Some(Arc::new(strata_core::generate::Engine::start(
                    g.clone(),
                    self.generation,
                    Box::new(observe),
                )?))
            }
            None => None,
        };
        let run_model = model.clone();
        let batcher = Batcher::spawn(self.batch, self.queue.clone(), move |items: Vec<Input>| {
            run_batch(&*run_model, items)
        });
        let loaded = Arc::new(LoadedModel {
            key: key.clone(),
            schema: schema.clone(),
            batcher,
            tokenizer: tokenizer.map(|mut t| {
                if let strata_core::InputSchema::Text { max_tokens } = &schema.input {
                    let _ = t.with_truncation(Some(tokenizers::TruncationParams {
                        max_length: *max_tokens,
                        ..Default::default()
                    }));
                }
                t
            }),
            generator,
            engine,
            bytes,
        });
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.bytes += bytes;
        cache.lru.put(key.clone(), loaded.clone());
        while cache.bytes > self.cache_limit && cache.lru.len() > 1 {
            if let Some((old, m)) = cache.lru.pop_lru() {
                tracing::info!(model = %old, bytes = m.bytes, "unloading model (cache budget)");
                cache.bytes -= m.bytes;
            }
        }
        if cache.bytes > self.cache_limit {
            tracing::warn!(model = %key, bytes, limit = self.cache_limit, "model is larger than the whole cache budget");
        }
        metrics::gauge!(MODEL_CACHE_BYTES).set(cache.bytes as f64);
        tracing::info!(model = %key, bytes, "model loaded");
        Ok(loaded)
    }

    fn cached(&self, key: &ArtifactKey) -> Option<Arc<LoadedModel>> {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .lru
            .get(key)
            .cloned()
    }

    fn evict(&self, key: &ArtifactKey) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = cache.lru.pop(key) {
            cache.bytes -= m.bytes;
            metrics::gauge!(MODEL_CACHE_BYTES).set(cache.bytes as f64);
        }
    }
}

/// Runs one batch through the model. Inputs were checked against the schema on submission, so
/// they all have the model's input type.
fn run_batch(model: &dyn Model, items: Vec<Input>) -> ServiceResult<Vec<Output>> {
    let inputs = match items.first() {
        Some(Input::Features(_)) => Inputs::Features(
            items
                .into_iter()
                .filter_map(|i| {
                    if let Input::Features(f) = i {
                        Some(f)
                    } else {
                        None
                    }
                })
                .collect(),
        ),
        Some(Input::Text(_)) => Inputs::Texts(
            items
                .into_iter()
                .filter_map(|i| {
                    if let Input::Text(t) = i {
                        Some(t)
                    } else {
                        None
                    }
                })
                .collect(),
        ),
        None => return Ok(Vec::new()),
    };
    Ok(match model.predict(&inputs)? {
        Outputs::Classes(c) => c.into_iter().map(Output::Class).collect(),
        Outputs::Embeddings(e) => e.into_iter().map(Output::Embedding).collect(),
    })
}

/// Writes the principal that made a version into its manifest (`extra.owner`).
pub fn record_owner(info: &mut strata_data::ManifestInfo, owner: &str) {
    if owner.is_empty() {
        return;
    }
    if info.extra.is_null() {
        info.extra = serde_json::json!({});
    }
    if let serde_json::Value::Object(extra) = &mut info.extra {
        extra.insert("owner".into(), owner.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_aliases_are_checked() {
        assert_eq!(parse_ref("digits").ok(), Some(("digits", None)));
        assert_eq!(
            parse_ref("digits@production").ok(),
            Some(("digits", Some("production")))
        );
        assert!(parse_ref("digits@").is_err());
        assert!(parse_ref("../x@v1").is_err());
        assert!(check_alias("production").is_ok());
        for bad in ["latest", "v2", "Prod", "", "a b"] {
            assert!(check_alias(bad).is_err(), "{bad}");
        }
    }
}
