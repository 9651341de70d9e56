//! Reading a GGUF file: which architectures and tensor types the decoder supports, the model's
//! shape from its metadata, and clear refusals for everything else.
//!
//! The container format itself is parsed by candle (`candle_core::quantized::gguf_file`); this
//! module only decides whether what it found is something [`super::llama`] runs correctly.

use std::io::Cursor;

use candle_core::Device;
use candle_core::quantized::{GgmlDType, QTensor, gguf_file};

use crate::{CoreError, Result};

/// Architectures whose tensors and metadata [`super::llama::Llama`] reads. Mistral- and
/// SmolLM-style models are published as `llama`.
pub const ARCHITECTURES: &[&str] = &["llama"];

/// Tensor types candle's quantized matmul runs on CPU and CUDA alike.
pub const TENSOR_TYPES: &[GgmlDType] = &[
    GgmlDType::F32,
    GgmlDType::F16,
    GgmlDType::BF16,
    GgmlDType::Q4_0,
    GgmlDType::Q4_1,
    GgmlDType::Q5_0,
    GgmlDType::Q5_1,
    GgmlDType::Q8_0,
    GgmlDType::Q2K,
    GgmlDType::Q3K,
    GgmlDType::Q4K,
    GgmlDType::Q5K,
    GgmlDType::Q6K,
];

/// The shape of a llama-family decoder, from `{arch}.*` metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    pub layers: usize,
    pub hidden: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub context: usize,
    pub vocab: usize,
    pub rope_base: f32,
    pub rms_eps: f64,
}

/// A parsed GGUF file over its bytes.
pub struct Gguf<'a> {
    pub content: gguf_file::Content,
    bytes: &'a [u8],
}

fn bad(msg: impl std::fmt::Display) -> CoreError {
    CoreError::Config(format!("GGUF: {msg}"))
}

impl<'a> Gguf<'a> {
    /// Parses the header and checks architecture and tensor types, so an unsupported file is
    /// refused at import with the reason, not at first use.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let content = gguf_file::Content::read(&mut Cursor::new(bytes))
            .map_err(|e| bad(format!("not a readable GGUF file: {e}")))?;
        let gguf = Gguf { content, bytes };
        let arch = gguf.architecture()?;
        if !ARCHITECTURES.contains(&arch.as_str()) {
            return Err(bad(format!(
                "architecture `{arch}` is not supported; supported: {}",
                ARCHITECTURES.join(", ")
            )));
        }
        for (name, info) in &gguf.content.tensor_infos {
            if !TENSOR_TYPES.contains(&info.ggml_dtype) {
                return Err(bad(format!(
                    "tensor `{name}` is {:?}; supported types: {}",
                    info.ggml_dtype,
                    TENSOR_TYPES
                        .iter()
                        .map(|t| format!("{t:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            let end = gguf.content.tensor_data_offset as u128
                + info.offset as u128
                + tensor_bytes(info) as u128;
            if end > bytes.len() as u128 {
                return Err(bad(format!(
                    "tensor `{name}` lies past the end of the file"
                )));
            }
        }
        // Rope scaling changes positions in ways this decoder does not implement; refuse rather
        // than generate subtly wrong text.
        if gguf.content.tensor_infos.contains_key("rope_freqs.weight") {
            return Err(bad(
                "per-frequency rope scaling (rope_freqs) is not supported",
            ));
        }
        if let Ok(kind) = gguf.string(&format!("{arch}.rope.scaling.type"))
            && kind != "none"
        {
            return Err(bad(format!("rope scaling `{kind}` is not supported")));
        }
        gguf.llama_config()?;
        Ok(gguf)
    }

    pub fn architecture(&self) -> Result<String> {
        self.string("general.architecture")
    }

    pub fn value(&self, key: &str) -> Result<&gguf_file::Value> {
        self.content
            .metadata
            .get(key)
            .ok_or_else(|| bad(format!("metadata `{key}` is missing")))
    }

    pub fn string(&self, key: &str) -> Result<String> {
        self.value(key)?
            .to_string()
            .cloned()
            .map_err(|e| bad(format!("metadata `{key}`: {e}")))
    }

    pub fn usize(&self, key: &str) -> Result<usize> {
        let v = self.value(key)?;
        let n = v
            .to_u64()
            .or_else(|_| v.to_u32().map(u64::from))
            .or_else(|_| v.to_i32().map(|x| x.max(0) as u64))
            .map_err(|e| bad(format!("metadata `{key}`: {e}")))?;
        usize::try_from(n).map_err(|_| bad(format!("metadata `{key}` is too large")))
    }

    pub fn f64(&self, key: &str) -> Result<f64> {
        let v = self.value(key)?;
        v.to_f32()
            .map(f64::from)
            .or_else(|_| v.to_f64())
            .map_err(|e| bad(format!("metadata `{key}`: {e}")))
    }

    pub fn llama_config(&self) -> Result<LlamaConfig> {
        let arch = self.architecture()?;
        let key = |k: &str| format!("{arch}.{k}");
        let hidden = self.usize(&key("embedding_length"))?;
        let heads = self.usize(&key("attention.head_count"))?;
        let kv_heads = self.usize(&key("attention.head_count_kv")).unwrap_or(heads);
        let layers = self.usize(&key("block_count"))?;
        let context = self.usize(&key("context_length"))?;
        let vocab = match self.value("tokenizer.ggml.tokens") {
            Ok(v) => v.to_vec().map(Vec::len).unwrap_or(0),
            Err(_) => 0,
        };
        if hidden == 0
            || heads == 0
            || kv_heads == 0
            || hidden % heads != 0
            || heads % kv_heads != 0
        {
            return Err(bad(format!(
                "inconsistent attention shape: hidden {hidden}, heads {heads}, kv heads {kv_heads}"
            )));
        }
        let head_dim = hidden / heads;
        let rope_dim = self.usize(&key("rope.dimension_count")).unwrap_or(head_dim);
        if rope_dim != head_dim || head_dim % 2 != 0 {
            return Err(bad(format!(
                "rope over {rope_dim} of {head_dim} head dimensions is not supported"
            )));
        }
        // Bounds keep a hostile header from asking for absurd allocations before any tensor
        // is read (the rope tables are context x head_dim).
        if layers == 0 || layers > 512 || context == 0 || context > 1 << 20 || vocab == 0 {
            return Err(bad(format!(
                "implausible shape: {layers} layers, context {context}, vocabulary {vocab}"
            )));
        }
        Ok(LlamaConfig {
            layers,
            hidden,
            heads,
            kv_heads,
            head_dim,
            context,
            vocab,
            rope_base: self.f64(&key("rope.freq_base")).unwrap_or(10_000.0) as f32,
            rms_eps: self.f64(&key("attention.layer_norm_rms_epsilon"))?,
        })
    }

    pub fn has_tensor(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    /// Reads one tensor, checking its shape against what the decoder expects.
    pub fn tensor(&self, name: &str, dims: &[usize], device: &Device) -> Result<QTensor> {
        let t = self
            .content
            .tensor(&mut Cursor::new(self.bytes), name, device)
            .map_err(|e| bad(format!("tensor `{name}`: {e}")))?;
        if t.shape().dims() != dims {
            return Err(bad(format!(
                "tensor `{name}` has shape {:?}, expected {dims:?}",
                t.shape().dims()
            )));
        }
        Ok(t)
    }
}

fn tensor_bytes(info: &gguf_file::TensorInfo) -> usize {
    let elems = info.shape.elem_count();
    elems / info.ggml_dtype.block_size() * info.ggml_dtype.type_size()
}
