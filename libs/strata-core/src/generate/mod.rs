//! Text generation: chat models from GGUF files, decoded with continuous batching.
//!
//! - [`gguf`]: which files are supported, and the model's shape from its metadata;
//! - [`tokenizer`]: the tokenizer rebuilt from the file's metadata;
//! - [`template`]: the file's Jinja chat template, rendered safely;
//! - [`llama`]: the decoder, a step over chunks of many sequences with a KV cache each;
//! - [`sampling`]: greedy, temperature, top-k, top-p, repetition penalty, seeds, stop strings;
//! - [`scheduler`]: continuous batching and the engine thread that serves requests.
//!
//! The `text-generator` kind ([`crate::kinds::text_generator`]) imports and loads a
//! [`Generator`]; the ML service runs one [`scheduler::Engine`] per loaded model.

pub mod gguf;
pub mod llama;
pub mod quant;
pub mod sampling;
pub mod scheduler;
pub mod template;
pub mod tokenizer;

use candle_core::Device;
use serde::Serialize;

pub use sampling::{FinishReason, SamplingParams};
pub use scheduler::{Engine, Event, Finish, Limits, Request, Scheduler, Sink};
pub use template::Message;

use crate::{CoreError, Result};

/// Control tokens that end an answer in the chat formats this loader knows, besides the file's
/// own end-of-sequence id (llama.cpp treats the same texts as end-of-generation).
const END_TEXTS: &[&str] = &[
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|end|>",
    "</s>",
];

/// What a loaded generator reports about itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GeneratorInfo {
    pub architecture: String,
    pub name: String,
    pub context: usize,
    pub vocabulary: usize,
    pub layers: usize,
    pub hidden: usize,
    pub parameters: u64,
    /// Tensor types and how many tensors of each, e.g. `Q4_1: 210`.
    pub tensor_types: std::collections::BTreeMap<String, usize>,
    pub chat_template: bool,
}

/// A chat model ready to generate: decoder, tokenizer, chat template and end tokens.
pub struct Generator {
    pub llama: llama::Llama,
    pub tokenizer: tokenizers::Tokenizer,
    template: Option<template::ChatTemplate>,
    eos: Vec<u32>,
    bos: Option<u32>,
    add_bos: bool,
    pub info: GeneratorInfo,
}

impl Generator {
    /// Builds everything from a GGUF file's bytes; an unsupported file fails with the reason.
    pub fn from_gguf(bytes: &[u8], weights: llama::Weights, device: &Device) -> Result<Self> {
        let gguf = gguf::Gguf::parse(bytes)?;
        let tokenizer = tokenizer::from_gguf(&gguf)?;
        let config = gguf.llama_config()?;
        let tokens = |id: u32| tokenizer.id_to_token(id);
        let id = |key: &str| gguf.usize(key).ok().map(|v| v as u32);
        let bos = id("tokenizer.ggml.bos_token_id");
        let mut eos: Vec<u32> = ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"]
            .iter()
            .filter_map(|k| id(k))
            .collect();
        eos.extend(END_TEXTS.iter().filter_map(|t| tokenizer.token_to_id(t)));
        eos.sort_unstable();
        eos.dedup();
        if eos.is_empty() {
            return Err(CoreError::Config(
                "GGUF: no end-of-sequence token; generation could not end".into(),
            ));
        }
        let add_bos = gguf
            .value("tokenizer.ggml.add_bos_token")
            .and_then(|v| v.to_bool().map_err(|e| CoreError::Config(e.to_string())))
            .unwrap_or(false);
        let template = match gguf.string("tokenizer.chat_template") {
            Ok(source) => Some(template::ChatTemplate::new(
                &source,
                &bos.and_then(tokens).unwrap_or_default(),
                &eos.first().and_then(|&e| tokens(e)).unwrap_or_default(),
            )?),
            Err(_) => None,
        };
        let mut tensor_types = std::collections::BTreeMap::new();
        let mut parameters = 0u64;
        for t in gguf.content.tensor_infos.values() {
            *tensor_types
                .entry(format!("{:?}", t.ggml_dtype))
                .or_insert(0) += 1;
            parameters += t.shape.elem_count() as u64;
        }
        let info = GeneratorInfo {
            architecture: gguf.architecture()?,
            name: gguf.string("general.name").unwrap_or_default(),
            context: config.context,
            vocabulary: config.vocab,
            layers: config.layers,
            hidden: config.hidden,
            parameters,
            tensor_types,
            chat_template: template.is_some(),
        };
        let llama = llama::Llama::load(&gguf, weights, device)?;
        Ok(Generator {
            llama,
            tokenizer,
            template,
            eos,
            bos,
            add_bos,
            info,
        })
    }

    pub fn context(&self) -> usize {
        self.info.context
    }

    pub fn is_end(&self, token: u32) -> bool {
        self.eos.contains(&token)
    }

    /// Tokens of a raw prompt (special tokens written in it are recognised).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| CoreError::Tokenizer(e.to_string()))?;
        let mut ids = Vec::with_capacity(enc.len() + 1);
        if self.add_bos
            && let Some(b) = self.bos
        {
            ids.push(b);
        }
        ids.extend_from_slice(enc.get_ids());
        Ok(ids)
    }

    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| CoreError::Tokenizer(e.to_string()))
    }

    /// The chat rendered by the model's template, ending where the assistant's answer starts.
    pub fn chat_text(&self, messages: &[Message]) -> Result<String> {
        let template = self.template.as_ref().ok_or_else(|| {
            CoreError::Schema("this model has no chat template; send a prompt instead".into())
        })?;
        if messages.is_empty() {
            return Err(CoreError::Schema(
                "a chat needs at least one message".into(),
            ));
        }
        template.render(messages)
    }

    pub fn chat_prompt(&self, messages: &[Message]) -> Result<Vec<u32>> {
        // Templates write the BOS token themselves when the model wants one.
        let text = self.chat_text(messages)?;
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| CoreError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Refuses a request that cannot be served: bad parameters, an empty prompt, or a prompt
    /// that leaves no room for `max_tokens` in the context.
    pub fn check(&self, prompt_tokens: usize, params: &SamplingParams) -> Result<()> {
        params.check()?;
        if prompt_tokens == 0 {
            return Err(CoreError::Schema("the prompt is empty".into()));
        }
        if prompt_tokens + params.max_tokens > self.context() {
            return Err(CoreError::Schema(format!(
                "the prompt ({prompt_tokens} tokens) plus max_tokens ({}) exceeds the model's \
                 context of {} tokens",
                params.max_tokens,
                self.context()
            )));
        }
        Ok(())
    }

    /// Generates one answer on the calling thread (the CLI, tests and benchmarks; services use
    /// an [`Engine`]). Returns the text and how it ended.
    pub fn generate(&self, prompt: &[u32], params: SamplingParams) -> Result<(String, Finish)> {
        self.check(prompt.len(), &params)?;
        let mut cache = self.llama.new_cache();
        let mut decoding = sampling::Decoding::new(params, prompt);
        let mut text = String::new();
        let mut logits = None;
        for piece in prompt.chunks(llama::PREFILL_CHUNK) {
            logits = Some(self.llama.step(&mut [llama::Chunk {
                tokens: piece,
                cache: &mut cache,
                prompt: true,
            }])?);
        }
        let mut logits = logits.ok_or_else(|| CoreError::Schema("the prompt is empty".into()))?;
        loop {
            let row = logits.squeeze(0)?.to_vec1::<f32>()?;
            let token = decoding.pick(row)?;
            match decoding.push(token, self.is_end(token), &self.tokenizer)? {
                sampling::Next::Continue(delta) => text.push_str(&delta),
                sampling::Next::Finished(delta, reason) => {
                    text.push_str(&delta);
                    let finish = Finish {
                        reason,
                        prompt_tokens: prompt.len(),
                        completion_tokens: decoding.generated.len(),
                        min_top2_gap: decoding.min_gap,
                    };
                    return Ok((text, finish));
                }
            }
            logits = self.llama.step(&mut [llama::Chunk {
                tokens: &[token],
                cache: &mut cache,
                prompt: false,
            }])?;
        }
    }
}
