//! The integration test binary: one module per feature.

mod audit;
mod charts;
mod cli;
mod common;
mod prices;
mod properties;
mod regressions;
mod sweep;
mod theory;
mod traces;
