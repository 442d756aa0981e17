//! The integration test binary: one module per feature.

mod audit;
mod breakeven;
mod charts;
mod cli;
mod common;
mod comparisons;
mod fuzz;
mod horizon;
mod inputs;
mod metrics;
mod otel;
mod prices;
mod properties;
mod quality;
mod regressions;
mod rules;
mod sensitivity;
mod sweep;
mod theory;
mod traces;
