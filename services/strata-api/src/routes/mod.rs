//! HTTP handlers, one module per resource. Handlers are thin: extract, call the ML service, map.

pub mod auth;
pub mod common;
pub mod datasets;
pub mod generation;
pub mod inference;
pub mod jobs;
pub mod models;
pub mod ops;
pub mod system;
