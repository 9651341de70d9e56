//! `strata.ml.v1.DatasetService`: Parquet uploads become immutable dataset artifacts.
//!
//! An upload streams to a private file under `<data>/uploads/<replica>`, bounded by the configured size,
//! is validated completely through strata-data (declared columns, every value), and only then
//! is put into the artifact store, atomically; until then no listing can see it. Its manifest
//! keeps the resolved schema (classes filled in), column statistics and the file's sha256.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use strata_data::{
    ArtifactClass, ArtifactKey, ArtifactStore, DatasetLimits, DatasetSchema, FileSource, Manifest,
    ManifestInfo, ParquetDataset,
};
use strata_proto::strata::ml::v1 as pb;
use strata_proto::strata::ml::v1::dataset_service_server::DatasetService;
use strata_proto::strata::ml::v1::upload_dataset_request::Part;
use tokio::io::AsyncWriteExt;
use tonic::{Request, Response, Status, Streaming};

use crate::convert;
use crate::error::{ServiceError, ServiceResult, blocking};
use crate::paging;

/// Datasets have one version each; the artifact name is the dataset id.
const VERSION: &str = "v1";
const FILE: &str = "data.parquet";

/// What the service adds to a dataset's manifest (`extra`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DatasetExtra {
    name: String,
    description: String,
    num_rows: u64,
    columns: Vec<ColumnRecord>,
    class_counts: Vec<u64>,
    /// Who uploaded it (see [`crate::callers::owner_of`]); absent before owners were recorded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    owner: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ColumnRecord {
    name: String,
    data_type: String,
    nullable: bool,
    numeric: bool,
    stats: Option<[f64; 4]>,
}

/// Blocking dataset operations over the artifact store.
pub struct Datasets {
    store: Arc<dyn ArtifactStore>,
    uploads: PathBuf,
    limits: DatasetLimits,
}

fn key(id: &str) -> ArtifactKey {
    ArtifactKey::new(ArtifactClass::Dataset, id, VERSION)
}

impl Datasets {
    /// `uploads`: this replica's own folder for uploads in progress.
    pub fn new(
        store: Arc<dyn ArtifactStore>,
        uploads: &Path,
        limits: DatasetLimits,
    ) -> std::io::Result<Self> {
        let uploads = uploads.to_owned();
        // Leftovers of uploads interrupted by a crash were never visible; drop them.
        if uploads.exists() {
            std::fs::remove_dir_all(&uploads)?;
        }
        std::fs::create_dir_all(&uploads)?;
        Ok(Datasets {
            store,
            uploads,
            limits,
        })
    }

    /// What an upload may make the server decode; training reads datasets under the same limits.
    pub fn limits(&self) -> &DatasetLimits {
        &self.limits
    }

    pub fn manifest(&self, id: &str) -> ServiceResult<Manifest> {
        convert::check_name("dataset id", id)?;
        self.store.manifest(&key(id)).map_err(|e| match e {
            strata_data::StoreError::NotFound(_) => {
                ServiceError::NotFound(format!("dataset `{id}` not found"))
            }
            e => e.into(),
        })
    }

    /// The dataset's declared schema, with classes resolved at upload.
    pub fn schema(&self, m: &Manifest) -> ServiceResult<DatasetSchema> {
        serde_json::from_value(m.info.schema.clone()).map_err(|e| {
            ServiceError::DataLoss(format!("dataset {}: unreadable schema: {e}", m.key.name))
        })
    }

    /// Writes the verified bytes of a dataset to `path` (for the core, which reads Parquet files),
    /// streamed where the store can.
    pub fn materialize(&self, id: &str, path: &Path) -> ServiceResult<()> {
        Ok(self.store.export_file(&key(id), FILE, path)?)
    }

    fn message(&self, m: &Manifest) -> ServiceResult<pb::Dataset> {
        let schema = self.schema(m)?;
        let extra: DatasetExtra = serde_json::from_value(m.info.extra.clone()).map_err(|e| {
            ServiceError::DataLoss(format!("dataset {}: unreadable manifest: {e}", m.key.name))
        })?;
        Ok(pb::Dataset {
            id: m.key.name.clone(),
            name: extra.name,
            description: extra.description,
            schema: Some(pb::DatasetSchema {
                feature_columns: schema.features.clone(),
                text_column: schema.text.clone().unwrap_or_default(),
                label_column: schema.label.clone().unwrap_or_default(),
                classes: schema.classes.clone(),
            }),
            num_rows: extra.num_rows,
            size_bytes: m.files.get(FILE).map(|f| f.bytes).unwrap_or_default(),
            sha256: m.info.dataset_sha256.clone().unwrap_or_default(),
            columns: extra
                .columns
                .into_iter()
                .map(|c| pb::ColumnInfo {
                    name: c.name,
                    data_type: c.data_type,
                    nullable: c.nullable,
                    numeric: c.numeric,
                    stats: c.stats.map(|[min, max, mean, stddev]| pb::ColumnStats {
                        min,
                        max,
                        mean,
                        stddev,
                    }),
                })
                .collect(),
            classes: schema.classes,
            created_at: convert::timestamp(
                m.created_at.timestamp(),
                m.created_at.timestamp_subsec_nanos(),
            ),
            class_counts: extra.class_counts,
            owner: extra.owner,
        })
    }

    pub fn get(&self, id: &str) -> ServiceResult<pb::Dataset> {
        self.message(&self.manifest(id)?)
    }

    /// Every dataset, newest first (ids are time-ordered).
    pub fn list(&self) -> ServiceResult<Vec<pb::Dataset>> {
        let mut ids = self.store.names(ArtifactClass::Dataset)?;
        ids.sort_unstable_by(|a, b| b.cmp(a));
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            match self.manifest(&id).and_then(|m| self.message(&m)) {
                Ok(d) => out.push(d),
                // One damaged dataset must not hide the others; GetDataset reports it.
                Err(e) => {
                    tracing::error!(dataset = %id, error = %e, "skipping unreadable dataset in listing")
                }
            }
        }
        Ok(out)
    }

    pub fn delete(&self, id: &str) -> ServiceResult<()> {
        self.manifest(id)?;
        Ok(self.store.delete(&key(id))?)
    }

    /// Validates an uploaded file and stores it as a new dataset.
    fn ingest(
        &self,
        file: &Path,
        meta: &pb::DatasetUploadMetadata,
        owner: &str,
    ) -> ServiceResult<pb::Dataset> {
        let declared = meta.schema.clone().unwrap_or_default();
        let info = ParquetDataset::info_limited(file, &self.limits)?;
        let label = (!declared.label_column.is_empty()).then(|| declared.label_column.clone());
        let text = (!declared.text_column.is_empty()).then(|| declared.text_column.clone());
        let features = if declared.feature_columns.is_empty() && text.is_none() {
            info.numeric_columns_except(&label.iter().map(String::as_str).collect::<Vec<_>>())
        } else {
            declared.feature_columns.clone()
        };
        let schema = DatasetSchema {
            features,
            text,
            label,
            classes: declared.classes.clone(),
        };
        let ds = ParquetDataset::open_limited(file, &schema, &self.limits)?;
        // Streaming every row validates every value (nulls, NaN, labels, limits) before anyone
        // sees it, holding one batch at a time.
        let d = ds.feature_dim();
        let mut stats = vec![[f64::INFINITY, f64::NEG_INFINITY, 0.0, 0.0]; d];
        let mut class_counts = vec![0u64; ds.classes().len()];
        let mut rows = 0usize;
        for batch in ds.batches(8192)? {
            let batch = batch?;
            rows += batch.rows;
            if d > 0 {
                for row in batch.features.chunks(d) {
                    for (s, &v) in stats.iter_mut().zip(row) {
                        let v = v as f64;
                        s[0] = s[0].min(v);
                        s[1] = s[1].max(v);
                        s[2] += v;
                        s[3] += v * v;
                    }
                }
            }
            for &l in &batch.labels {
                if let Some(c) = class_counts.get_mut(l as usize) {
                    *c += 1;
                }
            }
        }
        let n = rows.max(1) as f64;
        for s in &mut stats {
            let mean = s[2] / n;
            s[3] = (s[3] / n - mean * mean).max(0.0).sqrt();
            s[2] = mean;
        }
        let columns = info
            .columns
            .iter()
            .map(|c| ColumnRecord {
                name: c.name.clone(),
                data_type: c.data_type.clone(),
                nullable: c.nullable,
                numeric: c.numeric,
                stats: ds
                    .schema()
                    .features
                    .iter()
                    .position(|f| f == &c.name)
                    .map(|i| stats[i]),
            })
            .collect();
        let extra = DatasetExtra {
            name: meta.name.clone(),
            description: meta.description.clone(),
            num_rows: rows as u64,
            columns,
            class_counts,
            owner: owner.to_owned(),
        };
        check_description_size(&extra, ds.classes())?;
        let sha = ds.sha256()?;
        let id = format!("ds-{}", uuid::Uuid::now_v7().simple());
        let manifest = self.store.put(
            &key(&id),
            vec![(FILE.to_owned(), FileSource::Path(file.to_owned()))],
            ManifestInfo {
                kind: "parquet".into(),
                schema: serde_json::to_value(ds.schema()).unwrap_or_default(),
                dataset_sha256: Some(sha),
                extra: serde_json::to_value(&extra).unwrap_or_default(),
                ..Default::default()
            },
        )?;
        tracing::info!(dataset = %id, rows, "dataset stored");
        self.message(&manifest)
    }
}

/// Most bytes of names a dataset's message may carry (columns, classes, its own name and
/// description): half a listing page ([`paging::MAX_PAGE_BYTES`]), so any dataset can be listed
/// and fetched by a client with gRPC's default 4 MiB message limit. It follows from the other
/// limits' flags and the page size, so it has none of its own.
const MAX_DESCRIPTION_BYTES: usize = paging::MAX_PAGE_BYTES / 2;

fn check_description_size(extra: &DatasetExtra, classes: &[String]) -> ServiceResult<()> {
    let bytes = extra.name.len()
        + extra.description.len()
        + extra
            .columns
            .iter()
            .map(|c| c.name.len() + c.data_type.len() + 48)
            .sum::<usize>()
        + classes.iter().map(|c| c.len() + 12).sum::<usize>();
    if bytes > MAX_DESCRIPTION_BYTES {
        return Err(ServiceError::InvalidArgument(format!(
            "the dataset's column names, class names and description take {bytes} bytes; at most \
             {MAX_DESCRIPTION_BYTES} fit in a listing (fewer or shorter columns or classes)"
        )));
    }
    Ok(())
}

/// The gRPC face of [`Datasets`].
pub struct DatasetApi {
    pub datasets: Arc<Datasets>,
    pub max_upload_bytes: u64,
}

/// Removes the upload's temporary file however the upload ends.
struct TempUpload(PathBuf);

impl Drop for TempUpload {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl DatasetApi {
    async fn upload(
        &self,
        mut stream: Streaming<pb::UploadDatasetRequest>,
        owner: String,
    ) -> ServiceResult<pb::Dataset> {
        let status = |s: Status| {
            ServiceError::InvalidArgument(format!("upload stream failed: {}", s.message()))
        };
        let meta = match stream.message().await.map_err(status)? {
            Some(pb::UploadDatasetRequest {
                part: Some(Part::Metadata(m)),
            }) => m,
            _ => {
                return Err(ServiceError::InvalidArgument(
                    "the first upload message must carry `metadata`".into(),
                ));
            }
        };
        convert::check_name("dataset name", &meta.name)?;
        let temp = TempUpload(
            self.datasets
                .uploads
                .join(format!("{}.parquet", uuid::Uuid::now_v7().simple())),
        );
        let mut file = tokio::fs::File::create(&temp.0)
            .await
            .map_err(|e| ServiceError::write_failed("cannot create upload file", &e))?;
        let mut total: u64 = 0;
        while let Some(msg) = stream.message().await.map_err(status)? {
            let chunk = match msg.part {
                Some(Part::Chunk(c)) => c,
                _ => {
                    return Err(ServiceError::InvalidArgument(
                        "only the first upload message may carry metadata".into(),
                    ));
                }
            };
            total += chunk.len() as u64;
            if total > self.max_upload_bytes {
                return Err(ServiceError::ResourceExhausted(format!(
                    "the upload exceeds this server's limit of {} bytes",
                    self.max_upload_bytes
                )));
            }
            file.write_all(&chunk)
                .await
                .map_err(|e| ServiceError::write_failed("cannot write upload", &e))?;
        }
        file.flush()
            .await
            .map_err(|e| ServiceError::write_failed("cannot write upload", &e))?;
        drop(file);
        if total == 0 {
            return Err(ServiceError::InvalidArgument(
                "the upload has no file bytes".into(),
            ));
        }
        let datasets = self.datasets.clone();
        // Validation reads every row: its own span under the upload call, on the blocking thread.
        let span = tracing::info_span!("dataset.validate", bytes = total);
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let result = datasets
                .ingest(&temp.0, &meta, &owner)
                .map_err(|e| e.hide_path(&temp.0, "the uploaded file"));
            drop(temp);
            result
        })
        .await?
    }
}

#[tonic::async_trait]
impl DatasetService for DatasetApi {
    async fn upload_dataset(
        &self,
        request: Request<Streaming<pb::UploadDatasetRequest>>,
    ) -> Result<Response<pb::Dataset>, Status> {
        let owner = crate::callers::owner_of(crate::callers::caller_of(&request).as_ref());
        Ok(Response::new(
            self.upload(request.into_inner(), owner).await?,
        ))
    }

    async fn list_datasets(
        &self,
        request: Request<pb::ListDatasetsRequest>,
    ) -> Result<Response<pb::ListDatasetsResponse>, Status> {
        let req = request.into_inner();
        let datasets = self.datasets.clone();
        blocking(move || {
            let (datasets, next_page_token) = paging::page(
                datasets.list()?,
                |d| d.id.clone(),
                prost::Message::encoded_len,
                req.page_size,
                &req.page_token,
                true,
            )?;
            Ok(pb::ListDatasetsResponse {
                datasets,
                next_page_token,
            })
        })
        .await
    }

    async fn get_dataset(
        &self,
        request: Request<pb::GetDatasetRequest>,
    ) -> Result<Response<pb::Dataset>, Status> {
        let id = request.into_inner().id;
        let datasets = self.datasets.clone();
        blocking(move || datasets.get(&id)).await
    }

    async fn delete_dataset(
        &self,
        request: Request<pb::DeleteDatasetRequest>,
    ) -> Result<Response<pb::DeleteDatasetResponse>, Status> {
        let id = request.into_inner().id;
        let datasets = self.datasets.clone();
        blocking(move || datasets.delete(&id).map(|_| pb::DeleteDatasetResponse {})).await
    }
}
