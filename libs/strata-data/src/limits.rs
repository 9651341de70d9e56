//! Limits on what a Parquet file may make the server decode, and the footer check that enforces the
//! structural ones before the parquet crate parses anything.
//!
//! Why a hand-written footer walk: the parquet crate builds its schema tree recursively while it
//! parses the footer (`schema_from_array_helper`), so a file whose schema nests groups a few
//! thousand levels deep overflows the thread's stack and kills the process before any API of the
//! crate returns. Nothing public in the crate reads the footer without building that tree, and no
//! other crate reads Parquet's Thrift footer, so [`check_footer`] walks the Thrift compact encoding
//! itself, iteratively, just far enough to read the flat schema list and the row count. It never
//! recurses deeper than [`MAX_THRIFT_NESTING`] and never allocates in proportion to the input.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::DataError;

/// Upper bounds on one dataset. Every one has a flag in the ML service (`--max-dataset-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatasetLimits {
    /// Rows, as the footer declares them (checked before decoding).
    pub max_rows: u64,
    /// Leaf columns of the file, and declared feature columns.
    pub max_columns: u64,
    /// Distinct classes (integer labels imply `max + 1` classes).
    pub max_classes: u64,
    /// Bytes of one text value or class name.
    pub max_string_bytes: u64,
    /// Bytes the declared columns may decode to: the uncompressed pages (checked before decoding)
    /// and the values as they are decoded.
    pub max_decoded_bytes: u64,
    /// Nesting depth of the schema (a flat table has depth 1).
    pub max_nesting_depth: u32,
    /// Bytes of the footer (schema and row-group metadata).
    pub max_footer_bytes: u64,
}

impl Default for DatasetLimits {
    fn default() -> Self {
        DatasetLimits {
            max_rows: 2_000_000,
            max_columns: 2_048,
            max_classes: 10_000,
            max_string_bytes: 64 * 1024,
            max_decoded_bytes: 1024 * 1024 * 1024,
            max_nesting_depth: 16,
            max_footer_bytes: 8 * 1024 * 1024,
        }
    }
}

/// Which limit a file exceeded; the service maps each to its flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    Rows,
    Columns,
    Classes,
    StringBytes,
    DecodedBytes,
    NestingDepth,
    FooterBytes,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::Rows => "rows",
            Limit::Columns => "columns",
            Limit::Classes => "classes",
            Limit::StringBytes => "string bytes",
            Limit::DecodedBytes => "decoded bytes",
            Limit::NestingDepth => "schema nesting depth",
            Limit::FooterBytes => "footer bytes",
        })
    }
}

impl DatasetLimits {
    pub(crate) fn check(
        &self,
        limit: Limit,
        found: u64,
        what: impl Into<String>,
    ) -> Result<(), DataError> {
        let max = match limit {
            Limit::Rows => self.max_rows,
            Limit::Columns => self.max_columns,
            Limit::Classes => self.max_classes,
            Limit::StringBytes => self.max_string_bytes,
            Limit::DecodedBytes => self.max_decoded_bytes,
            Limit::NestingDepth => u64::from(self.max_nesting_depth),
            Limit::FooterBytes => self.max_footer_bytes,
        };
        if found > max {
            return Err(DataError::LimitExceeded {
                limit,
                max,
                found,
                what: what.into(),
            });
        }
        Ok(())
    }
}

/// What the footer walk learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FooterShape {
    pub depth: u32,
    pub leaf_columns: u64,
    pub rows: u64,
}

/// Reads the footer of `path` and checks its size, schema depth, column count and row count
/// against `limits`, without building the schema tree. A file that is not plain Parquet (bad magic,
/// encrypted footer, malformed Thrift) passes through unchanged so the parquet crate reports it.
pub fn check_footer(path: &Path, limits: &DatasetLimits) -> Result<Option<FooterShape>, DataError> {
    let io = |source| DataError::Io {
        path: path.into(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len < 12 {
        return Ok(None);
    }
    let mut tail = [0u8; 8];
    file.seek(SeekFrom::End(-8)).map_err(io)?;
    file.read_exact(&mut tail).map_err(io)?;
    if &tail[4..] != b"PAR1" {
        return Ok(None);
    }
    let footer_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    limits.check(Limit::FooterBytes, footer_len, "the Parquet footer")?;
    if footer_len + 8 > len {
        return Ok(None);
    }
    let mut footer = vec![0u8; footer_len as usize];
    file.seek(SeekFrom::End(-8 - footer_len as i64))
        .map_err(io)?;
    file.read_exact(&mut footer).map_err(io)?;
    let Some(shape) = walk_file_metadata(&footer) else {
        return Ok(None);
    };
    limits.check(Limit::NestingDepth, u64::from(shape.depth), "the schema")?;
    limits.check(Limit::Columns, shape.leaf_columns, "the file's columns")?;
    limits.check(Limit::Rows, shape.rows, "the rows the footer declares")?;
    Ok(Some(shape))
}

/// Structs inside a schema element (logical types) nest a few levels; anything deeper is not a
/// Parquet footer.
const MAX_THRIFT_NESTING: u32 = 32;

// Thrift compact protocol type ids.
const T_BOOL_TRUE: u8 = 1;
const T_BOOL_FALSE: u8 = 2;
const T_BYTE: u8 = 3;
const T_I16: u8 = 4;
const T_I32: u8 = 5;
const T_I64: u8 = 6;
const T_DOUBLE: u8 = 7;
const T_BINARY: u8 = 8;
const T_LIST: u8 = 9;
const T_SET: u8 = 10;
const T_MAP: u8 = 11;
const T_STRUCT: u8 = 12;
const T_UUID: u8 = 13;

struct Compact<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Compact<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn zigzag(&mut self) -> Option<i64> {
        let v = self.varint()?;
        Some((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn skip_bytes(&mut self, n: u64) -> Option<()> {
        let end = self.pos.checked_add(usize::try_from(n).ok()?)?;
        (end <= self.buf.len()).then(|| self.pos = end)
    }

    /// Next field header of a struct: `None` at STOP. `last` tracks the delta-encoded field id.
    fn field(&mut self, last: &mut i16) -> Option<Option<(i16, u8)>> {
        let b = self.byte()?;
        if b == 0 {
            return Some(None);
        }
        let ty = b & 0x0f;
        let delta = b >> 4;
        let id = if delta == 0 {
            i16::try_from(self.zigzag()?).ok()?
        } else {
            last.checked_add(i16::from(delta))?
        };
        *last = id;
        Some(Some((id, ty)))
    }

    /// List or set header: (element type, size).
    fn list(&mut self) -> Option<(u8, u64)> {
        let b = self.byte()?;
        let size = match b >> 4 {
            15 => self.varint()?,
            n => u64::from(n),
        };
        Some((b & 0x0f, size))
    }

    fn skip(&mut self, ty: u8, nesting: u32) -> Option<()> {
        if nesting > MAX_THRIFT_NESTING {
            return None;
        }
        match ty {
            T_BOOL_TRUE | T_BOOL_FALSE => Some(()),
            T_BYTE => self.skip_bytes(1),
            T_I16 | T_I32 | T_I64 => self.varint().map(|_| ()),
            T_DOUBLE => self.skip_bytes(8),
            T_BINARY => {
                let n = self.varint()?;
                self.skip_bytes(n)
            }
            T_UUID => self.skip_bytes(16),
            T_LIST | T_SET => {
                let (elem, size) = self.list()?;
                for _ in 0..size {
                    // Bools inside containers take one byte each.
                    if elem == T_BOOL_TRUE || elem == T_BOOL_FALSE {
                        self.skip_bytes(1)?;
                    } else {
                        self.skip(elem, nesting + 1)?;
                    }
                }
                Some(())
            }
            T_MAP => {
                let size = self.varint()?;
                if size == 0 {
                    return Some(());
                }
                let kv = self.byte()?;
                for _ in 0..size {
                    self.skip(kv >> 4, nesting + 1)?;
                    self.skip(kv & 0x0f, nesting + 1)?;
                }
                Some(())
            }
            T_STRUCT => {
                let mut last = 0;
                while let Some((_, fty)) = self.field(&mut last)? {
                    self.skip(fty, nesting + 1)?;
                }
                Some(())
            }
            _ => None,
        }
    }
}

/// Reads `FileMetaData` fields 2 (schema: list of SchemaElement) and 3 (num_rows), and derives the
/// schema's depth and leaf count from each element's `num_children` (field 5) with an explicit
/// stack, so depth costs no recursion.
fn walk_file_metadata(buf: &[u8]) -> Option<FooterShape> {
    let mut p = Compact { buf, pos: 0 };
    let mut shape = FooterShape {
        depth: 0,
        leaf_columns: 0,
        rows: 0,
    };
    let (mut seen_schema, mut seen_rows) = (false, false);
    let mut last = 0;
    while let Some((id, ty)) = p.field(&mut last)? {
        match (id, ty) {
            (2, T_LIST) => {
                let (elem, size) = p.list()?;
                if elem != T_STRUCT {
                    return None;
                }
                // Children still expected at each open level of the tree.
                let mut open: Vec<u64> = Vec::new();
                for _ in 0..size {
                    let mut children = 0u64;
                    let mut flast = 0;
                    while let Some((fid, fty)) = p.field(&mut flast)? {
                        if fid == 5 && fty == T_I32 {
                            children = u64::try_from(p.zigzag()?).unwrap_or(0);
                        } else {
                            p.skip(fty, 1)?;
                        }
                    }
                    if let Some(top) = open.last_mut() {
                        *top -= 1;
                    }
                    let level = open.len() as u32 + 1;
                    shape.depth = shape.depth.max(level);
                    if children > 0 {
                        open.push(children);
                    } else if !open.is_empty() {
                        shape.leaf_columns += 1;
                    }
                    while open.last() == Some(&0) {
                        open.pop();
                    }
                }
                // The root (message) is not a level of the table itself.
                shape.depth = shape.depth.saturating_sub(1);
                seen_schema = true;
            }
            (3, T_I64) => {
                shape.rows = u64::try_from(p.zigzag()?).unwrap_or(0);
                seen_rows = true;
            }
            _ => p.skip(ty, 1)?,
        }
        if seen_schema && seen_rows {
            return Some(shape);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The footer bytes of a file strata-testkit's hostile writer made.
    fn footer_of(path: &Path) -> Vec<u8> {
        let bytes = std::fs::read(path).expect("read file");
        let n = bytes.len();
        let len = u32::from_le_bytes([bytes[n - 8], bytes[n - 7], bytes[n - 6], bytes[n - 5]]);
        bytes[n - 8 - len as usize..n - 8].to_vec()
    }

    #[test]
    fn flat_schema_has_depth_one_and_counts_leaves() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = strata_testkit::hostile::many_rows(&dir.path().join("f.parquet"), 7);
        let shape = walk_file_metadata(&footer_of(&path)).expect("walks");
        assert_eq!(
            shape,
            FooterShape {
                depth: 1,
                leaf_columns: 2,
                rows: 7
            }
        );
        assert_eq!(
            check_footer(&path, &DatasetLimits::default()).expect("within"),
            Some(shape)
        );
    }

    #[test]
    fn deep_nesting_is_measured_without_recursion() {
        let dir = tempfile::tempdir().expect("temp dir");
        let depth = 200_000;
        let path = strata_testkit::hostile::deep_nesting(&dir.path().join("d.parquet"), depth);
        let shape = walk_file_metadata(&footer_of(&path)).expect("walks");
        // The nested groups plus the level of the leaf inside them.
        assert_eq!(shape.depth as usize, depth + 1);
        assert_eq!(shape.leaf_columns, 1);
    }

    #[test]
    fn malformed_bytes_are_not_a_shape() {
        assert_eq!(walk_file_metadata(&[0x19, 0xfc, 0xff, 0xff]), None);
        assert_eq!(walk_file_metadata(&[]), None);
    }
}
