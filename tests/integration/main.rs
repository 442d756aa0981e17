//! The integration test binary: one module per feature.

mod audit;
mod cli;
mod common;
mod sweep;
mod theory;
