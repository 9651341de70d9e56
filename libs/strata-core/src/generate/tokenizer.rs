//! The tokenizer of a GGUF model, rebuilt from its metadata (vocabulary, merges, token types)
//! as a `tokenizers` BPE with the pre-tokenizer the file's `tokenizer.ggml.pre` names.
//!
//! candle builds the BPE, byte-level decoder and special tokens (`TokenizerFromGguf`); its
//! pre-tokenizer table lacks `smollm` (digits split one by one before the GPT-2 regex, as the
//! model's own tokenizer.json and llama.cpp do), which this module adds. A `pre` type not listed
//! in [`PRE_TYPES`] is refused: tokenizing with the wrong split would silently degrade output.

use candle_core::quantized::tokenizer::TokenizerFromGguf;
use tokenizers::Tokenizer;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;

use super::gguf::Gguf;
use crate::{CoreError, Result};

/// `tokenizer.ggml.pre` values this module builds correctly (`smollm` is checked against the
/// transformers tokenizer in tests; the others follow candle's table).
pub const PRE_TYPES: &[&str] = &["smollm", "gpt2", "default", "qwen2", "llama3", "smaug-bpe"];

pub fn from_gguf(gguf: &Gguf<'_>) -> Result<Tokenizer> {
    let model = gguf.string("tokenizer.ggml.model")?;
    if model != "gpt2" {
        return Err(CoreError::Config(format!(
            "GGUF: tokenizer model `{model}` is not supported (byte-level BPE, `gpt2`, is)"
        )));
    }
    let pre = gguf
        .string("tokenizer.ggml.pre")
        .unwrap_or_else(|_| "default".into());
    if !PRE_TYPES.contains(&pre.as_str()) {
        return Err(CoreError::Config(format!(
            "GGUF: pre-tokenizer `{pre}` is not supported; supported: {}",
            PRE_TYPES.join(", ")
        )));
    }
    let mut tokenizer = Tokenizer::from_gguf(&gguf.content)
        .map_err(|e| CoreError::Tokenizer(format!("from GGUF metadata: {e}")))?;
    if pre == "smollm" {
        let split = Sequence::new(vec![
            Digits::new(true).into(),
            ByteLevel::new(false, true, true).into(),
        ]);
        tokenizer.with_pre_tokenizer(Some(split));
    }
    Ok(tokenizer)
}
