//! A llama-family decoder on candle's quantized tensors, built for continuous batching.
//!
//! candle-transformers' `quantized_llama` keeps one KV cache inside the model, so it decodes one
//! sequence (or a rectangular batch) at a time. Here the cache belongs to each sequence
//! ([`SeqCache`]) and [`Llama::step`] takes chunks of several sequences at different positions:
//! their tokens are stacked into one `[tokens, hidden]` matrix, so every projection and feed-forward
//! matmul runs once per layer over all of them, and only attention (which reads each sequence's
//! own cache) runs per sequence. A chunk is one decode token or a slice of a prompt (chunked
//! prefill), so a long prompt shares steps with sequences that are decoding.
//!
//! Each token's arithmetic does not depend on which other tokens share the step (quantized matmul
//! is row-wise; attention is per sequence), so a sequence decodes the same text alone or batched.

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::kv_cache::KvCache;
use candle_nn::rotary_emb::rope_i;
use candle_transformers::quantized_nn::RmsNorm;

use super::gguf::{Gguf, LlamaConfig};
use super::quant::QuantMatrix;
use crate::Result;

/// A weight matrix, held once or twice: decode rows (one token per sequence, memory-bound) run
/// on a quantized copy, prompt rows (compute-bound) on a dense one when there is one. The choice
/// is per row and fixed by the row's role, never by who else shares the step, so batching does
/// not change any sequence's numbers.
struct Linear {
    decode: Quantized,
    prompt: Option<QMatMul>,
}

/// The quantized copy: Q4_1 and Q8_0 through our kernel on the CPU ([`QuantMatrix`]),
/// anything else through candle.
enum Quantized {
    Candle(QMatMul),
    Ours(QuantMatrix),
}

impl Quantized {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Quantized::Candle(m) => Ok(m.forward(x)?),
            Quantized::Ours(m) => {
                let rows = x.dim(0)?;
                let xs = x.flatten_all()?.to_vec1::<f32>()?;
                let mut out = vec![0f32; rows * m.rows()];
                m.matmul(&xs, &mut out);
                Ok(Tensor::from_vec(out, (rows, m.rows()), x.device())?)
            }
        }
    }
}

impl Linear {
    /// `x` holds `rows.decode` decode rows first, then each prompt chunk's rows. A dense matmul's
    /// rounding depends on how many rows it multiplies, so each prompt chunk gets its own: a
    /// sequence's chunks have the same sizes whoever shares the step (see [`PREFILL_CHUNK`]).
    fn forward(&self, x: &Tensor, rows: &Rows) -> Result<Tensor> {
        let Some(prompt) = &self.prompt else {
            return self.decode.forward(x);
        };
        let mut parts = Vec::with_capacity(rows.prompt.len() + 1);
        if rows.decode > 0 {
            parts.push(self.decode.forward(&x.narrow(0, 0, rows.decode)?)?);
        }
        let mut at = rows.decode;
        for &n in &rows.prompt {
            parts.push(prompt.forward(&x.narrow(0, at, n)?)?);
            at += n;
        }
        Ok(Tensor::cat(&parts, 0)?)
    }
}

/// How a step's rows divide: decode rows first, then prompt chunks of these sizes.
struct Rows {
    decode: usize,
    prompt: Vec<usize>,
}

/// Most prompt tokens of one sequence in one step. Prompts are always cut at multiples of this,
/// alone or batched, so their arithmetic (and the text that follows) does not depend on what
/// else is running.
pub const PREFILL_CHUNK: usize = 128;

struct Layer {
    attn_norm: RmsNorm,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    wo: Linear,
    ffn_norm: RmsNorm,
    gate: Linear,
    up: Linear,
    down: Linear,
}

pub struct Llama {
    pub config: LlamaConfig,
    embed: Tensor,
    layers: Vec<Layer>,
    norm: RmsNorm,
    output: Quantized,
    cos: Tensor,
    sin: Tensor,
    device: Device,
}

/// One sequence's keys and values, per layer; grows as the sequence does.
pub struct SeqCache {
    layers: Vec<LayerKv>,
    len: usize,
}

/// One layer's keys and values, token-major (`[tokens, kv_heads, head_dim]`). On the CPU they
/// are plain vectors, so decode attention reads them in place; on a GPU, candle tensors.
enum LayerKv {
    Host { k: Vec<f32>, v: Vec<f32> },
    Device(KvCache),
}

impl LayerKv {
    /// Appends `[t, kv_heads, head_dim]` keys and values; returns all of them so far.
    fn append_device(&mut self, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        match self {
            LayerKv::Device(cache) => Ok(cache.append(&k.contiguous()?, &v.contiguous()?)?),
            LayerKv::Host { .. } => Err(crate::CoreError::Schema(
                "a host cache takes host rows".into(),
            )),
        }
    }

    fn host_mut(&mut self) -> Result<(&mut Vec<f32>, &mut Vec<f32>)> {
        match self {
            LayerKv::Host { k, v } => Ok((k, v)),
            LayerKv::Device(_) => Err(crate::CoreError::Schema(
                "a device cache takes device rows".into(),
            )),
        }
    }
}

/// Appends rows to a host cache, growing it by whole [`CACHE_GROWTH`] steps (never doubling:
/// a long context would otherwise reserve up to twice its size). Values are kept at f16
/// precision, as llama.cpp's default f16 cache keeps them.
fn push_rows(cache: &mut Vec<f32>, rows: &[f32], row: usize) {
    if cache.len() + rows.len() > cache.capacity() {
        let tokens = (cache.len() + rows.len()).div_ceil(row);
        let want = tokens.div_ceil(CACHE_GROWTH) * CACHE_GROWTH * row;
        cache.reserve_exact(want - cache.len());
    }
    cache.extend(rows.iter().map(|&x| f16_round(x)));
}

/// `x` rounded to the nearest f16.
fn f16_round(x: f32) -> f32 {
    half::f16::from_f32(x).to_f32()
}

/// A tensor's values rounded to f16 precision, kept as f32.
fn f16_precision(t: &Tensor) -> Result<Tensor> {
    Ok(t.to_dtype(DType::F16)?.to_dtype(DType::F32)?)
}

impl SeqCache {
    /// Tokens already in the cache (the position of the next token).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Tokens of one sequence to run in a step, continuing its cache.
pub struct Chunk<'a> {
    pub tokens: &'a [u32],
    pub cache: &'a mut SeqCache,
    /// Prompt tokens (prefill) rather than the one token a decoding sequence feeds back.
    pub prompt: bool,
}

/// Growth step of a sequence's cache, in tokens: large enough that a reply rarely regrows, small
/// enough that a short request does not reserve the whole context.
const CACHE_GROWTH: usize = 256;

impl Llama {
    pub fn load(gguf: &Gguf<'_>, weights: Weights, device: &Device) -> Result<Self> {
        let c = gguf.llama_config()?;
        let (h, kv) = (c.hidden, c.kv_heads * c.head_dim);
        let ff = gguf
            .content
            .tensor_infos
            .get("blk.0.ffn_up.weight")
            .map(|t| t.shape.dims()[0])
            .unwrap_or(0);
        if ff == 0 {
            return Err(crate::CoreError::Schema(
                "the file has no feed-forward weights (blk.0.ffn_up.weight)".into(),
            ));
        }
        let norm = |name: &str| -> Result<RmsNorm> {
            Ok(RmsNorm::from_qtensor(
                gguf.tensor(name, &[h], device)?,
                c.rms_eps,
            )?)
        };
        let mat = |name: &str, rows: usize, cols: usize| -> Result<Linear> {
            let t = gguf.tensor(name, &[rows, cols], device)?;
            let prompt = match weights {
                Weights::Fast if device.is_cpu() => Some(QMatMul::Tensor(t.dequantize(device)?)),
                _ => None,
            };
            let decode = match ours(&t, device)? {
                Some(m) => Quantized::Ours(m),
                None => Quantized::Candle(QMatMul::from_qtensor(requantize(t, weights)?)?),
            };
            Ok(Linear { decode, prompt })
        };
        let embed_q = gguf.tensor("token_embd.weight", &[c.vocab, h], device)?;
        let embed = embed_q.dequantize(device)?;
        // Models with tied embeddings (SmolLM) have no output matrix of their own.
        let output = if gguf.has_tensor("output.weight") {
            mat("output.weight", c.vocab, h)?.decode
        } else {
            match ours(&embed_q, device)? {
                Some(m) => Quantized::Ours(m),
                None => Quantized::Candle(QMatMul::from_qtensor(embed_q)?),
            }
        };
        let mut layers = Vec::with_capacity(c.layers);
        for i in 0..c.layers {
            let p = |n: &str| format!("blk.{i}.{n}");
            layers.push(Layer {
                attn_norm: norm(&p("attn_norm.weight"))?,
                wq: mat(&p("attn_q.weight"), h, h)?,
                wk: mat(&p("attn_k.weight"), kv, h)?,
                wv: mat(&p("attn_v.weight"), kv, h)?,
                wo: mat(&p("attn_output.weight"), h, h)?,
                ffn_norm: norm(&p("ffn_norm.weight"))?,
                gate: mat(&p("ffn_gate.weight"), ff, h)?,
                up: mat(&p("ffn_up.weight"), ff, h)?,
                down: mat(&p("ffn_down.weight"), h, ff)?,
            });
        }
        let (cos, sin) = rope_tables(&c, device)?;
        Ok(Llama {
            norm: norm("output_norm.weight")?,
            config: c,
            embed,
            layers,
            output,
            cos,
            sin,
            device: device.clone(),
        })
    }

    pub fn new_cache(&self) -> SeqCache {
        let host = self.device.is_cpu();
        SeqCache {
            layers: (0..self.config.layers)
                .map(|_| {
                    if host {
                        LayerKv::Host {
                            k: Vec::new(),
                            v: Vec::new(),
                        }
                    } else {
                        LayerKv::Device(KvCache::new(0, CACHE_GROWTH))
                    }
                })
                .collect(),
            len: 0,
        }
    }

    /// Attention of one layer on the CPU: appends each chunk's keys and values to its cache,
    /// runs the decode rows (one token each) in [`decode_attention`] straight from the caches,
    /// and each prompt chunk through [`attend`]. Returns `[tokens, heads * head_dim]`.
    fn attend_host(
        &self,
        li: usize,
        chunks: &mut [Chunk<'_>],
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        decode_chunks: usize,
    ) -> Result<Tensor> {
        let c = &self.config;
        let (nh, nkv, hd) = (c.heads, c.kv_heads, c.head_dim);
        let q = q.flatten_all()?.to_vec1::<f32>()?;
        let k = k.flatten_all()?.to_vec1::<f32>()?;
        let v = v.flatten_all()?.to_vec1::<f32>()?;
        let (qrow, kvrow) = (nh * hd, nkv * hd);
        let mut out = vec![0f32; q.len()];
        let mut off = 0;
        for chunk in chunks.iter_mut() {
            let t = chunk.tokens.len();
            let (ck, cv) = chunk.cache.layers[li].host_mut()?;
            push_rows(ck, &k[off * kvrow..(off + t) * kvrow], kvrow);
            push_rows(cv, &v[off * kvrow..(off + t) * kvrow], kvrow);
            off += t;
        }
        // Decode rows come first, one per chunk.
        let caches: Vec<(&[f32], &[f32])> = chunks[..decode_chunks]
            .iter_mut()
            .map(|c| -> Result<(&[f32], &[f32])> {
                let (k, v) = c.cache.layers[li].host_mut()?;
                Ok((k.as_slice(), v.as_slice()))
            })
            .collect::<Result<_>>()?;
        decode_attention(
            &q[..decode_chunks * qrow],
            &caches,
            (nh, nkv, hd),
            &mut out[..decode_chunks * qrow],
        );
        let mut off = decode_chunks;
        for chunk in chunks[decode_chunks..].iter_mut() {
            let t = chunk.tokens.len();
            let start = chunk.cache.len;
            let (ck, cv) = chunk.cache.layers[li].host_mut()?;
            let len = start + t;
            let ks = Tensor::from_slice(&ck[..len * kvrow], (len, nkv, hd), &self.device)?;
            let vs = Tensor::from_slice(&cv[..len * kvrow], (len, nkv, hd), &self.device)?;
            let qs =
                Tensor::from_slice(&q[off * qrow..(off + t) * qrow], (t, nh, hd), &self.device)?;
            let o = attend(&qs, &ks, &vs, start, &self.device)?;
            out[off * qrow..(off + t) * qrow].copy_from_slice(&o.flatten_all()?.to_vec1::<f32>()?);
            off += t;
        }
        Ok(Tensor::from_vec(out, (off, qrow), &self.device)?)
    }

    /// Runs one step over `chunks` and returns the logits after each chunk's last token,
    /// `[chunks, vocab]`. Every chunk must hold at least one token and stay within the context.
    pub fn step(&self, chunks: &mut [Chunk<'_>]) -> Result<Tensor> {
        let c = &self.config;
        let (nh, nkv, hd) = (c.heads, c.kv_heads, c.head_dim);
        let mut ids = Vec::new();
        let mut positions = Vec::new();
        let mut last = Vec::with_capacity(chunks.len());
        let decode_chunks = chunks.iter().take_while(|c| !c.prompt).count();
        if chunks[..decode_chunks].iter().any(|c| c.tokens.len() != 1) {
            return Err(crate::CoreError::Schema(
                "a decode chunk holds one token".into(),
            ));
        }
        if chunks[decode_chunks..].iter().any(|c| !c.prompt) {
            return Err(crate::CoreError::Schema(
                "decode chunks come before prompt chunks in a step".into(),
            ));
        }
        let rows = Rows {
            decode: chunks[..decode_chunks].iter().map(|c| c.tokens.len()).sum(),
            prompt: chunks[decode_chunks..]
                .iter()
                .map(|c| c.tokens.len())
                .collect(),
        };
        if rows.prompt.iter().any(|&n| n > PREFILL_CHUNK) {
            return Err(crate::CoreError::Schema(format!(
                "a prompt chunk holds at most {PREFILL_CHUNK} tokens"
            )));
        }
        for chunk in chunks.iter() {
            if chunk.tokens.is_empty() || chunk.cache.len + chunk.tokens.len() > c.context {
                return Err(crate::CoreError::Schema(format!(
                    "a step chunk must hold 1 or more tokens within the {}-token context",
                    c.context
                )));
            }
            ids.extend_from_slice(chunk.tokens);
            positions.extend((0..chunk.tokens.len()).map(|i| (chunk.cache.len + i) as u32));
            last.push(ids.len() as u32 - 1);
        }
        let total = ids.len();
        let ids = Tensor::new(ids, &self.device)?;
        let pos = Tensor::new(positions, &self.device)?;
        // `[tokens, 1, hd / 2]`: rope_i's per-batch tables, one "batch" per token.
        let cos = self.cos.index_select(&pos, 0)?.unsqueeze(1)?;
        let sin = self.sin.index_select(&pos, 0)?.unsqueeze(1)?;
        let mut x = self.embed.index_select(&ids, 0)?;
        for (li, layer) in self.layers.iter().enumerate() {
            let h = layer.attn_norm.forward(&x)?;
            // Token-major `[tokens, heads, 1, hd]`, each row rotated by its own position.
            let q = rope_i(
                &layer.wq.forward(&h, &rows)?.reshape((total, nh, 1, hd))?,
                &cos,
                &sin,
            )?;
            let k = rope_i(
                &layer.wk.forward(&h, &rows)?.reshape((total, nkv, 1, hd))?,
                &cos,
                &sin,
            )?;
            let v = layer.wv.forward(&h, &rows)?;
            let attn = if self.device.is_cpu() {
                self.attend_host(li, chunks, &q, &k, &v, decode_chunks)?
            } else {
                let mut outs = Vec::with_capacity(chunks.len());
                let mut off = 0;
                for chunk in chunks.iter_mut() {
                    let t = chunk.tokens.len();
                    let start = chunk.cache.len;
                    let (ks, vs) = chunk.cache.layers[li].append_device(
                        &k.narrow(0, off, t)?.reshape((t, nkv, hd))?,
                        &v.narrow(0, off, t)?.reshape((t, nkv, hd))?,
                    )?;
                    let qs = q.narrow(0, off, t)?.reshape((t, nh, hd))?;
                    outs.push(attend(&qs, &ks, &vs, start, &self.device)?);
                    off += t;
                }
                Tensor::cat(&outs, 0)?
            };
            let x1 = (layer.wo.forward(&attn, &rows)? + &x)?;
            let h = layer.ffn_norm.forward(&x1)?;
            let gated = (candle_nn::ops::silu(&layer.gate.forward(&h, &rows)?)?
                * layer.up.forward(&h, &rows)?)?;
            x = (layer.down.forward(&gated, &rows)? + x1)?;
        }
        for chunk in chunks.iter_mut() {
            chunk.cache.len += chunk.tokens.len();
        }
        let last = Tensor::new(last, &self.device)?;
        let x = self.norm.forward(&x.index_select(&last, 0)?)?;
        Ok(self.output.forward(&x)?.to_dtype(DType::F32)?)
    }
}

/// How matmul weights are held in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weights {
    /// As the file stores them, for every row: the least memory.
    File,
    /// Decode on quantized weights (Q4_1 through [`QuantMatrix`] on the CPU; Q5_0 and Q5_1, which
    /// candle has no fast CPU kernels for, converted to Q8_0); prompts on a dense f32 copy (CPU
    /// only), which runs them faster for about four bytes per parameter more memory.
    #[default]
    Fast,
}

/// Our kernel's copy of a weight, where it runs (the CPU, with the vector kernel) and takes the
/// tensor's type.
fn ours(t: &QTensor, device: &Device) -> Result<Option<QuantMatrix>> {
    match device.is_cpu() && QuantMatrix::fast_here() {
        true => QuantMatrix::from_qtensor(t),
        false => Ok(None),
    }
}

fn requantize(t: QTensor, weights: Weights) -> Result<QTensor> {
    let slow = matches!(
        t.dtype(),
        GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1
    );
    if weights == Weights::File || !slow {
        return Ok(t);
    }
    let device = t.device();
    let dense = t.dequantize(&device)?;
    Ok(QTensor::quantize(&dense, GgmlDType::Q8_0)?)
}

/// Attention of one chunk of `t` tokens at positions `start..start + t`, on tensors: queries
/// `[t, heads, hd]` against a cache's `[start + t, kv_heads, hd]` keys and values. Grouped-query
/// attention without copying keys per head: the query heads that share a KV head are stacked as
/// rows against that head's keys. Returns `[t, heads * hd]`.
fn attend(q: &Tensor, k: &Tensor, v: &Tensor, start: usize, device: &Device) -> Result<Tensor> {
    let (t, nh, hd) = q.dims3()?;
    let (len, nkv, _) = k.dims3()?;
    let rep = nh / nkv;
    // llama.cpp (without flash attention) multiplies f16 keys by queries, and f16 values by
    // attention weights, each rounded to f16 first; rounding the same way keeps our logits next
    // to its own.
    let (q, k, v) = (f16_precision(q)?, f16_precision(k)?, f16_precision(v)?);
    let q = q
        .reshape((t, nkv, rep, hd))?
        .permute((1, 2, 0, 3))?
        .contiguous()?
        .reshape((nkv, rep * t, hd))?;
    let k = k.transpose(0, 1)?.contiguous()?;
    let v = v.transpose(0, 1)?.contiguous()?;
    let att = (q.matmul(&k.t()?)? * (1.0 / (hd as f64).sqrt()))?;
    let att = if t > 1 {
        att.reshape((nkv, rep, t, len))?
            .broadcast_add(&causal_mask(t, start, device)?)?
            .reshape((nkv, rep * t, len))?
    } else {
        att
    };
    let att = f16_precision(&candle_nn::ops::softmax_last_dim(&att)?)?;
    Ok(att
        .matmul(&v)?
        .reshape((nkv, rep, t, hd))?
        .permute((2, 0, 1, 3))?
        .reshape((t, nh * hd))?)
}

/// Attention of decode rows (one new token per sequence, already in its cache) read straight
/// from the host caches. candle's tensor ops cost a few microseconds each whatever their size, and
/// attention through them takes about twenty per sequence per layer: at eight sequences that
/// overhead, not arithmetic, was most of a decode step. Here a step's decode attention is one
/// parallel loop over (sequence, KV head); each sequence's result is the same whoever shares
/// the step. `q` and `out` are `[rows, heads * hd]`; `caches[i]` holds row i's `[len, kv_heads,
/// hd]` keys and values.
fn decode_attention(
    q: &[f32],
    caches: &[(&[f32], &[f32])],
    (nh, nkv, hd): (usize, usize, usize),
    out: &mut [f32],
) {
    let rep = nh / nkv;
    let scale = 1.0 / (hd as f32).sqrt();
    // One item per (row, KV head); its output (the `rep` query heads of that KV head) is one
    // contiguous run of `rep * hd` values.
    let items: Vec<std::sync::Mutex<&mut [f32]>> = out
        .chunks_mut(rep * hd)
        .map(std::sync::Mutex::new)
        .collect();
    let work = |item: usize| {
        let (row, g) = (item / nkv, item % nkv);
        let (k, v) = caches[row];
        let len = k.len() / (nkv * hd);
        let mut scores = vec![0f32; len];
        let Ok(mut dst) = items[item].lock() else {
            return;
        };
        for j in 0..rep {
            let head = g * rep + j;
            let qh: Vec<f32> = q[(row * nh + head) * hd..][..hd]
                .iter()
                .map(|&x| f16_round(x))
                .collect();
            let mut max = f32::NEG_INFINITY;
            for (p, s) in scores.iter_mut().enumerate() {
                *s = dot(&qh, &k[(p * nkv + g) * hd..][..hd]) * scale;
                max = max.max(*s);
            }
            let mut sum = 0f32;
            for s in scores.iter_mut() {
                *s = (*s - max).exp();
                sum += *s;
            }
            let inv = 1.0 / sum;
            let o = &mut dst[j * hd..(j + 1) * hd];
            o.fill(0.0);
            for (p, s) in scores.iter().enumerate() {
                let w = f16_round(s * inv);
                for (o, x) in o.iter_mut().zip(&v[(p * nkv + g) * hd..][..hd]) {
                    *o += w * x;
                }
            }
        }
    };
    let n = items.len();
    let positions: usize = caches.iter().map(|(k, _)| k.len() / (nkv * hd)).sum();
    // Short caches: the pool's wake-up would cost more than the loop.
    if positions * nkv < 4096 {
        (0..n).for_each(work);
    } else {
        candle_core::utils::barrier_pool().execute_chunked(n, |range| range.for_each(work));
    }
}

/// A dot product in eight lanes, which the compiler keeps in vector registers.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `[t, start + t]`: row i (position start + i) sees keys up to its own position.
fn causal_mask(t: usize, start: usize, device: &Device) -> Result<Tensor> {
    let len = start + t;
    let mask: Vec<f32> = (0..t)
        .flat_map(|i| {
            (0..len).map(move |j| {
                if j > start + i {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
        })
        .collect();
    Ok(Tensor::from_vec(mask, (t, len), device)?)
}

fn rope_tables(c: &LlamaConfig, device: &Device) -> Result<(Tensor, Tensor)> {
    let half = c.head_dim / 2;
    let inv: Vec<f32> = (0..half)
        .map(|i| 1.0 / c.rope_base.powf(2.0 * i as f32 / c.head_dim as f32))
        .collect();
    let inv = Tensor::from_vec(inv, (1, half), device)?;
    let pos = Tensor::arange(0u32, c.context as u32, device)?
        .to_dtype(DType::F32)?
        .reshape((c.context, 1))?;
    let freqs = pos.broadcast_mul(&inv)?;
    Ok((freqs.cos()?, freqs.sin()?))
}

/// Index of the largest logit and its lead over the runner-up.
pub fn top2(logits: &[f32]) -> (u32, f32) {
    let (mut best, mut second) = ((0usize, f32::NEG_INFINITY), f32::NEG_INFINITY);
    for (i, &v) in logits.iter().enumerate() {
        if v > best.1 {
            second = best.1;
            best = (i, v);
        } else if v > second {
            second = v;
        }
    }
    (best.0 as u32, best.1 - second)
}
