//! safetensors bytes <-> named candle tensors; the one weights format of every artifact.

use std::collections::HashMap;

use candle_core::{Device, Tensor};

use crate::{CoreError, Result};

pub fn serialize(tensors: &HashMap<String, Tensor>) -> Result<Vec<u8>> {
    let mut sorted: Vec<(&String, &Tensor)> = tensors.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    safetensors::serialize(sorted, None)
        .map_err(|e| CoreError::Candle(candle_core::Error::Msg(format!("safetensors: {e}"))))
}

pub fn load(bytes: &[u8], device: &Device) -> Result<HashMap<String, Tensor>> {
    Ok(candle_core::safetensors::load_buffer(bytes, device)?)
}
