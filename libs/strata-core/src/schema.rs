//! What a model takes and gives. Every kind declares an [`IoSchema`]; [`IoSchema::check`] rejects
//! requests that do not fit before any tensor is built.

use serde::{Deserialize, Serialize};

use crate::{CoreError, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InputSchema {
    /// A fixed-length numeric vector; `names` are the dataset columns it came from.
    Features { dim: usize, names: Vec<String> },
    /// UTF-8 text, truncated to `max_tokens` tokens.
    Text { max_tokens: usize },
    /// A prompt or a chat (rendered by the model's template when `chat_template`) whose tokens
    /// plus the tokens to generate fit `context_tokens`.
    Prompt {
        context_tokens: usize,
        chat_template: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputSchema {
    /// A class per input, with probabilities over `classes`.
    Classes { classes: Vec<String> },
    /// An L2-normalised embedding per input.
    Embedding { dim: usize },
    /// Generated text, streamed token by token, from a vocabulary of `vocabulary` tokens.
    Text { vocabulary: usize },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoSchema {
    pub input: InputSchema,
    pub output: OutputSchema,
}

/// A batch of requests.
#[derive(Debug, Clone, PartialEq)]
pub enum Inputs {
    Features(Vec<Vec<f32>>),
    Texts(Vec<String>),
}

impl Inputs {
    pub fn len(&self) -> usize {
        match self {
            Inputs::Features(f) => f.len(),
            Inputs::Texts(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One prediction: the class index and name and the probability of every class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassPrediction {
    pub class: usize,
    pub label: String,
    pub probabilities: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outputs {
    Classes(Vec<ClassPrediction>),
    Embeddings(Vec<Vec<f32>>),
}

impl IoSchema {
    /// Rejects inputs of the wrong type or shape, and non-finite feature values.
    pub fn check(&self, inputs: &Inputs) -> Result<()> {
        match (&self.input, inputs) {
            (InputSchema::Features { dim, .. }, Inputs::Features(rows)) => {
                for (i, row) in rows.iter().enumerate() {
                    if row.len() != *dim {
                        return Err(CoreError::Schema(format!(
                            "input {i} has {} features, the model expects {dim}",
                            row.len()
                        )));
                    }
                    if let Some(j) = row.iter().position(|v| !v.is_finite()) {
                        return Err(CoreError::Schema(format!(
                            "input {i} feature {j} is not finite"
                        )));
                    }
                }
                Ok(())
            }
            (InputSchema::Text { .. }, Inputs::Texts(_)) => Ok(()),
            (InputSchema::Features { .. }, Inputs::Texts(_)) => Err(CoreError::Schema(
                "the model expects feature vectors, got texts".into(),
            )),
            (InputSchema::Text { .. }, Inputs::Features(_)) => Err(CoreError::Schema(
                "the model expects texts, got feature vectors".into(),
            )),
            (InputSchema::Prompt { .. }, _) => Err(CoreError::Schema(
                "the model generates text from a prompt; it does not predict".into(),
            )),
        }
    }
}
