//! Conversions between the core's types and the contract's messages.

use std::time::SystemTime;

use prost_types::Timestamp;
use strata_core::ClassificationMetrics;
use strata_proto::strata::ml::v1 as pb;

pub fn now() -> Option<Timestamp> {
    Some(Timestamp::from(SystemTime::now()))
}

pub fn timestamp(secs: i64, nanos: u32) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: secs,
        nanos: nanos as i32,
    })
}

pub fn metrics(m: &ClassificationMetrics) -> pb::Metrics {
    pb::Metrics {
        loss: m.loss,
        accuracy: m.accuracy,
        macro_f1: m.macro_f1,
        confusion_matrix: m.confusion.iter().flatten().copied().collect(),
        num_classes: m.confusion.len() as u32,
    }
}

/// Metrics as the core stores them in a manifest (JSON of `ClassificationMetrics`).
pub fn metrics_json(value: &serde_json::Value) -> Option<pb::Metrics> {
    serde_json::from_value::<ClassificationMetrics>(value.clone())
        .ok()
        .map(|m| metrics(&m))
}

/// The registry's name rule, shared by models and datasets: 1-128 of [A-Za-z0-9._-], no leading dot.
pub fn check_name(what: &str, value: &str) -> Result<(), crate::error::ServiceError> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && !value.starts_with('.')
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(crate::error::ServiceError::InvalidArgument(format!(
            "{what} `{value}` is invalid: use 1-128 characters of [A-Za-z0-9._-], not starting with `.`"
        )))
    }
}
