//! The only place that turns a device request into a candle `Device`.
//!
//! `cpu`, `cuda`, `cuda:N` or `auto`. CUDA is real only when the crate is built with the `cuda`
//! feature; otherwise asking for it is an error. `auto` picks CUDA when it works and else the
//! CPU, and then says why ([`Resolved::fallback`], and a warning in the log). A CUDA start-up
//! failure is always one plain line (never a panic or a backtrace).

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

/// A resolved device and, when `auto` fell back to the CPU, why (for logs and readiness).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub device: Device,
    /// `None` when the device is the one asked for; else e.g.
    /// `auto: cuda:0 unavailable: no NVIDIA driver found, ...; using cpu`.
    pub fallback: Option<String>,
}

impl DeviceSpec {
    pub fn resolve(self) -> Result<Device> {
        self.resolve_explained().map(|r| r.device)
    }

    /// Like [`DeviceSpec::resolve`], and says why `auto` ended up on the CPU. The fallback is
    /// logged here once, as a warning: a GPU machine silently training on its CPU is a fault.
    pub fn resolve_explained(self) -> Result<Resolved> {
        match self {
            DeviceSpec::Cpu => Ok(Resolved {
                device: Device::Cpu,
                fallback: None,
            }),
            DeviceSpec::Cuda(n) => Ok(Resolved {
                device: cuda(n)?,
                fallback: None,
            }),
            DeviceSpec::Auto => {
                let why = if CUDA_COMPILED {
                    match cuda(0) {
                        Ok(device) => {
                            return Ok(Resolved {
                                device,
                                fallback: None,
                            });
                        }
                        Err(CoreError::Device(e)) => e,
                        Err(e) => e.to_string(),
                    }
                } else {
                    "this build has no CUDA support".to_owned()
                };
                let note = format!("auto: {why}; using cpu");
                tracing::warn!("device {note}");
                Ok(Resolved {
                    device: Device::Cpu,
                    fallback: Some(note),
                })
            }
        }
    }
}

/// `cpu` or `cuda:N`: the name a resolved device is reported under.
pub fn label(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".to_owned(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

#[cfg(feature = "cuda")]
fn cuda(ordinal: usize) -> Result<Device> {
    Device::new_cuda(ordinal).map_err(|e| {
        CoreError::Device(format!(
            "cuda:{ordinal} unavailable: {}",
            cuda_reason(&e.to_string())
        ))
    })
}

#[cfg(not(feature = "cuda"))]
fn cuda(ordinal: usize) -> Result<Device> {
    Err(CoreError::Device(format!(
        "cuda:{ordinal} requested, but this build has no CUDA support (rebuild with `--features cuda`)"
    )))
}

/// One line for a failed CUDA start-up. candle's message is cudarc's `DriverError(CODE, "text")`,
/// followed by a backtrace when RUST_BACKTRACE is set; the usual causes are named plainly.
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
fn cuda_reason(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default().trim();
    let plain = if first.contains("CUDA_ERROR_STUB_LIBRARY") {
        "no NVIDIA driver found, only the CUDA stub library"
    } else if first.contains("CUDA_ERROR_NO_DEVICE") {
        "the NVIDIA driver reports no CUDA-capable GPU"
    } else if first.contains("CUDA_ERROR_INVALID_DEVICE") {
        "no GPU with that ordinal"
    } else if first.contains("CUDA_ERROR_INSUFFICIENT_DRIVER")
        || first.contains("CUDA_ERROR_COMPAT_NOT_SUPPORTED")
    {
        "the NVIDIA driver is too old for this CUDA 13.5 build (needs R580 or newer)"
    } else {
        return first.to_owned();
    };
    match first
        .split_once('(')
        .and_then(|(_, rest)| rest.split([',', ')']).next())
    {
        Some(code) if code.starts_with("CUDA_ERROR") => format!("{plain} ({code})"),
        _ => plain.to_owned(),
    }
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
        let cpu = DeviceSpec::Cpu.resolve_explained().unwrap();
        assert!(cpu.device.is_cpu() && cpu.fallback.is_none());
        assert_eq!(label(&Device::Cpu), "cpu");
        if !CUDA_COMPILED {
            let auto = DeviceSpec::Auto.resolve_explained().unwrap();
            assert!(auto.device.is_cpu());
            assert_eq!(
                auto.fallback.as_deref(),
                Some("auto: this build has no CUDA support; using cpu")
            );
            let err = DeviceSpec::Cuda(0).resolve().unwrap_err();
            assert!(err.to_string().contains("no CUDA support"), "{err}");
        }
    }

    #[test]
    fn cuda_start_up_failures_read_as_one_plain_line() {
        let stub = "DriverError(CUDA_ERROR_STUB_LIBRARY, \"no NVIDIA driver found\")\n   0: backtrace frame";
        assert_eq!(
            cuda_reason(stub),
            "no NVIDIA driver found, only the CUDA stub library (CUDA_ERROR_STUB_LIBRARY)"
        );
        let old = "DriverError(CUDA_ERROR_INSUFFICIENT_DRIVER, \"driver too old\")";
        assert_eq!(
            cuda_reason(old),
            "the NVIDIA driver is too old for this CUDA 13.5 build (needs R580 or newer) (CUDA_ERROR_INSUFFICIENT_DRIVER)"
        );
        let odd = "DriverError(CUDA_ERROR_OUT_OF_MEMORY, \"oom\")\nframe";
        assert_eq!(
            cuda_reason(odd),
            "DriverError(CUDA_ERROR_OUT_OF_MEMORY, \"oom\")"
        );
        assert_eq!(cuda_reason(""), "");
    }
}
