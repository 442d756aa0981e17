//! The integration test binary: one module per feature.

mod audit;
mod breakeven;
mod charts;
mod cli;
mod common;
mod prices;
mod comparisons;
mod metrics;
mod properties;
mod quality;
mod regressions;
mod rules;
mod sensitivity;
mod sweep;
mod theory;
mod traces;
