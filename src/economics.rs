//! Money and measurement: exact dollars, the cost ledger, per-replication metrics and
//! their aggregation across replications.

pub mod billing;
pub mod ledger;
pub mod metrics;
pub mod money;

pub use ledger::{Category, Ledger};
pub use money::Usd;
