use std::time::Instant;
use strata_core::generate::{
    Generator,
    llama::{Chunk, Weights},
};
fn main() {
    let bytes = std::fs::read(std::env::args().nth(1).unwrap()).unwrap();
    for w in [Weights::File, Weights::Fast] {
        let m = Generator::from_gguf(&bytes, w, &candle_core::Device::Cpu).unwrap();
        let prompt: Vec<u32> = (0..256).map(|i| 100 + (i * 37) % 20000).collect();
        let mut cache = m.llama.new_cache();
        let t = Instant::now();
        m.llama
            .step(&mut [Chunk {
                tokens: &prompt,
                cache: &mut cache,
                prompt: true,
            }])
            .unwrap();
        let pre = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for i in 0..32u32 {
            m.llama
                .step(&mut [Chunk {
                    tokens: &[i + 500],
                    cache: &mut cache,
                    prompt: false,
                }])
                .unwrap();
        }
        let dec = t.elapsed().as_secs_f64();
        println!(
            "{w:?}: prefill {:.0} tok/s, decode {:.1} tok/s",
            256.0 / pre,
            32.0 / dec
        );
    }
}
