//! The integration test binary: one module per feature.

mod cli;
mod common;
mod sweep;
mod theory;
