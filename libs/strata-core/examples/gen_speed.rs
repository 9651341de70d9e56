//! Decoder step cost by batch size: prefill tok/s, and the time of one decode step with 1, 2, 4
//! and 8 sequences, for each weight layout (the profile behind tools/bench's generate-bench).
//!
//!   cargo run --release -p strata-core --example gen_speed -- MODEL.gguf [file|fast]

use std::time::Instant;

use strata_core::generate::Generator;
use strata_core::generate::llama::{Chunk, PREFILL_CHUNK, Weights};

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("give a GGUF path"))?;
    let bytes = std::fs::read(path)?;
    let layouts = match std::env::args().nth(2).as_deref() {
        Some("file") => vec![Weights::File],
        Some("fast") => vec![Weights::Fast],
        _ => vec![Weights::File, Weights::Fast],
    };
    for w in layouts {
        let m = Generator::from_gguf(&bytes, w, &candle_core::Device::Cpu)?;
        let prompt: Vec<u32> = (0..256).map(|i| 100 + (i * 37) % 20000).collect();
        let mut cache = m.llama.new_cache();
        let t = Instant::now();
        for piece in prompt.chunks(PREFILL_CHUNK) {
            m.llama.step(&mut [Chunk {
                tokens: piece,
                cache: &mut cache,
                prompt: true,
            }])?;
        }
        let prefill = 256.0 / t.elapsed().as_secs_f64();
        let mut line = format!("{w:?}: prefill {prefill:.0} tok/s; decode step");
        for n in [1usize, 2, 4, 8] {
            let mut caches: Vec<_> = (0..n).map(|_| m.llama.new_cache()).collect();
            for c in caches.iter_mut() {
                m.llama.step(&mut [Chunk {
                    tokens: &prompt[..128],
                    cache: c,
                    prompt: true,
                }])?;
            }
            let steps = 16;
            let t = Instant::now();
            for i in 0..steps {
                let tok = [500 + i as u32];
                let mut chunks: Vec<Chunk<'_>> = caches
                    .iter_mut()
                    .map(|c| Chunk {
                        tokens: &tok,
                        cache: c,
                        prompt: false,
                    })
                    .collect();
                m.llama.step(&mut chunks)?;
            }
            let ms = t.elapsed().as_secs_f64() * 1e3 / steps as f64;
            line += &format!(" x{n}: {ms:.1} ms ({:.0} tok/s)", n as f64 * 1e3 / ms);
        }
        println!("{line}");
    }
    Ok(())
}
