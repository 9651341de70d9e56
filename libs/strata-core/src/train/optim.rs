//! AdamW with decoupled weight decay. Written here rather than taken from candle-nn because a
//! checkpoint must hold the moment estimates for resume to continue the exact same run, and
//! candle-nn's optimiser keeps them private.

use std::collections::HashMap;

use candle_core::{Tensor, backprop::GradStore};

use super::engine::Param;
use crate::Result;

pub struct AdamW {
    params: Vec<Param>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    t: u64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
}

impl AdamW {
    pub fn new(params: Vec<Param>, weight_decay: f64) -> Result<Self> {
        let zeros = |p: &Param| p.var.zeros_like();
        let m = params
            .iter()
            .map(zeros)
            .collect::<candle_core::Result<Vec<_>>>()?;
        let v = params
            .iter()
            .map(zeros)
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(AdamW {
            params,
            m,
            v,
            t: 0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
        })
    }

    pub fn steps(&self) -> u64 {
        self.t
    }

    /// One update with learning rate `lr` (scaled per parameter group); `grad_scale` applies
    /// gradient clipping.
    pub fn step(&mut self, grads: &GradStore, lr: f64, grad_scale: f64) -> Result<()> {
        self.t += 1;
        let (b1, b2) = (self.beta1, self.beta2);
        let bias1 = 1.0 - b1.powi(self.t as i32);
        let bias2 = 1.0 - b2.powi(self.t as i32);
        for (i, p) in self.params.iter().enumerate() {
            let Some(g) = grads.get(p.var.as_tensor()) else {
                continue;
            };
            let g = if grad_scale != 1.0 {
                g.affine(grad_scale, 0.0)?
            } else {
                g.clone()
            };
            let m = ((&self.m[i] * b1)? + (&g * (1.0 - b1))?)?;
            let v = ((&self.v[i] * b2)? + (g.sqr()? * (1.0 - b2))?)?;
            let lr = lr * p.lr_scale;
            let update = ((&m / bias1)? / ((&v / bias2)?.sqrt()? + self.eps)?)?;
            let decayed = (p.var.as_tensor() * (1.0 - lr * self.weight_decay))?;
            p.var.set(&(decayed - (update * lr)?)?)?;
            self.m[i] = m;
            self.v[i] = v;
        }
        Ok(())
    }

    /// Moment tensors by parameter name (`m.<name>`, `v.<name>`) for a checkpoint.
    pub fn state(&self) -> HashMap<String, Tensor> {
        let mut out = HashMap::new();
        for (i, p) in self.params.iter().enumerate() {
            out.insert(format!("m.{}", p.name), self.m[i].clone());
            out.insert(format!("v.{}", p.name), self.v[i].clone());
        }
        out
    }

    pub fn load_state(&mut self, state: &HashMap<String, Tensor>, t: u64) -> Result<()> {
        for (i, p) in self.params.iter().enumerate() {
            let get = |k: String| {
                state.get(&k).cloned().ok_or_else(|| {
                    crate::error::config_err(format!("checkpoint optimiser state lacks `{k}`"))
                })
            };
            let m = get(format!("m.{}", p.name))?;
            let v = get(format!("v.{}", p.name))?;
            if m.shape() != p.var.shape() || v.shape() != p.var.shape() {
                return Err(crate::error::config_err(format!(
                    "checkpoint state for `{}` has the wrong shape",
                    p.name
                )));
            }
            self.m[i] = m.to_device(p.var.device())?;
            self.v[i] = v.to_device(p.var.device())?;
        }
        self.t = t;
        Ok(())
    }
}
