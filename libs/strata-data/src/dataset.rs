//! Parquet datasets: declared schema, validation, streaming record batches.
//!
//! Columns are checked against the declared [`DatasetSchema`] from the Parquet footer alone, so
//! `open` is cheap for any file size. Values (nulls, NaN/inf, labels) are checked batch by batch
//! while streaming; only the declared columns are decoded (projection).
//!
//! Every read is bounded by [`DatasetLimits`]: the footer's shape (size, nesting, columns, rows) is
//! checked before the parquet crate parses it, the declared columns' uncompressed pages before they
//! are decoded, and values (string lengths, classes, decoded bytes) as they stream. Text is decoded
//! as string views, which share a dictionary page's buffer instead of copying each repeated value,
//! so a tiny file of one long dictionary string repeated a million times stays small in memory.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Float32Type, Int64Type, Schema};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use serde::{Deserialize, Serialize};

use crate::DataError;
use crate::limits::{DatasetLimits, Limit, check_footer};

/// Which columns of a table mean what. A model kind asks for features or text, and usually a label.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetSchema {
    /// Numeric scalar columns, in this order, forming the feature vector.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    /// A UTF-8 column of input text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// An integer (class index) or UTF-8 (class name) column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Class names; label `i` (integer labels) or the label equal to `classes[i]` (string labels)
    /// is class `i`. Empty means "infer from the data" when the dataset is opened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
}

impl DatasetSchema {
    fn columns(&self) -> Vec<&str> {
        let mut cols: Vec<&str> = self.features.iter().map(String::as_str).collect();
        cols.extend(self.text.as_deref());
        cols.extend(self.label.as_deref());
        cols
    }

    fn check(&self) -> Result<(), DataError> {
        if self.features.is_empty() && self.text.is_none() {
            return Err(DataError::InvalidSchema(
                "declare feature columns or a text column".into(),
            ));
        }
        let cols = self.columns();
        let unique: BTreeSet<&str> = cols.iter().copied().collect();
        if unique.len() != cols.len() {
            return Err(DataError::InvalidSchema(
                "a column is declared twice (as feature, text or label)".into(),
            ));
        }
        let classes: BTreeSet<&String> = self.classes.iter().collect();
        if classes.len() != self.classes.len() {
            return Err(DataError::InvalidSchema(
                "class names must be unique".into(),
            ));
        }
        Ok(())
    }
}

/// Rows decoded from the declared columns. Features are row-major, `rows * feature_dim` values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Examples {
    pub rows: usize,
    pub feature_dim: usize,
    pub features: Vec<f32>,
    pub texts: Vec<String>,
    pub labels: Vec<u32>,
}

impl Examples {
    /// The rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Examples {
        let d = self.feature_dim;
        let mut out = Examples {
            rows: indices.len(),
            feature_dim: d,
            ..Default::default()
        };
        for &i in indices {
            if d > 0 {
                out.features
                    .extend_from_slice(&self.features[i * d..(i + 1) * d]);
            }
            if !self.texts.is_empty() {
                out.texts.push(self.texts[i].clone());
            }
            if !self.labels.is_empty() {
                out.labels.push(self.labels[i]);
            }
        }
        out
    }

    fn append(&mut self, mut other: Examples) {
        self.rows += other.rows;
        self.features.append(&mut other.features);
        self.texts.append(&mut other.texts);
        self.labels.append(&mut other.labels);
    }
}

/// One column of a Parquet file as Arrow sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnInfo {
    pub name: String,
    pub data_type: String,
    pub nullable: bool,
    pub numeric: bool,
}

/// What `datasets inspect` shows: read from the footer only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInfo {
    pub path: PathBuf,
    pub rows: usize,
    pub row_groups: usize,
    pub bytes: u64,
    pub columns: Vec<ColumnInfo>,
}

impl DatasetInfo {
    /// Numeric columns other than `except`, in file order: the default feature set.
    pub fn numeric_columns_except(&self, except: &[&str]) -> Vec<String> {
        self.columns
            .iter()
            .filter(|c| c.numeric && !except.contains(&c.name.as_str()))
            .map(|c| c.name.clone())
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LabelKind {
    Int,
    Str,
}

/// An opened Parquet file whose columns match a declared schema.
#[derive(Debug, Clone)]
pub struct ParquetDataset {
    path: PathBuf,
    schema: DatasetSchema,
    rows: usize,
    label_kind: Option<LabelKind>,
    limits: DatasetLimits,
}

fn is_numeric(dt: &DataType) -> bool {
    dt.is_integer() || dt.is_floating()
}

fn is_text(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

impl ParquetDataset {
    /// Footer-only description of any Parquet file, within the default [`DatasetLimits`].
    pub fn info(path: &Path) -> Result<DatasetInfo, DataError> {
        Self::info_limited(path, &DatasetLimits::default())
    }

    /// Footer-only description of a Parquet file whose footer is within `limits`.
    pub fn info_limited(path: &Path, limits: &DatasetLimits) -> Result<DatasetInfo, DataError> {
        let builder = builder(path, limits)?;
        let meta = builder.metadata();
        let bytes = std::fs::metadata(path)
            .map_err(|source| DataError::Io {
                path: path.into(),
                source,
            })?
            .len();
        let columns = builder
            .schema()
            .fields()
            .iter()
            .map(|f| ColumnInfo {
                name: f.name().clone(),
                data_type: f.data_type().to_string(),
                nullable: f.is_nullable(),
                numeric: is_numeric(f.data_type()),
            })
            .collect();
        Ok(DatasetInfo {
            path: path.into(),
            rows: meta.file_metadata().num_rows().max(0) as usize,
            row_groups: meta.num_row_groups(),
            bytes,
            columns,
        })
    }

    /// [`Self::open_limited`] with the default [`DatasetLimits`].
    pub fn open(path: &Path, schema: &DatasetSchema) -> Result<Self, DataError> {
        Self::open_limited(path, schema, &DatasetLimits::default())
    }

    /// Opens `path`, checks that every declared column exists with a usable type, and resolves the
    /// class list (scanning only the label column when `schema.classes` is empty). Refuses a file
    /// beyond `limits` before decoding it where the footer tells, else as soon as a value does.
    pub fn open_limited(
        path: &Path,
        schema: &DatasetSchema,
        limits: &DatasetLimits,
    ) -> Result<Self, DataError> {
        schema.check()?;
        limits.check(
            Limit::Columns,
            schema.features.len() as u64,
            "the declared feature columns",
        )?;
        limits.check(
            Limit::Classes,
            schema.classes.len() as u64,
            "the declared classes",
        )?;
        for class in &schema.classes {
            limits.check(
                Limit::StringBytes,
                class.len() as u64,
                "a declared class name",
            )?;
        }
        let builder = builder(path, limits)?;
        let rows = builder.metadata().file_metadata().num_rows().max(0) as usize;
        let arrow_schema = builder.schema().clone();
        let column_type = |name: &str| -> Result<DataType, DataError> {
            arrow_schema
                .field_with_name(name)
                .map(|f| f.data_type().clone())
                .map_err(|_| DataError::MissingColumn {
                    column: name.into(),
                    available: arrow_schema
                        .fields()
                        .iter()
                        .map(|f| f.name().clone())
                        .collect(),
                })
        };
        for col in &schema.features {
            let dt = column_type(col)?;
            if !is_numeric(&dt) {
                return Err(wrong_type(col, "a numeric type (integer or float)", &dt));
            }
        }
        if let Some(col) = &schema.text {
            let dt = column_type(col)?;
            if !is_text(&dt) {
                return Err(wrong_type(col, "a UTF-8 string", &dt));
            }
        }
        let label_kind = match &schema.label {
            None => None,
            Some(col) => {
                let dt = column_type(col)?;
                if dt.is_integer() {
                    Some(LabelKind::Int)
                } else if is_text(&dt) {
                    Some(LabelKind::Str)
                } else {
                    return Err(wrong_type(col, "an integer or UTF-8 class label", &dt));
                }
            }
        };
        if rows == 0 {
            return Err(DataError::EmptyTable { path: path.into() });
        }
        check_decoded_size(&builder, schema, rows, limits)?;
        let mut ds = ParquetDataset {
            path: path.into(),
            schema: schema.clone(),
            rows,
            label_kind,
            limits: *limits,
        };
        if let (Some(kind), true) = (label_kind, schema.classes.is_empty()) {
            ds.schema.classes = ds.infer_classes(kind)?;
        }
        Ok(ds)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The declared schema, with `classes` filled in when it was inferred.
    pub fn schema(&self) -> &DatasetSchema {
        &self.schema
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn classes(&self) -> &[String] {
        &self.schema.classes
    }

    pub fn feature_dim(&self) -> usize {
        self.schema.features.len()
    }

    /// sha256 of the file's bytes: the dataset identity recorded in model manifests.
    pub fn sha256(&self) -> Result<String, DataError> {
        crate::sha256_file(&self.path).map_err(|source| DataError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Streams validated batches of at most `batch_rows` rows; memory stays bounded by the batch.
    pub fn batches(&self, batch_rows: usize) -> Result<Batches<'_>, DataError> {
        let cols = self.schema.columns();
        Ok(Batches {
            ds: self,
            reader: reader(&self.path, &cols, batch_rows.max(1), &self.limits)?,
            next_row: 0,
            decoded: 0,
        })
    }

    /// Every row of the declared columns, validated. Holds only the decoded values, never the file.
    pub fn read_all(&self) -> Result<Examples, DataError> {
        let mut all = Examples {
            feature_dim: self.feature_dim(),
            ..Default::default()
        };
        for batch in self.batches(8192)? {
            all.append(batch?);
        }
        Ok(all)
    }

    fn infer_classes(&self, kind: LabelKind) -> Result<Vec<String>, DataError> {
        let Some(col) = self.schema.label.as_deref() else {
            return Ok(Vec::new());
        };
        let mut row = 0;
        let mut max: i64 = -1;
        let mut names = BTreeSet::new();
        for batch in reader(&self.path, &[col], 8192, &self.limits)? {
            let batch = batch.map_err(|source| self.arrow_err(source))?;
            let array = column(&batch, col);
            check_no_nulls(col, array.as_ref(), row)?;
            match kind {
                LabelKind::Int => {
                    let ints = self.cast(array.as_ref(), &DataType::Int64)?;
                    for (i, v) in ints.as_primitive::<Int64Type>().values().iter().enumerate() {
                        if *v < 0 {
                            return Err(DataError::LabelOutOfRange {
                                row: row + i,
                                label: v.to_string(),
                                classes: 0,
                            });
                        }
                        // Label v means v + 1 class names: refuse before building them.
                        self.limits.check(
                            Limit::Classes,
                            (*v as u64).saturating_add(1),
                            format!("label {v} in row {} of `{col}`", row + i),
                        )?;
                        max = max.max(*v);
                    }
                }
                LabelKind::Str => {
                    for s in self.strings(col, array.as_ref(), row)? {
                        names.insert(s);
                    }
                    self.limits.check(
                        Limit::Classes,
                        names.len() as u64,
                        format!("the distinct labels of `{col}`"),
                    )?;
                }
            }
            row += batch.num_rows();
        }
        Ok(match kind {
            LabelKind::Int => (0..=max).map(|i| i.to_string()).collect(),
            LabelKind::Str => names.into_iter().collect(),
        })
    }

    fn convert(&self, batch: &RecordBatch, first_row: usize) -> Result<Examples, DataError> {
        let n = batch.num_rows();
        let d = self.feature_dim();
        let mut out = Examples {
            rows: n,
            feature_dim: d,
            ..Default::default()
        };
        if d > 0 {
            out.features = vec![0.0; n * d];
            for (j, col) in self.schema.features.iter().enumerate() {
                let array = column(batch, col);
                check_no_nulls(col, array.as_ref(), first_row)?;
                let floats = self.cast(array.as_ref(), &DataType::Float32)?;
                let values = floats.as_primitive::<Float32Type>().values();
                for (i, v) in values.iter().enumerate() {
                    if !v.is_finite() {
                        // Report the source value: a float64 overflow to inf shows as its real size.
                        let f64s = self.cast(array.as_ref(), &DataType::Float64)?;
                        let value = f64s
                            .as_primitive::<arrow::datatypes::Float64Type>()
                            .value(i);
                        return Err(DataError::NonFinite {
                            column: col.clone(),
                            row: first_row + i,
                            value,
                        });
                    }
                    out.features[i * d + j] = *v;
                }
            }
        }
        if let Some(col) = &self.schema.text {
            let array = column(batch, col);
            check_no_nulls(col, array.as_ref(), first_row)?;
            out.texts = self.strings(col, array.as_ref(), first_row)?;
        }
        if let (Some(col), Some(kind)) = (&self.schema.label, self.label_kind) {
            let array = column(batch, col);
            check_no_nulls(col, array.as_ref(), first_row)?;
            let classes = self.schema.classes.len();
            out.labels = match kind {
                LabelKind::Int => {
                    let ints = self.cast(array.as_ref(), &DataType::Int64)?;
                    let mut labels = Vec::with_capacity(n);
                    for (i, v) in ints.as_primitive::<Int64Type>().values().iter().enumerate() {
                        if *v < 0 || *v as u64 >= classes as u64 {
                            return Err(DataError::LabelOutOfRange {
                                row: first_row + i,
                                label: v.to_string(),
                                classes,
                            });
                        }
                        labels.push(*v as u32);
                    }
                    labels
                }
                LabelKind::Str => {
                    let index: HashMap<&str, u32> = self
                        .schema
                        .classes
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (c.as_str(), i as u32))
                        .collect();
                    let mut labels = Vec::with_capacity(n);
                    for (i, s) in self
                        .strings(col, array.as_ref(), first_row)?
                        .into_iter()
                        .enumerate()
                    {
                        match index.get(s.as_str()) {
                            Some(&c) => labels.push(c),
                            None => {
                                return Err(DataError::LabelOutOfRange {
                                    row: first_row + i,
                                    label: s,
                                    classes,
                                });
                            }
                        }
                    }
                    labels
                }
            };
        }
        Ok(out)
    }

    /// The values of a string column, each checked against the string limit before it is copied.
    fn strings(
        &self,
        col: &str,
        array: &dyn Array,
        first_row: usize,
    ) -> Result<Vec<String>, DataError> {
        let mut out = Vec::with_capacity(array.len());
        let mut push = |i: usize, s: Option<&str>| {
            let s = s.unwrap_or("");
            self.limits.check(
                Limit::StringBytes,
                s.len() as u64,
                format!("row {} of `{col}`", first_row + i),
            )?;
            out.push(s.to_owned());
            Ok::<(), DataError>(())
        };
        match array.data_type() {
            DataType::Utf8 => {
                for (i, s) in array.as_string::<i32>().iter().enumerate() {
                    push(i, s)?;
                }
            }
            DataType::LargeUtf8 => {
                for (i, s) in array.as_string::<i64>().iter().enumerate() {
                    push(i, s)?;
                }
            }
            DataType::Utf8View => {
                for (i, s) in array.as_string_view().iter().enumerate() {
                    push(i, s)?;
                }
            }
            _ => {}
        }
        Ok(out)
    }

    fn cast(&self, array: &dyn Array, to: &DataType) -> Result<arrow::array::ArrayRef, DataError> {
        arrow::compute::cast(array, to).map_err(|source| self.arrow_err(source))
    }

    fn arrow_err(&self, source: arrow::error::ArrowError) -> DataError {
        DataError::Arrow {
            path: self.path.clone(),
            source,
        }
    }
}

/// Iterator over validated batches; see [`ParquetDataset::batches`].
pub struct Batches<'a> {
    ds: &'a ParquetDataset,
    reader: ParquetRecordBatchReader,
    next_row: usize,
    /// Bytes of values handed out so far, against the decoded-size limit.
    decoded: u64,
}

impl Iterator for Batches<'_> {
    type Item = Result<Examples, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = match self.reader.next()? {
            Ok(b) => b,
            Err(source) => return Some(Err(self.ds.arrow_err(source))),
        };
        let first = self.next_row;
        self.next_row += batch.num_rows();
        let examples = match self.ds.convert(&batch, first) {
            Ok(e) => e,
            Err(e) => return Some(Err(e)),
        };
        let bytes = (examples.features.len() * 4 + examples.labels.len() * 4) as u64
            + examples.texts.iter().map(|t| t.len() as u64).sum::<u64>();
        self.decoded = self.decoded.saturating_add(bytes);
        if let Err(e) = self.ds.limits.check(
            Limit::DecodedBytes,
            self.decoded,
            format!("the values of rows 0..{}", self.next_row),
        ) {
            return Some(Err(e));
        }
        Some(Ok(examples))
    }
}

fn builder(
    path: &Path,
    limits: &DatasetLimits,
) -> Result<ParquetRecordBatchReaderBuilder<File>, DataError> {
    let (file, metadata) = reader_metadata(path, limits)?;
    Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(
        file, metadata,
    ))
}

/// The footer, parsed only after [`check_footer`] has bounded its shape.
fn reader_metadata(
    path: &Path,
    limits: &DatasetLimits,
) -> Result<(File, ArrowReaderMetadata), DataError> {
    check_footer(path, limits)?;
    let file = File::open(path).map_err(|source| DataError::Io {
        path: path.into(),
        source,
    })?;
    let metadata =
        ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(|source| {
            DataError::Parquet {
                path: path.into(),
                source,
            }
        })?;
    Ok((file, metadata))
}

/// Refuses, before decoding, a file whose declared columns decompress to more than the limit, or
/// whose rows would decode to more than it (4 bytes per feature and label, 16 per string view).
fn check_decoded_size(
    builder: &ParquetRecordBatchReaderBuilder<File>,
    schema: &DatasetSchema,
    rows: usize,
    limits: &DatasetLimits,
) -> Result<(), DataError> {
    let cols = schema.columns();
    let mut pages = 0u64;
    for rg in builder.metadata().row_groups() {
        for cc in rg.columns() {
            let root = cc.column_path().parts().first().map(String::as_str);
            if root.is_some_and(|r| cols.contains(&r)) {
                pages = pages.saturating_add(cc.uncompressed_size().max(0) as u64);
            }
        }
    }
    limits.check(
        Limit::DecodedBytes,
        pages,
        "the uncompressed pages of the declared columns",
    )?;
    let per_row = 4 * schema.features.len() as u64
        + if schema.label.is_some() { 4 } else { 0 }
        + if schema.text.is_some() { 16 } else { 0 };
    limits.check(
        Limit::DecodedBytes,
        per_row.saturating_mul(rows as u64),
        "the rows of the declared columns",
    )
}

fn reader(
    path: &Path,
    cols: &[&str],
    batch_rows: usize,
    limits: &DatasetLimits,
) -> Result<ParquetRecordBatchReader, DataError> {
    let (file, metadata) = reader_metadata(path, limits)?;
    // Strings of the projected columns as views: repeated dictionary values share one buffer.
    let fields: Vec<Field> = metadata
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let f = f.as_ref().clone();
            if cols.contains(&f.name().as_str()) && is_text(f.data_type()) {
                f.with_data_type(DataType::Utf8View)
            } else {
                f
            }
        })
        .collect();
    let options = ArrowReaderOptions::new().with_schema(Arc::new(Schema::new(fields)));
    // A column whose embedded Arrow type the crate cannot re-derive refuses a supplied schema;
    // such a file reads as the crate reads it, still under the page and value limits.
    let metadata =
        ArrowReaderMetadata::try_new(metadata.metadata().clone(), options).unwrap_or(metadata);
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata);
    let arrow_schema = builder.schema().clone();
    let roots: Vec<usize> = cols
        .iter()
        .filter_map(|c| arrow_schema.index_of(c).ok())
        .collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    builder
        .with_projection(mask)
        .with_batch_size(batch_rows)
        .build()
        .map_err(|source| DataError::Parquet {
            path: path.into(),
            source,
        })
}

/// Columns were checked at open, and the projection keeps them; a missing one is a bug here.
fn column(batch: &RecordBatch, name: &str) -> arrow::array::ArrayRef {
    match batch.column_by_name(name) {
        Some(c) => c.clone(),
        None => arrow::array::new_null_array(&DataType::Null, batch.num_rows()),
    }
}

fn check_no_nulls(col: &str, array: &dyn Array, first_row: usize) -> Result<(), DataError> {
    if array.null_count() == 0 {
        return Ok(());
    }
    let i = (0..array.len()).find(|&i| array.is_null(i)).unwrap_or(0);
    Err(DataError::Null {
        column: col.into(),
        row: first_row + i,
    })
}

fn wrong_type(column: &str, expected: &'static str, found: &DataType) -> DataError {
    DataError::WrongType {
        column: column.into(),
        expected,
        found: found.to_string(),
    }
}
