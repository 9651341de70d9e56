//! The only place that turns a device request into a candle `Device`.
//!
//! `cpu`, `cuda`, `cuda:N` or `auto`. CUDA is real only when the crate is built with the `cuda`
//! feature; otherwise asking for it is an error and `auto` picks the CPU (with a log line).

use std::str::FromStr;

use crate::{CoreError, Result};

pub use candle_core::Device;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceSpec {
    #[default]
    Cpu,
    Cuda(usize),
    Auto,
}

impl FromStr for DeviceSpec {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(DeviceSpec::Cpu),
            "auto" => Ok(DeviceSpec::Auto),
            "cuda" | "gpu" => Ok(DeviceSpec::Cuda(0)),
            other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
                Some(Ok(n)) => Ok(DeviceSpec::Cuda(n)),
                _ => Err(CoreError::Device(format!(
                    "`{s}` is not a device; use cpu, cuda, cuda:N or auto"
                ))),
            },
        }
    }
}

impl std::fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceSpec::Cpu => f.write_str("cpu"),
            DeviceSpec::Cuda(n) => write!(f, "cuda:{n}"),
            DeviceSpec::Auto => f.write_str("auto"),
        }
    }
}

/// Whether this build can use CUDA at all.
pub const CUDA_COMPILED: bool = cfg!(feature = "cuda");

impl DeviceSpec {
    pub fn resolve(self) -> Result<Device> {
        match self {
            DeviceSpec::Cpu => Ok(Device::Cpu),
            DeviceSpec::Cuda(n) => cuda(n),
            DeviceSpec::Auto => {
                if CUDA_COMPILED {
                    match cuda(0) {
                        Ok(d) => return Ok(d),
                        Err(e) => tracing::info!("device auto: CUDA unavailable ({e}); using cpu"),
                    }
                } else {
                    tracing::info!("device auto: this build has no CUDA support; using cpu");
                }
                Ok(Device::Cpu)
            }
        }
    }
}

#[cfg(feature = "cuda")]
fn cuda(ordinal: usize) -> Result<Device> {
    Device::new_cuda(ordinal)
        .map_err(|e| CoreError::Device(format!("cuda:{ordinal} unavailable: {e}")))
}

#[cfg(not(feature = "cuda"))]
fn cuda(ordinal: usize) -> Result<Device> {
    Err(CoreError::Device(format!(
        "cuda:{ordinal} requested, but this build has no CUDA support (rebuild with `--features cuda`)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_resolves() {
        assert_eq!("cpu".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cpu);
        assert_eq!("CUDA:1".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cuda(1));
        assert_eq!("cuda".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cuda(0));
        assert_eq!("auto".parse::<DeviceSpec>().unwrap(), DeviceSpec::Auto);
        for bad in ["tpu", "cuda:x", "cuda:-1", ""] {
            assert!(
                matches!(bad.parse::<DeviceSpec>(), Err(CoreError::Device(_))),
                "{bad}"
            );
        }
        assert!(DeviceSpec::Cpu.resolve().unwrap().is_cpu());
        if !CUDA_COMPILED {
            assert!(DeviceSpec::Auto.resolve().unwrap().is_cpu());
            let err = DeviceSpec::Cuda(0).resolve().unwrap_err();
            assert!(err.to_string().contains("no CUDA support"), "{err}");
        }
    }
}
