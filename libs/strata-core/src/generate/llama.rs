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
use candle_transformers::quantized_nn::RmsNorm;

use super::gguf::{Gguf, LlamaConfig};
use crate::Result;

/// A weight matrix, held once or twice: decode rows (one token per sequence, memory-bound) run
/// on a quantized copy, prompt rows (compute-bound) on a dense one when there is one. The choice
/// is per row and fixed by the row's role, never by who else shares the step, so batching does
/// not change any sequence's numbers.
struct Linear {
    decode: QMatMul,
    prompt: Option<QMatMul>,
}

impl Linear {
    /// `x` holds `rows.decode` decode rows first, then each prompt chunk's rows. A dense matmul's
    /// rounding depends on how many rows it multiplies, so each prompt chunk gets its own: a
    /// sequence's chunks have the same sizes whoever shares the step (see [`PREFILL_CHUNK`]).
    fn forward(&self, x: &Tensor, rows: &Rows) -> Result<Tensor> {
        let Some(prompt) = &self.prompt else {
            return Ok(self.decode.forward(x)?);
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
    output: QMatMul,
    cos: Tensor,
    sin: Tensor,
    device: Device,
}

/// One sequence's keys and values, per layer; grows as the sequence does.
pub struct SeqCache {
    layers: Vec<KvCache>,
    len: usize,
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
        let norm = |name: &str| -> Result<RmsNorm> {
            Ok(RmsNorm::from_qtensor(
                gguf.tensor(name, &[h], device)?,
                c.rms_eps,
            )?)
        };
        let mat = |name: &str, rows: usize, cols: usize| -> Result<Linear> {
            let t = gguf.tensor(name, &[rows, cols], device)?;
            let prompt = match weights {
                Weights::Fast if !device.is_cuda() => Some(QMatMul::Tensor(t.dequantize(device)?)),
                _ => None,
            };
            Ok(Linear {
                decode: QMatMul::from_qtensor(requantize(t, weights)?)?,
                prompt,
            })
        };
        let embed_q = gguf.tensor("token_embd.weight", &[c.vocab, h], device)?;
        let embed = embed_q.dequantize(device)?;
        // Models with tied embeddings (SmolLM) have no output matrix of their own.
        let output = if gguf.has_tensor("output.weight") {
            mat("output.weight", c.vocab, h)?.decode
        } else {
            QMatMul::from_qtensor(embed_q)?
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
        SeqCache {
            layers: (0..self.config.layers)
                .map(|_| KvCache::new(2, CACHE_GROWTH))
                .collect(),
            len: 0,
        }
    }

    /// Runs one step over `chunks` and returns the logits after each chunk's last token,
    /// `[chunks, vocab]`. Every chunk must hold at least one token and stay within the context.
    pub fn step(&self, chunks: &mut [Chunk<'_>]) -> Result<Tensor> {
        let c = &self.config;
        let (nh, nkv, hd) = (c.heads, c.kv_heads, c.head_dim);
        let rep = nh / nkv;
        let mut ids = Vec::new();
        let mut positions = Vec::new();
        let mut last = Vec::with_capacity(chunks.len());
        let decode_chunks = chunks.iter().take_while(|c| !c.prompt).count();
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
        let cos = self.cos.index_select(&pos, 0)?;
        let sin = self.sin.index_select(&pos, 0)?;
        let scale = 1.0 / (hd as f64).sqrt();
        let mut x = self.embed.index_select(&ids, 0)?;
        for (li, layer) in self.layers.iter().enumerate() {
            let h = layer.attn_norm.forward(&x)?;
            // [tokens, heads * hd] -> [1, heads, tokens, hd], rotated by each token's position.
            let heads = |t: Tensor, n: usize| -> Result<Tensor> {
                Ok(t.reshape((total, n, hd))?
                    .transpose(0, 1)?
                    .unsqueeze(0)?
                    .contiguous()?)
            };
            let q = candle_nn::rotary_emb::rope_i(
                &heads(layer.wq.forward(&h, &rows)?, nh)?,
                &cos,
                &sin,
            )?;
            let k = candle_nn::rotary_emb::rope_i(
                &heads(layer.wk.forward(&h, &rows)?, nkv)?,
                &cos,
                &sin,
            )?;
            let v = heads(layer.wv.forward(&h, &rows)?, nkv)?;
            let mut outs = Vec::with_capacity(chunks.len());
            let mut off = 0;
            for chunk in chunks.iter_mut() {
                let t = chunk.tokens.len();
                let start = chunk.cache.len;
                let ks = k.narrow(2, off, t)?.contiguous()?;
                let vs = v.narrow(2, off, t)?.contiguous()?;
                let (ks, vs) = chunk.cache.layers[li].append(&ks, &vs)?;
                let len = start + t;
                // Grouped-query attention without copying keys per head: the `rep` query heads
                // of one KV head are stacked as rows against that head's keys.
                let qs = q
                    .narrow(2, off, t)?
                    .contiguous()?
                    .reshape((nkv, rep * t, hd))?;
                let ks = ks.squeeze(0)?;
                let vs = vs.squeeze(0)?;
                let att = (qs.matmul(&ks.t()?)? * scale)?;
                let att = if t > 1 {
                    let mask = causal_mask(t, start, &self.device)?;
                    att.reshape((nkv, rep, t, len))?
                        .broadcast_add(&mask)?
                        .reshape((nkv, rep * t, len))?
                } else {
                    att
                };
                let att = candle_nn::ops::softmax_last_dim(&att)?;
                let o = att.matmul(&vs)?; // [nkv, rep * t, hd]
                outs.push(
                    o.reshape((nh, t, hd))?
                        .transpose(0, 1)?
                        .reshape((t, nh * hd))?,
                );
                off += t;
            }
            let attn = Tensor::cat(&outs, 0)?;
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
    /// Decode on quantized weights, converting types candle has no fast CPU kernels for (Q4_1,
    /// Q5_0, Q5_1) to Q8_0; prompts on a dense f32 copy (CPU only), which runs them several
    /// times faster for about four bytes per parameter more memory.
    #[default]
    Fast,
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
