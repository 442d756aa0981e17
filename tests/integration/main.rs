//! The integration test binary: one module per feature.

mod audit;
mod billing;
mod breakeven;
mod charts;
mod cli;
mod common;
mod comparisons;
mod crn;
mod fuzz;
mod horizon;
mod inputs;
mod loops;
mod metrics;
mod mutants_kill;
mod otel;
mod prices;
mod properties;
mod quality;
mod readme;
mod regressions;
mod rules;
mod sensitivity;
mod sweep;
mod theory;
mod traces;
