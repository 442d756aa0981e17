//! The integration test binary: one module per feature.

mod audit;
mod breakeven;
mod charts;
mod cli;
mod common;
mod comparisons;
mod crn;
mod horizon;
mod metrics;
mod prices;
mod properties;
mod quality;
mod readme;
mod regressions;
mod rules;
mod sensitivity;
mod sweep;
mod theory;
