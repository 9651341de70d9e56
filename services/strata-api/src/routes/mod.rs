//! HTTP handlers, one module per resource. Handlers are thin: extract, call the ML service, map.

pub mod auth;
pub mod ops;
pub mod system;
