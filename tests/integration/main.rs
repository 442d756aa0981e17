//! The integration test binary: one module per feature.

mod audit;
mod charts;
mod cli;
mod common;
mod prices;
mod properties;
mod quality;
mod regressions;
mod rules;
mod sweep;
mod theory;
