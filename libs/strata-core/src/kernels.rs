//! CPU kernels where candle's generic ones cost real time in BERT inference.
//!
//! candle computes exact GELU with a scalar `erf` per element on one thread; in MiniLM that is
//! the largest cost after the matrix products. [`gelu_erf`] evaluates the same function with a
//! branch-free polynomial `erf` (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7) and a polynomial
//! `exp`, which the compiler vectorises, split over threads. Inference only: no backward pass,
//! so training keeps candle's differentiable op.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};
use rayon::prelude::*;

use crate::Result;

/// Exact-GELU (erf form) for inference. Falls back to candle's op off the CPU or for non-f32.
pub fn gelu_erf(x: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == candle_core::DType::F32 {
        Ok(x.contiguous()?.apply_op1_no_bwd(&GeluErf)?)
    } else {
        Ok(x.gelu_erf()?)
    }
}

struct GeluErf;

impl CustomOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "strata-gelu-erf"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("strata-gelu-erf expects f32");
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("strata-gelu-erf expects a contiguous tensor");
        };
        let src = &data[start..end];
        let mut out = vec![0f32; src.len()];
        out.par_chunks_mut(16 * 1024)
            .zip(src.par_chunks(16 * 1024))
            .for_each(|(o, s)| gelu_slice(s, o));
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

#[inline(always)]
fn exp_poly(x: f32) -> f32 {
    // e^x = 2^n * e^r, n = round(x / ln 2), |r| <= ln2 / 2; degree-6 Taylor/minimax for e^r.
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E).round();
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (0.166_666_67
                    + r * (0.041_666_668 + r * (0.008_333_334 + r * 0.001_388_889)))));
    f32::from_bits(((n as i32 + 127) << 23) as u32) * p
}

fn gelu_slice(src: &[f32], dst: &mut [f32]) {
    const P: f32 = 0.327_591_1;
    const A1: f32 = 0.254_829_6;
    const A2: f32 = -0.284_496_74;
    const A3: f32 = 1.421_413_7;
    const A4: f32 = -1.453_152_1;
    const A5: f32 = 1.061_405_4;
    for (o, &x) in dst.iter_mut().zip(src) {
        let z = x * std::f32::consts::FRAC_1_SQRT_2;
        let a = z.abs();
        let t = 1.0 / (1.0 + P * a);
        let poly = t * (A1 + t * (A2 + t * (A3 + t * (A4 + t * A5))));
        let erf_abs = 1.0 - poly * exp_poly(-a * a);
        let erf = erf_abs.copysign(z);
        *o = 0.5 * x * (1.0 + erf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_candle_exact_gelu() {
        let xs: Vec<f32> = (-4000..4000).map(|i| i as f32 / 400.0).collect();
        let t = Tensor::new(xs.as_slice(), &candle_core::Device::Cpu).unwrap();
        let fast = gelu_erf(&t).unwrap().to_vec1::<f32>().unwrap();
        let exact = t.gelu_erf().unwrap().to_vec1::<f32>().unwrap();
        for ((x, f), e) in xs.iter().zip(&fast).zip(&exact) {
            assert!(
                (f - e).abs() <= 2e-6 * (1.0 + x.abs()),
                "x {x}: fast {f} exact {e}"
            );
        }
        assert!(exp_poly(0.0) == 1.0 && (exp_poly(1.0) - std::f32::consts::E).abs() < 1e-6);
    }
}
