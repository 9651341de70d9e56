//! A BERT-family encoder (BERT, MiniLM, ...) in candle, shared by `text-encoder` and
//! `text-classifier`.
//!
//! Written here instead of using candle-transformers' `BertModel` for two reasons: the query,
//! key and value projections are fused into one matmul for inference (one packed GEMM instead of
//! three), and training takes differentiable code paths (candle-nn's fused layer-norm and
//! softmax kernels have no backward pass, so using them silently stops gradients).
//! Tensor names follow Hugging Face checkpoints (`embeddings.*`, `encoder.layer.N.*`, optionally
//! under `bert.`), so weights round-trip with the original files.

use std::collections::HashMap;

use candle_core::{D, DType, Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::{CoreError, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub position_embedding_type: Option<String>,
}

fn default_act() -> String {
    "gelu".into()
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    /// Exact GELU (erf), what BERT checkpoints call `gelu`.
    Gelu,
    /// Tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
    GeluTanh,
    Relu,
}

impl BertConfig {
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let cfg: BertConfig = serde_json::from_slice(bytes)
            .map_err(|e| CoreError::Config(format!("config.json is not a BERT config: {e}")))?;
        cfg.act()?;
        if cfg.hidden_size == 0
            || cfg.num_attention_heads == 0
            || !cfg.hidden_size.is_multiple_of(cfg.num_attention_heads)
        {
            return Err(CoreError::Config(
                "hidden_size must be a multiple of num_attention_heads".into(),
            ));
        }
        if let Some(p) = &cfg.position_embedding_type
            && p != "absolute"
        {
            return Err(CoreError::Config(format!(
                "position_embedding_type `{p}` is not supported (only absolute)"
            )));
        }
        Ok(cfg)
    }

    fn act(&self) -> Result<Act> {
        match self.hidden_act.as_str() {
            "gelu" => Ok(Act::Gelu),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Ok(Act::GeluTanh),
            "relu" => Ok(Act::Relu),
            other => Err(CoreError::Config(format!(
                "hidden_act `{other}` is not supported"
            ))),
        }
    }
}

struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        Ok(if train {
            candle_nn::ops::layer_norm_slow(x, &self.weight, &self.bias, self.eps as f32)?
        } else {
            candle_nn::ops::layer_norm(&x.contiguous()?, &self.weight, &self.bias, self.eps as f32)?
        })
    }
}

struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    /// `x` is `(rows, in)`.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.matmul(&self.weight.t()?)?.broadcast_add(&self.bias)?)
    }
}

struct Layer {
    q: Linear,
    k: Linear,
    v: Linear,
    /// q, k and v stacked, for inference.
    qkv: Option<Linear>,
    attn_out: Linear,
    attn_norm: LayerNorm,
    ffn_in: Linear,
    ffn_out: Linear,
    ffn_norm: LayerNorm,
}

pub struct Bert {
    word: Tensor,
    position: Tensor,
    token_type: Tensor,
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    act: Act,
    pub config: BertConfig,
}

/// The prefix under which a checkpoint stores the encoder (`""` or `"bert."`).
pub fn weights_prefix(names: impl IntoIterator<Item = impl AsRef<str>>) -> Result<String> {
    for name in names {
        let name = name.as_ref();
        if let Some(idx) = name.find("embeddings.word_embeddings.weight") {
            return Ok(name[..idx].to_owned());
        }
    }
    Err(CoreError::Config(
        "model.safetensors has no `embeddings.word_embeddings.weight`: not a BERT checkpoint"
            .into(),
    ))
}

/// The tensor names (without prefix) a BERT of `cfg` consists of.
pub fn parameter_names(cfg: &BertConfig) -> Vec<String> {
    let mut names: Vec<String> = [
        "embeddings.word_embeddings.weight",
        "embeddings.position_embeddings.weight",
        "embeddings.token_type_embeddings.weight",
        "embeddings.LayerNorm.weight",
        "embeddings.LayerNorm.bias",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for l in 0..cfg.num_hidden_layers {
        for part in [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
            "attention.output.LayerNorm",
            "intermediate.dense",
            "output.dense",
            "output.LayerNorm",
        ] {
            for p in ["weight", "bias"] {
                names.push(format!("encoder.layer.{l}.{part}.{p}"));
            }
        }
    }
    names
}

impl Bert {
    /// Builds the encoder from named tensors (`prefix` + Hugging Face names). With `fuse`, q/k/v
    /// are stacked once for inference; without it the tensors are used as given, so `Var`s keep
    /// receiving gradients.
    pub fn from_tensors(
        tensors: &HashMap<String, Tensor>,
        prefix: &str,
        cfg: &BertConfig,
        fuse: bool,
    ) -> Result<Self> {
        let get = |name: &str, shape: &[usize]| -> Result<Tensor> {
            let full = format!("{prefix}{name}");
            let t = tensors
                .get(&full)
                .ok_or_else(|| CoreError::Config(format!("model.safetensors lacks `{full}`")))?;
            if t.dims() != shape {
                return Err(CoreError::Config(format!(
                    "`{full}` has shape {:?}, config says {shape:?}",
                    t.dims()
                )));
            }
            Ok(t.to_dtype(DType::F32)?)
        };
        let h = cfg.hidden_size;
        let i = cfg.intermediate_size;
        let lin = |name: &str, out: usize, inp: usize| -> Result<Linear> {
            Ok(Linear {
                weight: get(&format!("{name}.weight"), &[out, inp])?,
                bias: get(&format!("{name}.bias"), &[out])?,
            })
        };
        let norm = |name: &str| -> Result<LayerNorm> {
            Ok(LayerNorm {
                weight: get(&format!("{name}.weight"), &[h])?,
                bias: get(&format!("{name}.bias"), &[h])?,
                eps: cfg.layer_norm_eps,
            })
        };
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for l in 0..cfg.num_hidden_layers {
            let p = format!("encoder.layer.{l}");
            let q = lin(&format!("{p}.attention.self.query"), h, h)?;
            let k = lin(&format!("{p}.attention.self.key"), h, h)?;
            let v = lin(&format!("{p}.attention.self.value"), h, h)?;
            let qkv = if fuse {
                Some(Linear {
                    weight: Tensor::cat(&[&q.weight, &k.weight, &v.weight], 0)?,
                    bias: Tensor::cat(&[&q.bias, &k.bias, &v.bias], 0)?,
                })
            } else {
                None
            };
            layers.push(Layer {
                q,
                k,
                v,
                qkv,
                attn_out: lin(&format!("{p}.attention.output.dense"), h, h)?,
                attn_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                ffn_in: lin(&format!("{p}.intermediate.dense"), i, h)?,
                ffn_out: lin(&format!("{p}.output.dense"), h, i)?,
                ffn_norm: norm(&format!("{p}.output.LayerNorm"))?,
            });
        }
        Ok(Bert {
            word: get("embeddings.word_embeddings.weight", &[cfg.vocab_size, h])?,
            position: get(
                "embeddings.position_embeddings.weight",
                &[cfg.max_position_embeddings, h],
            )?,
            token_type: get(
                "embeddings.token_type_embeddings.weight",
                &[cfg.type_vocab_size, h],
            )?,
            emb_norm: norm("embeddings.LayerNorm")?,
            layers,
            heads: cfg.num_attention_heads,
            act: cfg.act()?,
            config: cfg.clone(),
        })
    }

    /// Hidden states `(batch, seq, hidden)` for token ids `(batch, seq)`. `mask` is `(batch, seq)`
    /// of 1/0 (f32) or None when no position is padding.
    pub fn forward(
        &self,
        ids: &Tensor,
        type_ids: &Tensor,
        mask: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor> {
        let (b, s) = ids.dims2()?;
        if s > self.config.max_position_embeddings {
            return Err(CoreError::Schema(format!(
                "{s} tokens exceed the model's {} positions",
                self.config.max_position_embeddings
            )));
        }
        let h = self.config.hidden_size;
        let words = self.word.index_select(&ids.flatten_all()?, 0)?;
        let types = self.token_type.index_select(&type_ids.flatten_all()?, 0)?;
        let pos = self.position.narrow(0, 0, s)?;
        let x = (words + types)?
            .reshape((b, s, h))?
            .broadcast_add(&pos)?
            .reshape((b * s, h))?;
        let mut x = self.emb_norm.forward(&x, train)?;
        // Additive mask: 0 where attended, a large negative number on padding.
        let bias = match mask {
            Some(m) => Some(((m.to_dtype(DType::F32)? - 1.0)? * 1e4)?.reshape((b, 1, 1, s))?),
            None => None,
        };
        for layer in &self.layers {
            x = self.layer(layer, &x, b, s, bias.as_ref(), train)?;
        }
        Ok(x.reshape((b, s, h))?)
    }

    fn layer(
        &self,
        l: &Layer,
        x: &Tensor,
        b: usize,
        s: usize,
        bias: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor> {
        let h = self.config.hidden_size;
        let nh = self.heads;
        let hd = h / nh;
        let (q, k, v) = match &l.qkv {
            Some(qkv) if !train => {
                let y = qkv.forward(x)?;
                (
                    y.narrow(1, 0, h)?,
                    y.narrow(1, h, h)?,
                    y.narrow(1, 2 * h, h)?,
                )
            }
            _ => (l.q.forward(x)?, l.k.forward(x)?, l.v.forward(x)?),
        };
        let heads = |t: Tensor| -> Result<Tensor> {
            Ok(t.reshape((b, s, nh, hd))?.transpose(1, 2)?.contiguous()?)
        };
        let q = (heads(q)? * (1.0 / (hd as f64).sqrt()))?;
        let k = heads(k)?;
        let v = heads(v)?;
        let mut scores = q.matmul(&k.t()?)?;
        if let Some(bias) = bias {
            scores = scores.broadcast_add(bias)?;
        }
        let probs = if train {
            candle_nn::ops::softmax(&scores, D::Minus1)?
        } else {
            candle_nn::ops::softmax_last_dim(&scores)?
        };
        let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((b * s, h))?;
        let x = l
            .attn_norm
            .forward(&(l.attn_out.forward(&ctx)? + x)?, train)?;
        let inner = l.ffn_in.forward(&x)?;
        let inner = match self.act {
            Act::Gelu if train => inner.gelu_erf()?,
            Act::Gelu => crate::kernels::gelu_erf(&inner)?,
            Act::GeluTanh => inner.gelu()?,
            Act::Relu => inner.relu()?,
        };
        l.ffn_norm
            .forward(&(l.ffn_out.forward(&inner)? + x)?, train)
    }
}

/// Mean of hidden states over non-padding positions: `(batch, hidden)`.
pub fn mean_pool(hidden: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
    Ok(match mask {
        None => hidden.mean(1)?,
        Some(m) => {
            let m = m.to_dtype(DType::F32)?.unsqueeze(2)?;
            let summed = hidden.broadcast_mul(&m)?.sum(1)?;
            let counts = m.sum(1)?.clamp(1e-9, f64::MAX)?;
            summed.broadcast_div(&counts)?
        }
    })
}

/// Rows scaled to unit L2 norm.
pub fn l2_normalize(x: &Tensor) -> Result<Tensor> {
    let norm = x.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
    Ok(x.broadcast_div(&norm)?)
}

/// Moves every tensor to `device` (weights are loaded on the CPU first).
pub fn to_device(
    tensors: HashMap<String, Tensor>,
    device: &Device,
) -> Result<HashMap<String, Tensor>> {
    tensors
        .into_iter()
        .map(|(k, v)| Ok((k, v.to_device(device)?)))
        .collect()
}
