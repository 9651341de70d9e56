//! Command-line arguments. Every training knob has a flag; defaults come from `TrainConfig`.

use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Parser, Subcommand};
use strata_core::TrainConfig;

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
    pub epochs: Option<usize>,
    #[arg(long)]
    pub batch_size: Option<usize>,
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
    pub patience: Option<usize>,
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
    pub fn train_config(&self) -> anyhow::Result<TrainConfig> {
        let mut c = TrainConfig::default();
        if let Some(v) = self.epochs {
            c.epochs = v;
        }
        if let Some(v) = self.batch_size {
            c.batch_size = v;
        }
        if let Some(v) = self.lr {
            c.learning_rate = v;
        }
        if let Some(v) = self.weight_decay {
            c.weight_decay = v;
        }
        if let Some(v) = self.warmup_steps {
            c.warmup_steps = v;
        }
        if let Some(v) = self.clip {
            c.clip_grad_norm = (v > 0.0).then_some(v);
        }
        if let Some(v) = self.patience {
            c.patience = (v > 0).then_some(v);
        }
        if let Some(v) = self.checkpoint_every {
            c.checkpoint_every = v;
        }
        if let Some(v) = self.seed {
            c.seed = v;
            c.split.seed = v;
        }
        if let Some(v) = self.val_fraction {
            c.split.val_fraction = v;
        }
        if let Some(v) = self.test_fraction {
            c.split.test_fraction = v;
        }
        Ok(c)
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
