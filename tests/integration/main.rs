//! The integration test binary: one module per feature.

mod audit;
mod charts;
mod cli;
mod common;
mod crn;
mod properties;
mod quality;
mod regressions;
mod rules;
mod sweep;
mod theory;
