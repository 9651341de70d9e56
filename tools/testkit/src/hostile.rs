//! Hostile Parquet files for the hardening tests: each is small on disk and would make a naive
//! reader build something huge, or crash it. Written with the parquet crate where it can express
//! the file, and by hand where it cannot (a schema nested deeper than its own writer recurses).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float32Array, Int64Array, RecordBatch, StringArray, StringViewBuilder,
};
use arrow::buffer::Buffer;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

fn write(path: &Path, cols: Vec<(&str, ArrayRef)>) -> PathBuf {
    let batch = RecordBatch::try_from_iter(cols).expect("columns of one length");
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(1 << 24))
        // Room for one long dictionary entry, so repeated values stay dictionary indices.
        .set_dictionary_page_size_limit(64 << 20)
        .build();
    let file = std::fs::File::create(path).expect("create hostile file");
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).expect("writer");
    w.write(&batch).expect("write batch");
    w.close().expect("close writer");
    path.to_owned()
}

/// Two rows whose integer label claims `label + 1` classes (feature `x`, label `y`).
pub fn huge_label(path: &Path, label: i64) -> PathBuf {
    write(
        path,
        vec![
            (
                "x",
                Arc::new(Float32Array::from(vec![0.0, 1.0])) as ArrayRef,
            ),
            ("y", Arc::new(Int64Array::from(vec![0, label]))),
        ],
    )
}

/// `rows` identical rows (feature `x`, label `y`): run-length encoded, a few hundred bytes.
pub fn many_rows(path: &Path, rows: usize) -> PathBuf {
    write(
        path,
        vec![
            (
                "x",
                Arc::new(Float32Array::from(vec![1.0; rows])) as ArrayRef,
            ),
            ("y", Arc::new(Int64Array::from(vec![0; rows]))),
        ],
    )
}

/// `rows` rows of text column `text` all holding one string of `len` bytes, label `label` "a":
/// one dictionary entry, so the file stays small while a copying reader allocates `rows * len`.
/// The column is built as views of one buffer, so writing it does not allocate that either.
pub fn long_strings(path: &Path, rows: usize, len: usize) -> PathBuf {
    let mut text = StringViewBuilder::with_capacity(rows);
    let block = text.append_block(Buffer::from_vec(vec![b'a'; len]));
    for _ in 0..rows {
        text.try_append_view(block, 0, len as u32)
            .expect("a view of the block");
    }
    write(
        path,
        vec![
            ("text", Arc::new(text.finish()) as ArrayRef),
            ("label", Arc::new(StringArray::from(vec!["a"; rows]))),
        ],
    )
}

/// A Parquet file (no row groups) whose schema nests `depth` groups around one int64 leaf. The
/// parquet crate builds schema trees recursively, so its writer cannot produce this and its
/// reader overflows the stack on it: the Thrift compact footer is written by hand.
pub fn deep_nesting(path: &Path, depth: usize) -> PathBuf {
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn zigzag(out: &mut Vec<u8>, v: i64) {
        varint(out, ((v << 1) ^ (v >> 63)) as u64);
    }
    // SchemaElement: 1 type, 3 repetition_type, 4 name, 5 num_children.
    fn element(out: &mut Vec<u8>, name: &str, children: Option<i32>, leaf: bool, root: bool) {
        let mut last = 0;
        let mut field = |out: &mut Vec<u8>, id: i16, ty: u8| {
            out.push((((id - last) as u8) << 4) | ty);
            last = id;
        };
        if leaf {
            field(out, 1, 5);
            zigzag(out, 2); // INT64
        }
        if !root {
            field(out, 3, 5);
            zigzag(out, 0); // REQUIRED
        }
        field(out, 4, 8);
        varint(out, name.len() as u64);
        out.extend_from_slice(name.as_bytes());
        if let Some(n) = children {
            field(out, 5, 5);
            zigzag(out, i64::from(n));
        }
        out.push(0);
    }
    let mut footer = vec![0x15, 0x02]; // 1: version = 1
    footer.push(0x19); // 2: schema, list
    footer.push(0xfc); // of structs, size as a varint
    varint(&mut footer, depth as u64 + 2);
    element(&mut footer, "schema", Some(1), false, true);
    for i in 0..depth {
        element(&mut footer, &format!("g{i}"), Some(1), false, false);
    }
    element(&mut footer, "leaf", None, true, false);
    footer.push(0x16); // 3: num_rows, i64
    zigzag(&mut footer, 0);
    footer.push(0x19); // 4: row_groups, list
    footer.push(0x0c); // empty, of structs
    footer.push(0);
    let mut file = b"PAR1".to_vec();
    file.extend_from_slice(&footer);
    file.extend_from_slice(&(footer.len() as u32).to_le_bytes());
    file.extend_from_slice(b"PAR1");
    std::fs::write(path, file).expect("write hostile file");
    path.to_owned()
}
