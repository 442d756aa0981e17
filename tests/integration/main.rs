//! The integration test binary: one module per feature.

mod audit;
mod charts;
mod cli;
mod common;
mod properties;
mod regressions;
mod sweep;
mod theory;
mod traces;
