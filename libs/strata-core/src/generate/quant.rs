//! Q4_1 and Q8_0 weight matrices times f32 activations on the CPU, the way llama.cpp multiplies
//! them: activations quantized per 32 values to 8 bits (its `q8_1`/`q8_0` blocks), integer dot
//! products of the weights' 4- or 8-bit values against them, scales applied per block.
//!
//! Written by hand because the field lacks it where we run: candle's CPU Q4_1 dot product is its
//! unvectorized reference loop (decode about 30 tokens/s on SmolLM2 against llama.cpp's 140),
//! and its x86 repacked kernels take only Q4K/Q6K/Q8_0 with rows a multiple of 256 values long
//! (SmolLM2's are 576). Converting Q4_1 to Q8_0 instead costs 70% more weight bytes per token,
//! and decode is bound by reading them. The arithmetic follows llama.cpp's x86 path step for
//! step (round-half-even quantization, f16 block scales, eight-lane float accumulation, its
//! horizontal sum), so the logits stay next to llama.cpp's and greedy continuations can be
//! compared token for token. Q8_0 (SmolLM2's tied embeddings and output) goes through the same
//! loop for the same reason: candle rounds its activations differently.
//!
//! A multiplication of several rows reads each weight row once and unpacks it once: the rows of
//! a decode step (one per sequence) cost little more than one, which is what makes continuous
//! batching pay on a CPU.

use candle_core::quantized::{GgmlDType, QTensor};
use half::f16;

use crate::Result;

const BLOCK: usize = 32;
/// Weight rows multiplied together (see [`Kernel::dot4`]).
const LANES: usize = 4;
/// Bytes of one GGML Q4_1 block: f16 scale, f16 minimum, 16 bytes of nibbles.
const Q4_1_BYTES: usize = 20;
/// Bytes of one GGML Q8_0 block: f16 scale, 32 signed bytes.
const Q8_0_BYTES: usize = 34;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Format {
    Q4_1,
    Q8_0,
}

/// A `[rows, cols]` Q4_1 or Q8_0 matrix (the layout of a GGUF weight: one row per output).
pub struct QuantMatrix {
    format: Format,
    rows: usize,
    cols: usize,
    /// Q4_1: per row `cols / 2` bytes; in each 16-byte block value j in the low nibble of byte j
    /// and value j + 16 in the high one (GGML's order). Q8_0: per row `cols` signed bytes.
    qs: Vec<u8>,
    /// Per row and block: scale and (Q4_1 only) minimum; value = d * q + m.
    d: Vec<f32>,
    m: Vec<f32>,
}

/// Activations quantized per block as llama.cpp's `quantize_row_q8_1` does.
struct Quantized {
    qs: Vec<i8>,
    d: Vec<f32>,
    /// `d * sum(qs)` of each block, rounded through f16 as llama.cpp stores it.
    s: Vec<f32>,
}

impl QuantMatrix {
    /// The matrix of a Q4_1 or Q8_0 tensor whose rows are whole blocks; `None` for others.
    pub fn from_qtensor(t: &QTensor) -> Result<Option<Self>> {
        let dims = t.shape().dims();
        let (format, bytes) = match t.dtype() {
            GgmlDType::Q4_1 => (Format::Q4_1, Q4_1_BYTES),
            GgmlDType::Q8_0 => (Format::Q8_0, Q8_0_BYTES),
            _ => return Ok(None),
        };
        if dims.len() != 2 || !dims[1].is_multiple_of(BLOCK) {
            return Ok(None);
        }
        let (rows, cols) = (dims[0], dims[1]);
        if rows == 0 || cols == 0 {
            return Err(crate::CoreError::Schema(format!(
                "a {format:?} weight of {rows}x{cols} is empty"
            )));
        }
        let raw = t.data()?;
        let blocks = rows * cols / BLOCK;
        if raw.len() != blocks * bytes {
            return Err(crate::CoreError::Schema(format!(
                "a {format:?} tensor of {rows}x{cols} holds {} bytes, not {}",
                raw.len(),
                blocks * bytes
            )));
        }
        let mut m = QuantMatrix {
            format,
            rows,
            cols,
            qs: Vec::with_capacity(blocks * (bytes - 4)),
            d: Vec::with_capacity(blocks),
            m: Vec::with_capacity(blocks),
        };
        for b in raw.chunks_exact(bytes) {
            m.d.push(f16::from_le_bytes([b[0], b[1]]).to_f32());
            match format {
                Format::Q4_1 => {
                    m.m.push(f16::from_le_bytes([b[2], b[3]]).to_f32());
                    m.qs.extend_from_slice(&b[4..]);
                }
                Format::Q8_0 => {
                    m.m.push(0.0);
                    m.qs.extend_from_slice(&b[2..]);
                }
            }
        }
        Ok(Some(m))
    }

    /// Whether this CPU runs the vector kernel. Without it candle's own kernels (NEON on Arm)
    /// are the better choice: the scalar loop here exists for tests and as a reference.
    pub fn fast_here() -> bool {
        !matches!(Kernel::detect(), Kernel::Scalar)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// `out[r, n] = sum_k x[r, k] * w[n, k]` for `x` of `[xs.len() / cols, cols]`.
    pub fn matmul(&self, xs: &[f32], out: &mut [f32]) {
        let k = self.cols;
        let n_x = xs.len() / k;
        if n_x == 0 {
            return;
        }
        let q = quantize(xs, k);
        let kernel = Kernel::detect();
        let nb = k / BLOCK;
        // Work items are runs of weight rows; each writes its own columns of `out`, which are
        // strided across the output rows, so results go through one lock per item.
        const RUN: usize = 16;
        let items = self.rows.div_ceil(RUN);
        let results: Vec<std::sync::Mutex<Vec<f32>>> = (0..items)
            .map(|_| std::sync::Mutex::new(Vec::new()))
            .collect();
        let work = |item: usize| {
            let lo = item * RUN;
            let hi = self.rows.min(lo + RUN);
            let mut res = vec![0f32; (hi - lo) * n_x];
            let mut unpacked = vec![0u8; LANES * k];
            // Four weight rows at a time: four independent sums per activation row keep the
            // vector units busy where one sum would wait on its own additions.
            for g in (lo..hi).step_by(LANES) {
                let w = LANES.min(hi - g);
                for (i, u) in unpacked.chunks_exact_mut(k).enumerate() {
                    // A short last group repeats its last row; the extra results are dropped.
                    let n = g + i.min(w - 1);
                    match self.format {
                        Format::Q4_1 => unpack(&self.qs[n * k / 2..(n + 1) * k / 2], u),
                        Format::Q8_0 => u.copy_from_slice(&self.qs[n * k..(n + 1) * k]),
                    }
                }
                let rows: [usize; LANES] = std::array::from_fn(|i| g + i.min(w - 1));
                let dm =
                    rows.map(|n| (&self.d[n * nb..(n + 1) * nb], &self.m[n * nb..(n + 1) * nb]));
                for r in 0..n_x {
                    let y = (
                        &q.qs[r * k..(r + 1) * k],
                        &q.d[r * nb..(r + 1) * nb],
                        &q.s[r * nb..(r + 1) * nb],
                    );
                    let dots = kernel.dot4(self.format, &unpacked, &dm, y);
                    for (i, v) in dots.iter().take(w).enumerate() {
                        res[(g - lo + i) * n_x + r] = *v;
                    }
                }
            }
            if let Ok(mut slot) = results[item].lock() {
                *slot = res;
            }
        };
        // One row of a small matrix: the pool's wake-up would cost more than it saves.
        if self.rows * n_x * k < 1 << 16 {
            (0..items).for_each(work);
        } else {
            candle_core::utils::barrier_pool().execute_chunked(items, |r| r.for_each(work));
        }
        for (item, res) in results.into_iter().enumerate() {
            let res = res.into_inner().unwrap_or_default();
            let lo = item * RUN;
            for (i, col) in res.chunks_exact(n_x).enumerate() {
                for (r, v) in col.iter().enumerate() {
                    out[r * self.rows + lo + i] = *v;
                }
            }
        }
    }
}

/// Nibbles of a row to one byte per value, in value order.
fn unpack(packed: &[u8], out: &mut [u8]) {
    for (p, o) in packed.chunks_exact(16).zip(out.chunks_exact_mut(BLOCK)) {
        for j in 0..16 {
            o[j] = p[j] & 0x0F;
            o[j + 16] = p[j] >> 4;
        }
    }
}

/// llama.cpp's `quantize_row_q8_1` (x86): scale `amax / 127` stored as f16, values
/// `round_half_even(x * 127 / amax)`, and `s = f16(d * sum)` with the unrounded `d`.
fn quantize(xs: &[f32], k: usize) -> Quantized {
    let blocks = xs.len() / BLOCK;
    let mut q = Quantized {
        qs: vec![0; xs.len()],
        d: Vec::with_capacity(blocks),
        s: Vec::with_capacity(blocks),
    };
    debug_assert_eq!(xs.len() % k, 0);
    for (x, y) in xs.chunks_exact(BLOCK).zip(q.qs.chunks_exact_mut(BLOCK)) {
        let amax = x.iter().fold(0f32, |a, v| a.max(v.abs()));
        let d = amax / 127.0;
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        let mut sum = 0i32;
        for (v, y) in x.iter().zip(y.iter_mut()) {
            *y = round_half_even(v * id) as i8;
            sum += *y as i32;
        }
        q.d.push(f16::from_f32(d).to_f32());
        q.s.push(f16::from_f32(d * sum as f32).to_f32());
    }
    q
}

/// Round half to even for |v| <= 127, without a libm call: adding 1.5 * 2^23 leaves no bits
/// below the units, and the float unit rounds ties to even as `_mm256_round_ps` does.
fn round_half_even(v: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    (v + MAGIC) - MAGIC
}

type Row<'a> = (&'a [i8], &'a [f32], &'a [f32]);

#[derive(Clone, Copy)]
enum Kernel {
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Scalar,
}

impl Kernel {
    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Kernel::Avx2;
        }
        Kernel::Scalar
    }

    /// Four unpacked weight rows (`qx`, `LANES * k` bytes: Q4_1 values 0..16, or Q8_0's signed
    /// bytes; their scales and minimums in `dm`) against one quantized activation row: four
    /// independent sums, each in llama.cpp's order.
    #[inline]
    fn dot4(
        self,
        format: Format,
        qx: &[u8],
        dm: &[(&[f32], &[f32]); LANES],
        y: Row<'_>,
    ) -> [f32; LANES] {
        match (self, format) {
            // SAFETY: chosen only when the CPU has AVX2 and FMA; the kernels check lengths.
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx2, Format::Q4_1) => unsafe { avx2::dot4::<false>(qx, dm, y) },
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx2, Format::Q8_0) => unsafe { avx2::dot4::<true>(qx, dm, y) },
            (Kernel::Scalar, _) => {
                let k = qx.len() / LANES;
                let signed = format == Format::Q8_0;
                std::array::from_fn(|i| {
                    dot_scalar(
                        signed,
                        &qx[i * k..(i + 1) * k],
                        dm[i].0,
                        dm[i].1,
                        y.0,
                        y.1,
                        y.2,
                    )
                })
            }
        }
    }
}

/// The same sums in the same order as the AVX2 kernel, for CPUs without it.
fn dot_scalar(
    signed: bool,
    qx: &[u8],
    dx: &[f32],
    mx: &[f32],
    qy: &[i8],
    dy: &[f32],
    sy: &[f32],
) -> f32 {
    let mut acc = [0f32; 8];
    let mut summs = 0f32;
    let value = |b: u8| if signed { b as i8 as i32 } else { b as i32 };
    for b in 0..dx.len() {
        if !signed {
            summs = mx[b].mul_add(sy[b], summs);
        }
        let scale = dx[b] * dy[b];
        let (x, y) = (&qx[b * BLOCK..][..BLOCK], &qy[b * BLOCK..][..BLOCK]);
        for (lane, a) in acc.iter_mut().enumerate() {
            let i: i32 = (0..4)
                .map(|j| value(x[lane * 4 + j]) * y[lane * 4 + j] as i32)
                .sum();
            *a = scale.mul_add(i as f32, *a);
        }
    }
    if signed {
        hsum8(acc)
    } else {
        hsum8(acc) + summs
    }
}

/// llama.cpp's `hsum_float_8`: halves added, then pairs, then the last two.
fn hsum8(a: [f32; 8]) -> f32 {
    let r4 = [a[0] + a[4], a[1] + a[5], a[2] + a[6], a[3] + a[7]];
    let r2 = [r4[0] + r4[2], r4[1] + r4[3]];
    r2[0] + r2[1]
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{BLOCK, LANES, Row, hsum8};

    /// llama.cpp's `ggml_vec_dot_q4_1_q8_1` (`SIGNED` false) or `ggml_vec_dot_q8_0_q8_0`
    /// (`SIGNED` true), AVX2, for four pre-unpacked weight rows at once.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot4<const SIGNED: bool>(
        qx: &[u8],
        dm: &[(&[f32], &[f32]); LANES],
        (qy, dy, sy): Row<'_>,
    ) -> [f32; LANES] {
        let nb = dy.len();
        let k = nb * BLOCK;
        assert!(qx.len() >= LANES * k && qy.len() >= k && sy.len() >= nb);
        assert!(dm.iter().all(|(d, m)| d.len() >= nb && m.len() >= nb));
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_ps(); LANES];
        let mut summs = [0f32; LANES];
        for b in 0..nb {
            // SAFETY: the asserts above keep every 32-byte load inside its slice.
            let y = unsafe { _mm256_loadu_si256(qy.as_ptr().add(b * BLOCK).cast()) };
            for i in 0..LANES {
                let (d, m) = dm[i];
                let x = unsafe { _mm256_loadu_si256(qx.as_ptr().add(i * k + b * BLOCK).cast()) };
                // maddubs takes unsigned times signed bytes: signed weights lend their sign to
                // the activations. Pairs to i16 (at most 2 * 127 * 127: no saturation), then
                // to i32 lanes.
                let (x, y) = if SIGNED {
                    (_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x))
                } else {
                    // Fused, as the C compiler contracts llama.cpp's `summs += m * s`.
                    summs[i] = m[b].mul_add(sy[b], summs[i]);
                    (x, y)
                };
                let dot = _mm256_madd_epi16(_mm256_maddubs_epi16(x, y), ones);
                let scale = _mm256_set1_ps(d[b] * dy[b]);
                acc[i] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(dot), acc[i]);
            }
        }
        std::array::from_fn(|i| {
            let mut lanes = [0f32; 8];
            // SAFETY: `lanes` is 8 floats.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc[i]) };
            if SIGNED {
                hsum8(lanes)
            } else {
                hsum8(lanes) + summs[i]
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};

    use super::*;

    const FORMATS: [GgmlDType; 2] = [GgmlDType::Q4_1, GgmlDType::Q8_0];

    fn matrix(rows: usize, cols: usize, dtype: GgmlDType) -> (QuantMatrix, Vec<f32>) {
        let w: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 0.3)
            .collect();
        let t = Tensor::from_vec(w, (rows, cols), &Device::Cpu).expect("tensor");
        let q = QTensor::quantize(&t, dtype).expect("quantize");
        let dense = q
            .dequantize(&Device::Cpu)
            .expect("dequantize")
            .flatten_all()
            .expect("flat")
            .to_vec1::<f32>()
            .expect("vec");
        let m = QuantMatrix::from_qtensor(&q).expect("load").expect("taken");
        (m, dense)
    }

    #[test]
    fn equals_the_dequantized_product_of_the_quantized_activations() {
        let (rows, cols, n_x) = (72, 576, 5);
        for dtype in FORMATS {
            let (m, w) = matrix(rows, cols, dtype);
            let xs: Vec<f32> = (0..n_x * cols)
                .map(|i| (i * 104729 % 997) as f32 / 498.0 - 1.0)
                .collect();
            let mut out = vec![0f32; n_x * rows];
            m.matmul(&xs, &mut out);
            // The activations as the kernel sees them: 8-bit values times their block's scale.
            let q = quantize(&xs, cols);
            let nb = cols / BLOCK;
            let mut worst = 0f64;
            for r in 0..n_x {
                for n in 0..rows {
                    let mut exact = 0f64;
                    for b in 0..nb {
                        // Q4_1's minimum times the block's activation sum, which llama.cpp
                        // stores (rounded to f16) with the activations; Q8_0 has none.
                        let min = m.m[n * nb + b] as f64;
                        exact += min * q.s[r * nb + b] as f64;
                        for k in b * BLOCK..(b + 1) * BLOCK {
                            let x = q.qs[r * cols + k] as f64 * q.d[r * nb + b] as f64;
                            exact += x * (w[n * cols + k] as f64 - min);
                        }
                    }
                    let got = out[r * rows + n] as f64;
                    worst = worst.max((got - exact).abs() / (1.0 + exact.abs()));
                }
            }
            // Only f32 rounding is left.
            assert!(worst < 1e-5, "{dtype:?}: relative error {worst}");
            // And the quantized activations stay within half a step of the originals (plus the
            // scale's own rounding to f16: at most 127 * 2^-11 steps).
            for (i, x) in xs.iter().enumerate() {
                let d = q.d[i / BLOCK];
                assert!((q.qs[i] as f32 * d - x).abs() <= 0.57 * d + 1e-6, "{i}");
            }
        }
    }

    #[test]
    fn a_row_gives_the_same_result_alone_or_among_others_and_on_every_kernel() {
        // 37 rows: the last group of four is short.
        let (rows, cols) = (37, 96);
        for dtype in FORMATS {
            let (m, _) = matrix(rows, cols, dtype);
            let xs: Vec<f32> = (0..3 * cols).map(|i| (i as f32 * 0.37).sin()).collect();
            let mut all = vec![0f32; 3 * rows];
            m.matmul(&xs, &mut all);
            let mut one = vec![0f32; rows];
            m.matmul(&xs[cols..2 * cols], &mut one);
            assert_eq!(one, all[rows..2 * rows], "{dtype:?}");
            // The scalar kernel sums in the vector kernel's order: bit-equal results.
            let qz = quantize(&xs[..cols], cols);
            let mut row = vec![0u8; cols];
            match m.format {
                Format::Q4_1 => unpack(&m.qs[..cols / 2], &mut row),
                Format::Q8_0 => row.copy_from_slice(&m.qs[..cols]),
            }
            let nb = cols / BLOCK;
            let four = row.repeat(LANES);
            let dm = [(&m.d[..nb], &m.m[..nb]); LANES];
            let y = (&qz.qs[..], &qz.d[..], &qz.s[..]);
            let scalar = Kernel::Scalar.dot4(m.format, &four, &dm, y);
            assert_eq!(
                Kernel::detect().dot4(m.format, &four, &dm, y),
                scalar,
                "{dtype:?}"
            );
            assert_eq!(scalar, [all[0]; LANES], "{dtype:?}");
        }
    }

    #[test]
    fn other_tensors_are_not_taken() {
        let t = Tensor::zeros((4, 256), candle_core::DType::F32, &Device::Cpu).expect("t");
        let q = QTensor::quantize(&t, GgmlDType::Q4K).expect("q");
        assert!(QuantMatrix::from_qtensor(&q).expect("load").is_none());
    }
}
