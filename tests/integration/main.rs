//! The integration test binary: one module per feature.

mod audit;
mod breakeven;
mod charts;
mod cli;
mod common;
mod comparisons;
mod metrics;
mod properties;
mod regressions;
mod sensitivity;
mod sweep;
mod theory;
