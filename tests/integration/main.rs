//! The integration test binary: one module per feature.

mod audit;
mod charts;
mod cli;
mod common;
mod fuzz;
mod inputs;
mod properties;
mod regressions;
mod sweep;
mod theory;
