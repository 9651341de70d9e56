//! Command-line arguments. Every training knob has a flag; defaults come from the core's
//! `TrainSettings::resolve`, as for every other front door.

use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Parser, Subcommand};
use strata_core::TrainSettings;

#[derive(Parser)]
#[command(
    name = "strata",
    version,
    about = "Train, evaluate and serve strata models from the command line"
)]
pub struct Cli {
    /// Artifact store directory (models, checkpoints).
    #[arg(
        long,
        env = "STRATA_STORE",
        default_value = ".strata/artifacts",
        global = true
    )]
    pub store: PathBuf,
    /// cpu, cuda, cuda:N or auto.
    #[arg(long, env = "STRATA_DEVICE", default_value = "cpu", global = true)]
    pub device: String,
    /// Log lines (on stderr) as text or as JSON objects, for log collectors.
    #[arg(
        long,
        env = "STRATA_LOG_FORMAT",
        value_enum,
        default_value_t,
        global = true
    )]
    pub log_format: strata_runtime::LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Train a model version on a Parquet dataset (re-running an interrupted command resumes it).
    Train(Box<TrainArgs>),
    /// Evaluate a stored classifier on a split of a dataset.
    Eval {
        #[arg(long)]
        model: ModelRef,
        #[arg(long)]
        dataset: PathBuf,
        /// train, val, test or all (splits are the ones recorded at training time).
        #[arg(long = "split", default_value = "test")]
        split: String,
    },
    /// Predict classes for rows of a dataset, feature vectors or texts.
    Predict {
        #[arg(long)]
        model: ModelRef,
        #[arg(long, conflicts_with_all = ["features", "text"])]
        dataset: Option<PathBuf>,
        /// Rows to read from --dataset.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// A comma-separated feature vector (repeatable).
        #[arg(long)]
        features: Vec<String>,
        /// An input text (repeatable).
        #[arg(long)]
        text: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Embed texts with a text-encoder.
    Embed {
        #[arg(long)]
        model: ModelRef,
        #[arg(long, required = true)]
        text: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Continue a prompt with a text-generator, streaming the text as it is generated.
    Generate {
        model: ModelRef,
        #[arg(long)]
        prompt: String,
        #[command(flatten)]
        sampling: SamplingArgs,
    },
    /// Chat with a text-generator: one line per turn on standard input, the answer streamed.
    Chat {
        model: ModelRef,
        /// A system message for the whole conversation.
        #[arg(long)]
        system: Option<String>,
        #[command(flatten)]
        sampling: SamplingArgs,
    },
    /// Import a Hugging Face model directory (config.json, model.safetensors, tokenizer.json).
    ImportHf {
        dir: PathBuf,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "text-encoder")]
        kind: String,
    },
    /// List stored models.
    Models,
    /// Dataset tools.
    Datasets {
        #[command(subcommand)]
        command: DatasetsCommand,
    },
}

#[derive(Subcommand)]
pub enum DatasetsCommand {
    /// Show a Parquet file's columns; with a schema, validate it and count classes.
    Inspect {
        path: PathBuf,
        #[command(flatten)]
        schema: SchemaArgs,
    },
}

#[derive(Args, Clone, Default)]
pub struct SchemaArgs {
    /// Feature columns (comma-separated); default: every numeric column except the label.
    #[arg(long, value_delimiter = ',')]
    pub features: Vec<String>,
    /// Text column.
    #[arg(long)]
    pub text: Option<String>,
    /// Label column.
    #[arg(long)]
    pub label: Option<String>,
    /// Class names in index order; default: inferred from the label column.
    #[arg(long, value_delimiter = ',')]
    pub classes: Vec<String>,
}

#[derive(Args)]
pub struct TrainArgs {
    /// Model kind, as the core's registry names it (e.g. mlp-classifier); an unknown one lists all.
    #[arg(long, env = "STRATA_TRAIN_KIND")]
    pub kind: String,
    /// Parquet file (a dataset the ML service stored lives at STORE/datasets/ID/v1/data.parquet).
    #[arg(long, env = "STRATA_TRAIN_DATASET")]
    pub dataset: PathBuf,
    /// Model name; versions are numbered v1, v2, ...
    #[arg(long, env = "STRATA_TRAIN_NAME")]
    pub name: String,
    #[command(flatten)]
    pub schema: SchemaArgs,
    /// Base model to fine-tune (NAME or NAME@VERSION), e.g. an imported text-encoder.
    #[arg(long)]
    pub base: Option<ModelRef>,
    /// Kind-specific hyperparameters as JSON, e.g. '{"hidden":[128]}' or '{"mode":"full"}'.
    #[arg(long)]
    pub params: Option<String>,
    /// Job id for checkpoints; default: derived from the name and all settings.
    #[arg(long)]
    pub job: Option<String>,
    #[arg(long)]
    pub epochs: Option<u32>,
    #[arg(long)]
    pub batch_size: Option<u32>,
    #[arg(long)]
    pub lr: Option<f64>,
    #[arg(long)]
    pub weight_decay: Option<f64>,
    #[arg(long)]
    pub warmup_steps: Option<u64>,
    /// Gradient-norm clip; 0 disables.
    #[arg(long)]
    pub clip: Option<f64>,
    /// Early-stopping patience in epochs; 0 disables.
    #[arg(long)]
    pub patience: Option<u32>,
    /// Checkpoint every N steps; default once per epoch.
    #[arg(long)]
    pub checkpoint_every: Option<u64>,
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long)]
    pub val_fraction: Option<f64>,
    #[arg(long)]
    pub test_fraction: Option<f64>,
    /// Stop (with a checkpoint) after this many steps, as Ctrl-C would: for demos and tests of resume.
    #[arg(long, hide = true)]
    pub cancel_after_steps: Option<u64>,
}

impl TrainArgs {
    /// The flags as the core's shared settings: an absent flag is an absent setting, so the
    /// defaults are the core's, the same as over gRPC, REST and the web form.
    pub fn settings(&self) -> TrainSettings {
        TrainSettings {
            epochs: self.epochs,
            batch_size: self.batch_size,
            learning_rate: self.lr,
            weight_decay: self.weight_decay,
            warmup_steps: self.warmup_steps,
            max_grad_norm: self.clip,
            early_stopping_patience: self.patience,
            checkpoint_every_steps: self.checkpoint_every,
            seed: self.seed,
            validation_fraction: self.val_fraction,
            test_fraction: self.test_fraction,
        }
    }
}

/// `NAME` or `NAME@VERSION`.
#[derive(Clone, Debug)]
pub struct ModelRef {
    pub name: String,
    pub version: Option<String>,
}

impl FromStr for ModelRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once('@') {
            Some((n, v)) if !n.is_empty() && !v.is_empty() => Ok(ModelRef {
                name: n.into(),
                version: Some(v.into()),
            }),
            None if !s.is_empty() => Ok(ModelRef {
                name: s.into(),
                version: None,
            }),
            _ => Err(format!("`{s}` is not NAME or NAME@VERSION")),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn train_args(extra: &[&str]) -> TrainArgs {
        let base = [
            "strata",
            "train",
            "--kind",
            "mlp-classifier",
            "--dataset",
            "d.parquet",
        ];
        let cli = Cli::try_parse_from(base.iter().chain(["--name", "m"].iter()).chain(extra))
            .expect("valid flags");
        match cli.command {
            Command::Train(args) => *args,
            _ => panic!("not the train command"),
        }
    }

    #[test]
    fn no_flags_are_no_settings_so_the_cli_trains_with_the_service_defaults() {
        assert_eq!(train_args(&[]).settings(), TrainSettings::default());
    }

    #[test]
    fn every_flag_sets_its_own_setting() {
        let args = train_args(&[
            "--epochs",
            "3",
            "--batch-size",
            "8",
            "--lr",
            "0.01",
            "--weight-decay",
            "0.5",
            "--warmup-steps",
            "4",
            "--clip",
            "0",
            "--patience",
            "0",
            "--checkpoint-every",
            "9",
            "--seed",
            "11",
            "--val-fraction",
            "0.2",
            "--test-fraction",
            "0.3",
        ]);
        let expected = TrainSettings {
            epochs: Some(3),
            batch_size: Some(8),
            learning_rate: Some(0.01),
            weight_decay: Some(0.5),
            warmup_steps: Some(4),
            max_grad_norm: Some(0.0),
            early_stopping_patience: Some(0),
            checkpoint_every_steps: Some(9),
            seed: Some(11),
            validation_fraction: Some(0.2),
            test_fraction: Some(0.3),
        };
        assert_eq!(args.settings(), expected);
        let config = args.settings().resolve(100).expect("valid");
        assert_eq!((config.clip_grad_norm, config.patience), (None, None));
    }
}

/// How `generate` and `chat` pick tokens (the service's sampling parameters).
#[derive(Debug, Clone, clap::Args)]
pub struct SamplingArgs {
    #[arg(long, default_value_t = 256)]
    pub max_tokens: usize,
    /// 0 is greedy decoding.
    #[arg(long, default_value_t = 0.7)]
    pub temperature: f64,
    #[arg(long)]
    pub top_k: Option<usize>,
    #[arg(long)]
    pub top_p: Option<f64>,
    #[arg(long, default_value_t = 1.0)]
    pub repetition_penalty: f32,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A string that ends the answer (repeatable).
    #[arg(long)]
    pub stop: Vec<String>,
}

impl SamplingArgs {
    pub fn params(&self) -> strata_core::generate::SamplingParams {
        strata_core::generate::SamplingParams {
            max_tokens: self.max_tokens,
            temperature: self.temperature,
            top_k: self.top_k,
            top_p: self.top_p,
            repetition_penalty: self.repetition_penalty,
            seed: self.seed,
            stop: self.stop.clone(),
            ignore_eos: false,
        }
    }
}
