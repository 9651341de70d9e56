//! Choosing each next token and turning tokens into streamed text: sampling parameters and their
//! bounds, per-sequence sampler state (candle-transformers' `LogitsProcessor` for temperature,
//! top-k and top-p with a seeded RNG; its repetition penalty), stop strings, and incremental
//! detokenization that never emits half a UTF-8 character or the start of a stop string.

use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

use super::llama::top2;
use crate::{CoreError, Result};

/// Most stop strings per request (as OpenAI's API allows).
pub const MAX_STOP: usize = 4;
/// Longest stop string, in bytes.
pub const MAX_STOP_BYTES: usize = 256;

/// How to pick tokens and when to stop. `temperature` 0 is greedy decoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamplingParams {
    /// Most tokens to generate; the prompt plus this must fit the model's context.
    pub max_tokens: usize,
    pub temperature: f64,
    /// Sample only among the `k` most likely tokens (0 or absent: all).
    pub top_k: Option<usize>,
    /// Sample from the smallest set of tokens whose probability reaches `p`.
    pub top_p: Option<f64>,
    /// Above 1 discourages tokens already in the prompt or the answer; 1 turns it off.
    pub repetition_penalty: f32,
    /// The same seed, prompt and parameters give the same text.
    pub seed: u64,
    /// Generation ends before the first of these strings; it is not part of the answer.
    pub stop: Vec<String>,
    /// Keep going past the model's end token until `max_tokens` (benchmarks' fixed lengths).
    pub ignore_eos: bool,
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams {
            max_tokens: 256,
            temperature: 0.0,
            top_k: None,
            top_p: None,
            repetition_penalty: 1.0,
            seed: 0,
            stop: Vec::new(),
            ignore_eos: false,
        }
    }
}

impl SamplingParams {
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(CoreError::Schema(m));
        if self.max_tokens == 0 {
            return bad("max_tokens must be at least 1".into());
        }
        if !(0.0..=2.0).contains(&self.temperature) {
            return bad(format!("temperature {} is outside 0..=2", self.temperature));
        }
        if let Some(p) = self.top_p
            && !(p > 0.0 && p <= 1.0)
        {
            return bad(format!("top_p {p} is outside (0, 1]"));
        }
        if !(self.repetition_penalty.is_finite() && (1.0..=2.0).contains(&self.repetition_penalty))
        {
            return bad(format!(
                "repetition_penalty {} is outside 1..=2",
                self.repetition_penalty
            ));
        }
        if self.stop.len() > MAX_STOP {
            return bad(format!("at most {MAX_STOP} stop strings"));
        }
        if self
            .stop
            .iter()
            .any(|s| s.is_empty() || s.len() > MAX_STOP_BYTES)
        {
            return bad(format!("stop strings are 1 to {MAX_STOP_BYTES} bytes"));
        }
        Ok(())
    }

    fn sampling(&self) -> Option<Sampling> {
        // As candle's `LogitsProcessor::new`: below 1e-7 the logits divided by the temperature
        // overflow f32 and sampling would see NaN; it is greedy decoding in all but name.
        if self.temperature < 1e-7 {
            return None;
        }
        let temperature = self.temperature;
        let k = self.top_k.filter(|&k| k > 0);
        let p = self.top_p.filter(|&p| p < 1.0);
        Some(match (k, p) {
            (None, None) => Sampling::All { temperature },
            (Some(k), None) => Sampling::TopK { k, temperature },
            (None, Some(p)) => Sampling::TopP { p, temperature },
            (Some(k), Some(p)) => Sampling::TopKThenTopP { k, p, temperature },
        })
    }
}

/// Why a sequence ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model ended its answer or a stop string appeared.
    Stop,
    /// `max_tokens` were generated.
    Length,
}

/// A sequence's sampler and text: feed it each step's logits, get the text to stream.
pub struct Decoding {
    params: SamplingParams,
    processor: Option<LogitsProcessor>,
    /// Prompt and generated tokens, for the repetition penalty.
    seen: Vec<u32>,
    pub generated: Vec<u32>,
    /// Text of `generated[..decoded]`, complete characters only.
    text: String,
    decoded: usize,
    /// Bytes of `text` already streamed.
    sent: usize,
    /// Smallest lead of the top logit over the runner-up among greedy steps (how close to a
    /// tie decoding came; reported so batch-invariance tests can tell a near-tie from a bug).
    pub min_gap: f32,
}

pub enum Next {
    /// Text to stream (possibly empty while a character or stop string is incomplete).
    Continue(String),
    /// The last text and why the sequence ended.
    Finished(String, FinishReason),
}

impl Decoding {
    pub fn new(params: SamplingParams, prompt: &[u32]) -> Self {
        let processor = params
            .sampling()
            .map(|s| LogitsProcessor::from_sampling(params.seed, s));
        Decoding {
            params,
            processor,
            seen: prompt.to_vec(),
            generated: Vec::new(),
            text: String::new(),
            decoded: 0,
            sent: 0,
            min_gap: f32::INFINITY,
        }
    }

    /// Picks the next token from one row of logits.
    pub fn pick(&mut self, mut logits: Vec<f32>) -> Result<u32> {
        if self.params.repetition_penalty != 1.0 {
            let penalty = self.params.repetition_penalty;
            let mut seen = self.seen.clone();
            seen.sort_unstable();
            seen.dedup();
            for t in seen {
                if let Some(l) = logits.get_mut(t as usize) {
                    *l = if *l >= 0.0 {
                        *l / penalty
                    } else {
                        *l * penalty
                    };
                }
            }
        }
        let token = match &mut self.processor {
            None => {
                let (token, gap) = top2(&logits);
                self.min_gap = self.min_gap.min(gap);
                token
            }
            Some(p) => {
                let n = logits.len();
                p.sample(&Tensor::from_vec(logits, n, &Device::Cpu)?)?
            }
        };
        Ok(token)
    }

    /// Records `token` and says what to stream; `end` is true when the model signalled the end
    /// of its answer (the token is then not part of the text).
    pub fn push(&mut self, token: u32, end: bool, tokenizer: &Tokenizer) -> Result<Next> {
        if end && !self.params.ignore_eos {
            return Ok(Next::Finished(self.flush(tokenizer)?, FinishReason::Stop));
        }
        self.generated.push(token);
        self.seen.push(token);
        let piece = tokenizer
            .decode(&self.generated[self.decoded..], true)
            .map_err(|e| CoreError::Tokenizer(e.to_string()))?;
        // A multi-byte character split across tokens decodes to U+FFFD until its last byte.
        if !piece.ends_with('\u{FFFD}') {
            self.text.push_str(&piece);
            self.decoded = self.generated.len();
        }
        if let Some(at) = self.stop_at() {
            let delta = self.text[self.sent..at].to_string();
            self.sent = at;
            return Ok(Next::Finished(delta, FinishReason::Stop));
        }
        if self.generated.len() >= self.params.max_tokens {
            return Ok(Next::Finished(self.flush(tokenizer)?, FinishReason::Length));
        }
        let safe = self.text.len() - self.held_back();
        let delta = self.text[self.sent..safe].to_string();
        self.sent = safe;
        Ok(Next::Continue(delta))
    }

    /// Everything not yet streamed, cut at a stop string if one completed.
    fn flush(&mut self, tokenizer: &Tokenizer) -> Result<String> {
        let rest = tokenizer
            .decode(&self.generated[self.decoded..], true)
            .map_err(|e| CoreError::Tokenizer(e.to_string()))?;
        self.text.push_str(&rest);
        self.decoded = self.generated.len();
        let end = self.stop_at().unwrap_or(self.text.len());
        let delta = self.text[self.sent..end].to_string();
        self.sent = end;
        Ok(delta)
    }

    /// Where the earliest complete stop string starts, searching only text that could hold one
    /// not seen before.
    fn stop_at(&self) -> Option<usize> {
        let longest = self.params.stop.iter().map(String::len).max()?;
        let mut from = self.sent.saturating_sub(longest);
        while !self.text.is_char_boundary(from) {
            from -= 1;
        }
        self.params
            .stop
            .iter()
            .filter_map(|s| self.text[from..].find(s.as_str()).map(|i| from + i))
            .min()
    }

    /// Bytes at the end of the text that could be the start of a stop string.
    fn held_back(&self) -> usize {
        let tail = &self.text[self.sent..];
        self.params
            .stop
            .iter()
            .flat_map(|s| {
                (1..s.len().min(tail.len() + 1))
                    .rev()
                    .filter(move |&n| s.is_char_boundary(n) && tail.ends_with(&s[..n]))
                    .take(1)
            })
            .max()
            .unwrap_or(0)
    }

    pub fn prompt_and_generated(&self) -> usize {
        self.seen.len()
    }
}
