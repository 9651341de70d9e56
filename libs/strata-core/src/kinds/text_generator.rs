//! `text-generator`: a chat model imported from a GGUF file (llama family), served by the
//! generation engine ([`crate::generate`]) rather than `predict`.
//!
//! Import takes a `.gguf` file, or a directory holding exactly one, checks that the decoder
//! supports it (architecture, tensor types, tokenizer, chat template) by loading it once, and
//! stores the file unchanged with its shape in the manifest.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::Device;
use serde_json::json;
use strata_data::{Artifact, FileSource, ManifestInfo};

use super::{
    InputType, KindInfo, Model, ModelFiles, ModelKind, TrainRequest, TrainedModel, to_json,
};
use crate::generate::Generator;
use crate::generate::llama::Weights;
use crate::schema::{InputSchema, Inputs, IoSchema, OutputSchema, Outputs};
use crate::{CoreError, Result};

pub const NAME: &str = "text-generator";
pub(crate) const WEIGHTS_FILE: &str = "model.gguf";

pub struct TextGeneratorKind;

struct TextGeneratorModel {
    generator: Arc<Generator>,
    io: IoSchema,
}

impl Model for TextGeneratorModel {
    fn kind(&self) -> &'static str {
        NAME
    }

    fn schema(&self) -> &IoSchema {
        &self.io
    }

    fn predict(&self, _inputs: &Inputs) -> Result<Outputs> {
        Err(CoreError::Schema(
            "a text-generator generates text (Generate, /v1/chat/completions); it does not predict"
                .into(),
        ))
    }

    fn generator(&self) -> Option<Arc<Generator>> {
        Some(self.generator.clone())
    }
}

fn schema(g: &Generator) -> IoSchema {
    IoSchema {
        input: InputSchema::Prompt {
            context_tokens: g.context(),
            chat_template: g.info.chat_template,
        },
        output: OutputSchema::Text {
            vocabulary: g.info.vocabulary,
        },
    }
}

/// The one GGUF file a path names: the file itself, or the only `.gguf` in a directory.
fn gguf_file(path: &Path) -> Result<PathBuf> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    let entries = std::fs::read_dir(path)
        .map_err(|e| CoreError::Config(format!("{}: {e}", path.display())))?;
    let found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "gguf") && p.is_file())
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(CoreError::Config(format!(
            "no .gguf file in {}",
            path.display()
        ))),
        _ => Err(CoreError::Config(format!(
            "{} holds {} .gguf files; name one",
            path.display(),
            found.len()
        ))),
    }
}

impl ModelKind for TextGeneratorKind {
    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> KindInfo {
        KindInfo {
            name: NAME,
            title: "Text generator",
            description: "A chat model (llama-family GGUF, quantized or not) that writes text; \
                          imported, served with continuous batching.",
            input: InputType::Prompt,
            trainable: false,
            base_kind: None,
            parameters: json!({ "type": "object", "properties": {}, "additionalProperties": false }),
        }
    }

    fn train(&self, _req: TrainRequest<'_>) -> Result<TrainedModel> {
        Err(CoreError::Config(format!(
            "{NAME} models are imported, not trained"
        )))
    }

    fn import(&self, path: &Path) -> Result<ModelFiles> {
        let file = gguf_file(path)?;
        let bytes = std::fs::read(&file)
            .map_err(|e| CoreError::Config(format!("{}: {e}", file.display())))?;
        let generator = Generator::from_gguf(&bytes, Weights::File, &Device::Cpu)?;
        // A chat template that renders is part of what import checks.
        if generator.info.chat_template {
            generator.chat_prompt(&[crate::generate::Message {
                role: "user".into(),
                content: "import check".into(),
            }])?;
        }
        let io = schema(&generator);
        let source = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(ModelFiles {
            files: vec![(WEIGHTS_FILE.into(), FileSource::Path(file))],
            info: ManifestInfo {
                kind: NAME.into(),
                schema: to_json(&io),
                hyperparameters: json!({}),
                metrics: json!({}),
                dataset_sha256: None,
                extra: json!({ "imported_from": source, "model": to_json(&generator.info) }),
            },
        })
    }

    fn load(&self, artifact: Artifact, device: &Device) -> Result<Box<dyn Model>> {
        let weights = artifact
            .manifest
            .info
            .extra
            .get("weights")
            .and_then(|w| serde_json::from_value(w.clone()).ok())
            .unwrap_or_default();
        let generator = Generator::from_gguf(artifact.file(WEIGHTS_FILE)?, weights, device)?;
        let io = schema(&generator);
        Ok(Box::new(TextGeneratorModel {
            generator: Arc::new(generator),
            io,
        }))
    }
}
