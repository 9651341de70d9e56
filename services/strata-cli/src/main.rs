//! `strata`: the command line of the ML core. Trains, evaluates and serves models from the
//! artifact store on this machine, with progress bars and a metrics table.
//!
//! Invariant: a thin edge over `strata-core` and `strata-data`; it holds no ML logic of its own,
//! and every failure leaves through `anyhow` with the core's error message.

mod args;
mod report;

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use strata_core::train::clear_checkpoints;
use strata_core::{
    CancelToken, CoreError, Inputs, Model, OutputSchema, Outputs, Registry, TrainControl,
    TrainEvent, TrainRequest, evaluate_model,
};
use strata_data::{
    Artifact, ArtifactClass, ArtifactKey, ArtifactStore, DatasetSchema, FsArtifactStore,
    ParquetDataset, split,
};

use args::{Cli, Command, DatasetsCommand, ModelRef, SchemaArgs, TrainArgs};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    strata_runtime::init_cli_logging(cli.log_format, "warn,strata=info,strata_core=info");
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let registry = Registry::builtin();
    match cli.command {
        Command::Datasets {
            command: DatasetsCommand::Inspect { path, schema },
        } => inspect(&path, &schema),
        Command::ImportHf { dir, name, kind } => {
            let store = open_store(&cli.store)?;
            let files = registry.get(&kind)?.import(&dir)?;
            let key = next_model_key(&store, &name)?;
            let manifest = store.put(&key, files.files, files.info)?;
            println!(
                "imported {} as {key} ({} files)",
                dir.display(),
                manifest.files.len()
            );
            Ok(())
        }
        Command::Train(args) => train(&registry, &cli.store, &cli.device, *args),
        Command::Eval {
            model,
            dataset,
            split: which,
        } => {
            let store = open_store(&cli.store)?;
            let artifact = get_model(&store, &model)?;
            let (inputs, labels) = labelled_rows(&artifact, &dataset, &which)?;
            let loaded = registry.load(artifact, &device(&cli.device)?)?;
            let metrics = evaluate_model(loaded.as_ref(), inputs, &labels, 64)?;
            let classes = class_names(loaded.as_ref());
            println!(
                "{}",
                report::metrics_table(&format!("{which} split"), &metrics, None)
            );
            println!("{}", report::confusion_table(&metrics, &classes));
            Ok(())
        }
        Command::Predict {
            model,
            dataset,
            limit,
            features,
            text,
            json: as_json,
        } => {
            let store = open_store(&cli.store)?;
            let artifact = get_model(&store, &model)?;
            let inputs = if let Some(path) = dataset {
                let (inputs, _) = unlabelled_rows(&artifact, &path, limit)?;
                inputs
            } else if !features.is_empty() {
                Inputs::Features(
                    features
                        .iter()
                        .map(|f| parse_floats(f))
                        .collect::<Result<_>>()?,
                )
            } else if !text.is_empty() {
                Inputs::Texts(text)
            } else {
                bail!("give --dataset, --features or --text");
            };
            let loaded = registry.load(artifact, &device(&cli.device)?)?;
            let out = loaded.predict(&inputs)?;
            print_outputs(&out, as_json)
        }
        Command::Embed {
            model,
            text,
            json: as_json,
        } => {
            if text.is_empty() {
                bail!("give at least one --text");
            }
            let store = open_store(&cli.store)?;
            let loaded = registry.load(get_model(&store, &model)?, &device(&cli.device)?)?;
            let out = loaded.predict(&Inputs::Texts(text))?;
            print_outputs(&out, as_json)
        }
        Command::Generate {
            model,
            prompt,
            sampling,
        } => {
            let generator = load_generator(&registry, &cli.store, &model, &cli.device)?;
            let prompt = generator.encode(&prompt)?;
            stream_answer(&generator, prompt, sampling.params()).map(drop)
        }
        Command::Chat {
            model,
            system,
            sampling,
        } => {
            let generator = load_generator(&registry, &cli.store, &model, &cli.device)?;
            let mut messages: Vec<strata_core::generate::Message> = system
                .into_iter()
                .map(|content| strata_core::generate::Message {
                    role: "system".into(),
                    content,
                })
                .collect();
            eprintln!(
                "chatting with {}; one line per turn, end with Ctrl-D",
                model.name
            );
            for line in std::io::stdin().lines() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                messages.push(strata_core::generate::Message {
                    role: "user".into(),
                    content: line,
                });
                let prompt = generator.chat_prompt(&messages)?;
                let answer = stream_answer(&generator, prompt, sampling.params())?;
                messages.push(strata_core::generate::Message {
                    role: "assistant".into(),
                    content: answer,
                });
            }
            Ok(())
        }
        Command::Models => {
            let store = open_store(&cli.store)?;
            let mut table =
                report::table(&["model", "version", "kind", "created", "test accuracy"]);
            for name in store.names(ArtifactClass::Model)? {
                for version in store.versions(ArtifactClass::Model, &name)? {
                    let m =
                        store.manifest(&ArtifactKey::new(ArtifactClass::Model, &name, &version))?;
                    let acc = m.info.metrics["test"]["accuracy"]
                        .as_f64()
                        .map(|a| format!("{a:.4}"))
                        .unwrap_or_default();
                    table.add_row(vec![
                        name.clone(),
                        version,
                        m.info.kind,
                        m.created_at.to_rfc3339(),
                        acc,
                    ]);
                }
            }
            println!("{table}");
            Ok(())
        }
    }
}

fn open_store(path: &Path) -> Result<FsArtifactStore> {
    FsArtifactStore::open(path)
        .with_context(|| format!("opening artifact store {}", path.display()))
}

fn device(spec: &str) -> Result<strata_core::Device> {
    Ok(spec.parse::<strata_core::DeviceSpec>()?.resolve()?)
}

fn next_model_key(store: &FsArtifactStore, name: &str) -> Result<ArtifactKey> {
    let versions = store.versions(ArtifactClass::Model, name)?;
    Ok(ArtifactKey::new(
        ArtifactClass::Model,
        name,
        strata_data::next_version(&versions),
    ))
}

fn get_model(store: &FsArtifactStore, model: &ModelRef) -> Result<Artifact> {
    let version = match &model.version {
        Some(v) => v.clone(),
        None => store
            .versions(ArtifactClass::Model, &model.name)?
            .pop()
            .with_context(|| format!("no model named `{}` in the store", model.name))?,
    };
    Ok(store.get(&ArtifactKey::new(
        ArtifactClass::Model,
        &model.name,
        version,
    ))?)
}

fn dataset_schema(path: &Path, args: &SchemaArgs) -> Result<DatasetSchema> {
    let mut features = args.features.clone();
    if features.is_empty() && args.text.is_none() {
        let info = ParquetDataset::info(path)?;
        let except: Vec<&str> = args.label.iter().map(String::as_str).collect();
        features = info.numeric_columns_except(&except);
    }
    Ok(DatasetSchema {
        features,
        text: args.text.clone(),
        label: args.label.clone(),
        classes: args.classes.clone(),
    })
}

fn inspect(path: &Path, args: &SchemaArgs) -> Result<()> {
    let info = ParquetDataset::info(path)?;
    println!(
        "{}: {} rows, {} row groups, {} bytes",
        path.display(),
        info.rows,
        info.row_groups,
        info.bytes
    );
    let mut table = report::table(&["column", "type", "nullable"]);
    for c in &info.columns {
        table.add_row(vec![
            c.name.clone(),
            c.data_type.clone(),
            c.nullable.to_string(),
        ]);
    }
    println!("{table}");
    if args.label.is_some() || args.text.is_some() || !args.features.is_empty() {
        let ds = ParquetDataset::open(path, &dataset_schema(path, args)?)?;
        let all = ds.read_all()?;
        println!(
            "valid for the declared schema: {} feature columns, text: {}",
            ds.feature_dim(),
            ds.schema().text.is_some()
        );
        if !ds.classes().is_empty() {
            let mut t = report::table(&["class", "rows"]);
            for (i, c) in ds.classes().iter().enumerate() {
                t.add_row(vec![
                    c.clone(),
                    all.labels
                        .iter()
                        .filter(|&&l| l as usize == i)
                        .count()
                        .to_string(),
                ]);
            }
            println!("{t}");
        }
    }
    Ok(())
}

fn train(registry: &Registry, store_path: &Path, device_spec: &str, args: TrainArgs) -> Result<()> {
    let store = open_store(store_path)?;
    let kind = registry.get(&args.kind)?;
    let schema = dataset_schema(&args.dataset, &args.schema)?;
    let dataset = ParquetDataset::open(&args.dataset, &schema)?;
    // The same resolution, defaults included, as a job over gRPC or REST.
    let config = args.settings().resolve(dataset.rows())?;
    let params: serde_json::Value = match &args.params {
        Some(p) => serde_json::from_str(p).context("--params is not valid JSON")?,
        None => serde_json::Value::Null,
    };
    let base = match &args.base {
        Some(r) => Some(get_model(&store, r)?),
        None => None,
    };
    registry.plan(
        &args.kind,
        &params,
        dataset.schema(),
        base.as_ref().map(|b| b.manifest.info.kind.as_str()),
    )?;
    // The same command twice gives the same job id, so re-running an interrupted command resumes.
    let job = args.job.clone().unwrap_or_else(|| {
        let identity = json!({
            "kind": args.kind, "dataset": dataset.sha256().ok(), "schema": dataset.schema(),
            "config": config, "params": params,
            "base": base.as_ref().map(|b| b.manifest.key.to_string()),
        });
        format!(
            "{}-{}",
            args.name,
            &strata_data::sha256_bytes(identity.to_string().as_bytes())[..12]
        )
    });

    let cancel = CancelToken::new();
    {
        let cancel = cancel.clone();
        ctrlc::set_handler(move || cancel.cancel()).context("installing the Ctrl-C handler")?;
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} epoch {prefix} [{bar:30}] {pos}/{len} steps {msg} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let cancel_after = args.cancel_after_steps;
    let progress_cancel = cancel.clone();
    // On a terminal the bar shows progress and epoch lines print above it. Without one (a
    // Kubernetes Job, CI) indicatif hides the bar and drops its lines, so the same events become
    // log records instead (JSON lines under STRATA_LOG_FORMAT=json).
    let note = {
        let bar = bar.clone();
        move |line: String| {
            if bar.is_hidden() {
                tracing::info!("{line}")
            } else {
                bar.println(line)
            }
        }
    };
    let progress = move |event: &TrainEvent| match event {
        TrainEvent::Started {
            total_steps,
            resumed_from_step,
            ..
        } => {
            bar.set_length(*total_steps);
            if let Some(step) = resumed_from_step {
                bar.set_position(*step);
                note(format!("resuming from the checkpoint at step {step}"));
            }
        }
        TrainEvent::Step {
            epoch,
            step,
            loss,
            examples_per_sec,
            ..
        } => {
            bar.set_prefix((epoch + 1).to_string());
            bar.set_position(*step);
            bar.set_message(format!("loss {loss:.4} {examples_per_sec:.0} ex/s"));
            if cancel_after.is_some_and(|n| *step >= n) {
                progress_cancel.cancel();
            }
        }
        TrainEvent::Epoch {
            epoch,
            train_loss,
            val,
        } => note(format!(
            "epoch {:>3}: train loss {train_loss:.4}  val loss {:.4}  val acc {:.4}  val macro-F1 {:.4}",
            epoch + 1,
            val.loss,
            val.accuracy,
            val.macro_f1
        )),
        TrainEvent::Checkpoint { version, .. } => {
            bar.set_message(format!("checkpoint {version}"));
            if bar.is_hidden() {
                tracing::info!("checkpoint {version}");
            }
        }
        TrainEvent::EarlyStopped { epoch, best_epoch } => note(format!(
            "early stop after epoch {}; best epoch {}",
            epoch + 1,
            best_epoch + 1
        )),
        TrainEvent::Finished { .. } => bar.finish_and_clear(),
    };
    let started = Instant::now();
    let request = TrainRequest {
        dataset: &dataset,
        config,
        params,
        base,
        device: device(device_spec)?,
        control: TrainControl {
            store: &store,
            job: job.clone(),
            cancel,
            progress: &progress,
        },
    };
    let trained = match kind.train(request) {
        Ok(t) => t,
        Err(CoreError::Cancelled { step }) => {
            bail!(
                "training cancelled at step {step}; run the same command again to resume (job {job})"
            )
        }
        Err(e) => return Err(e.into()),
    };
    let key = next_model_key(&store, &args.name)?;
    store.put(&key, trained.model.files, trained.model.info)?;
    clear_checkpoints(&store, &job)?;
    let classes = dataset.classes().to_vec();
    println!("stored {key} in {}", store.root().display());
    println!(
        "{}",
        report::metrics_table(
            "test split",
            &trained.test,
            Some((&trained.fit, started.elapsed().as_secs_f64()))
        )
    );
    println!("{}", report::confusion_table(&trained.test, &classes));
    Ok(())
}

/// The rows of `which` split of a dataset, read with the schema and split the model was trained with.
fn labelled_rows(artifact: &Artifact, path: &Path, which: &str) -> Result<(Inputs, Vec<u32>)> {
    let info = &artifact.manifest.info;
    let schema: DatasetSchema = serde_json::from_value(info.extra["dataset_schema"].clone())
        .context("the model's manifest records no dataset schema")?;
    let split_spec = serde_json::from_value(info.hyperparameters["train"]["split"].clone())
        .context("the model's manifest records no split")?;
    let ds = ParquetDataset::open(path, &schema)?;
    let all = ds.read_all()?;
    let splits = split(all.rows, &split_spec)?;
    let rows: Vec<usize> = match which {
        "train" => splits.train,
        "val" => splits.val,
        "test" => splits.test,
        "all" => (0..all.rows).collect(),
        other => bail!("unknown split `{other}`; use train, val, test or all"),
    };
    if info.dataset_sha256.as_deref() != Some(ds.sha256()?.as_str()) && which != "all" {
        eprintln!(
            "note: this dataset differs from the one the model was trained on; split rows are not comparable"
        );
    }
    let picked = all.select(&rows);
    Ok((to_inputs(&picked), picked.labels))
}

fn unlabelled_rows(artifact: &Artifact, path: &Path, limit: usize) -> Result<(Inputs, usize)> {
    let mut schema: DatasetSchema =
        serde_json::from_value(artifact.manifest.info.extra["dataset_schema"].clone())
            .unwrap_or_default();
    if schema.features.is_empty() && schema.text.is_none() {
        schema.text = Some("text".into());
    }
    schema.label = None;
    schema.classes.clear();
    let ds = ParquetDataset::open(path, &schema)?;
    let mut picked = strata_data::Examples {
        feature_dim: ds.feature_dim(),
        ..Default::default()
    };
    // The first batch holds the `limit` rows wanted.
    if let Some(batch) = ds.batches(limit.max(1))?.next() {
        picked = batch?;
    }
    let n = picked.rows;
    Ok((to_inputs(&picked), n))
}

fn to_inputs(ex: &strata_data::Examples) -> Inputs {
    if ex.feature_dim > 0 {
        Inputs::Features(
            ex.features
                .chunks(ex.feature_dim)
                .map(<[f32]>::to_vec)
                .collect(),
        )
    } else {
        Inputs::Texts(ex.texts.clone())
    }
}

fn class_names(model: &dyn Model) -> Vec<String> {
    match &model.schema().output {
        OutputSchema::Classes { classes } => classes.clone(),
        OutputSchema::Embedding { .. } | OutputSchema::Text { .. } => Vec::new(),
    }
}

/// Prints a sequence's text as it arrives and keeps it.
struct Printer(std::sync::Arc<std::sync::Mutex<String>>);

impl strata_core::generate::Sink for Printer {
    fn send(&mut self, event: strata_core::generate::Event) -> bool {
        use std::io::Write;
        match event {
            strata_core::generate::Event::Delta(text) => {
                print!("{text}");
                let _ = std::io::stdout().flush();
                self.0
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push_str(&text);
            }
            strata_core::generate::Event::Done(f) => {
                println!();
                eprintln!(
                    "[{:?}; {} prompt + {} completion tokens]",
                    f.reason, f.prompt_tokens, f.completion_tokens
                );
            }
            strata_core::generate::Event::Failed(e) => eprintln!("\nfailed: {e}"),
        }
        true
    }
    fn closed(&self) -> bool {
        false
    }
}

/// Streams one answer to standard output and returns its text.
fn stream_answer(
    generator: &std::sync::Arc<strata_core::generate::Generator>,
    prompt: Vec<u32>,
    params: strata_core::generate::SamplingParams,
) -> Result<String> {
    let mut scheduler = strata_core::generate::Scheduler::new(
        generator.clone(),
        strata_core::generate::Limits::default(),
    )?;
    let text = std::sync::Arc::default();
    scheduler.submit(
        strata_core::generate::Request { prompt, params },
        Box::new(Printer(std::sync::Arc::clone(&text))),
    )?;
    while !scheduler.is_idle() {
        scheduler.step();
    }
    let text = text.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(text)
}

fn load_generator(
    registry: &Registry,
    store_dir: &Path,
    model: &ModelRef,
    device_spec: &str,
) -> Result<std::sync::Arc<strata_core::generate::Generator>> {
    let store = open_store(store_dir)?;
    let loaded = registry.load(get_model(&store, model)?, &device(device_spec)?)?;
    loaded
        .generator()
        .context("this model is not a text-generator; use predict or embed")
}

fn parse_floats(s: &str) -> Result<Vec<f32>> {
    s.split(',')
        .map(|v| {
            v.trim()
                .parse::<f32>()
                .with_context(|| format!("`{v}` is not a number"))
        })
        .collect()
}

fn print_outputs(out: &Outputs, as_json: bool) -> Result<()> {
    if as_json {
        println!("{}", serde_json::to_string(out)?);
        return Ok(());
    }
    match out {
        Outputs::Classes(preds) => {
            let mut t = report::table(&["#", "class", "probability"]);
            for (i, p) in preds.iter().enumerate() {
                let prob = p.probabilities.get(p.class).copied().unwrap_or(0.0);
                t.add_row(vec![i.to_string(), p.label.clone(), format!("{prob:.4}")]);
            }
            println!("{t}");
        }
        Outputs::Embeddings(vecs) => {
            for v in vecs {
                let head: Vec<String> = v.iter().take(6).map(|x| format!("{x:.4}")).collect();
                println!("dim {}: [{}, ...]", v.len(), head.join(", "));
            }
        }
    }
    Ok(())
}
