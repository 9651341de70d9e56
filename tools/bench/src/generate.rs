//! generate-bench: text generation with SmolLM2-135M-Instruct (Q4_1 GGUF), strata against
//! llama.cpp (llama-cpp-python) and PyTorch + transformers (the GGUF dequantized to f32), on the
//! same file, the same prompt tokens, in one run: prefill tokens/s (512-token prompt), decode
//! tokens/s at one stream, aggregate decode tokens/s at 8 concurrent streams (strata's
//! continuous batching), and time to first token of a chat prompt.
//!
//!   tools/assets/fetch.sh --llm                      # once: .cache/venv-llm (llama.cpp, transformers)
//!   cargo run --release -p strata-bench --bin generate-bench [-- --skip-python]

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use comfy_table::Table;
use serde_json::json;
use strata_core::generate::llama::{Chunk, PREFILL_CHUNK, Weights};
use strata_core::generate::{
    Event, Generator, Limits, Message, Request, SamplingParams, Scheduler, Sink,
};

const PROMPT_TOKENS: usize = 512;
const DECODE_TOKENS: usize = 128;
const STREAMS: usize = 8;

struct Count(Arc<std::sync::atomic::AtomicUsize>);

impl Sink for Count {
    fn send(&mut self, event: Event) -> bool {
        if let Event::Failed(e) = event {
            eprintln!("failed: {e}");
        }
        true
    }
    fn closed(&self) -> bool {
        let _ = &self.0;
        false
    }
}

fn main() -> Result<()> {
    let skip_python = std::env::args().any(|a| a == "--skip-python");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()?;
    let gguf = root.join(".cache/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    let bytes = std::fs::read(&gguf)
        .with_context(|| format!("{} (run tools/assets/fetch.sh)", gguf.display()))?;
    let g = Arc::new(Generator::from_gguf(
        &bytes,
        Weights::Fast,
        &candle_core::Device::Cpu,
    )?);
    let text = "The quick brown fox jumps over the lazy dog while the sun sets behind the hills. "
        .repeat(40);
    let prompt: Vec<u32> = g.encode(&text)?.into_iter().take(PROMPT_TOKENS).collect();
    let chat = g.chat_prompt(&[Message {
        role: "user".into(),
        content: "What is the capital of France? Answer in one sentence.".into(),
    }])?;

    // Prefill: the 512-token prompt in the decoder's chunks (best of 3).
    let mut prefill = f64::MAX;
    for _ in 0..3 {
        let mut cache = g.llama.new_cache();
        let t = Instant::now();
        for piece in prompt.chunks(PREFILL_CHUNK) {
            g.llama.step(&mut [Chunk {
                tokens: piece,
                cache: &mut cache,
                prompt: true,
            }])?;
        }
        prefill = prefill.min(t.elapsed().as_secs_f64());
    }
    // Decode at one stream: 128 tokens after a short prompt, forced (no early stop).
    let mut cache = g.llama.new_cache();
    g.llama.step(&mut [Chunk {
        tokens: &chat,
        cache: &mut cache,
        prompt: true,
    }])?;
    let t = Instant::now();
    for i in 0..DECODE_TOKENS {
        let token = [(1000 + i) as u32];
        g.llama.step(&mut [Chunk {
            tokens: &token,
            cache: &mut cache,
            prompt: false,
        }])?;
    }
    let decode1 = DECODE_TOKENS as f64 / t.elapsed().as_secs_f64();
    // Aggregate decode at 8 streams through the scheduler (prefill included in the wall time,
    // so this is what 8 concurrent callers get end to end).
    let mut scheduler = Scheduler::new(g.clone(), Limits::default())?;
    for i in 0..STREAMS {
        let params = SamplingParams {
            max_tokens: DECODE_TOKENS,
            temperature: 0.8,
            seed: i as u64,
            // Every stream runs its full length, as llama.cpp's and transformers' fixed-length
            // runs do: an early end token would leave fewer streams in the batch.
            ignore_eos: true,
            ..Default::default()
        };
        scheduler.submit(
            Request {
                prompt: chat.clone(),
                params,
            },
            Box::new(Count(Arc::default())),
        )?;
    }
    let t = Instant::now();
    while !scheduler.is_idle() {
        scheduler.step();
    }
    let stats = scheduler.stats();
    let produced = stats
        .generated_tokens
        .load(std::sync::atomic::Ordering::Relaxed) as f64;
    let decode8 = produced / t.elapsed().as_secs_f64();
    // Time to first token of the chat prompt.
    let mut ttft = f64::MAX;
    for _ in 0..5 {
        let mut cache = g.llama.new_cache();
        let t = Instant::now();
        let logits = g.llama.step(&mut [Chunk {
            tokens: &chat,
            cache: &mut cache,
            prompt: true,
        }])?;
        let _ = logits.argmax(candle_core::D::Minus1)?.to_vec1::<u32>()?;
        ttft = ttft.min(t.elapsed().as_secs_f64());
    }
    let ours = json!({
        "prefill_tok_s": PROMPT_TOKENS as f64 / prefill,
        "decode_tok_s": decode1,
        "decode8_tok_s": decode8,
        "ttft_ms": ttft * 1e3,
    });

    let mut others = Vec::new();
    if !skip_python {
        let py = root.join(".cache/venv-llm/bin/python");
        let ids = std::env::temp_dir().join("strata-generate-bench.json");
        std::fs::write(
            &ids,
            serde_json::to_vec(&json!({"prompt": prompt, "chat": chat}))?,
        )?;
        let out = std::process::Command::new(&py)
            .arg(root.join("tools/bench/python/generate.py"))
            .arg(&gguf)
            .arg(&ids)
            .output()
            .with_context(|| format!("{} (run tools/assets/fetch.sh --llm)", py.display()))?;
        if !out.status.success() {
            anyhow::bail!("generate.py: {}", String::from_utf8_lossy(&out.stderr));
        }
        let results: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        for name in ["llama.cpp", "transformers"] {
            others.push((name, results[name].clone()));
        }
    }

    let mut table = Table::new();
    let mut header = vec!["SmolLM2-135M Q4_1".to_owned(), "strata".into()];
    for (name, _) in &others {
        header.push((*name).into());
        header.push(format!("strata / {name}"));
    }
    table.set_header(header);
    for (key, label) in [
        ("prefill_tok_s", "prefill tok/s (512-token prompt)"),
        ("decode_tok_s", "decode tok/s, 1 stream"),
        ("decode8_tok_s", "decode tok/s, 8 streams (aggregate)"),
        ("ttft_ms", "time to first token, ms (chat prompt)"),
    ] {
        let v = ours[key].as_f64().unwrap_or(0.0);
        let mut row = vec![label.to_owned(), format!("{v:.1}")];
        for (_, r) in &others {
            let o = r[key].as_f64();
            row.push(o.map_or("-".into(), |o| format!("{o:.1}")));
            row.push(o.map_or("-".into(), |o| {
                // Lower is better for latency: the ratio is theirs over ours.
                let ratio = if key == "ttft_ms" { o / v } else { v / o };
                format!("{ratio:.2}x")
            }));
        }
        table.add_row(row);
    }
    println!("{table}");
    println!(
        "8 streams vs 1: {:.2}x our single stream",
        decode8 / decode1
    );
    Ok(())
}
