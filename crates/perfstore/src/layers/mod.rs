//! Layers wrap any backend and are backends themselves (as opendal's layers): they add
//! behaviour around every operation without the backend knowing.
//!
//! - [`metrics`]: per-operation counts, errors, bytes and latency percentiles
//!   ([`crate::Store::with_metrics`]);
//! - [`traced`]: a `tracing` span per operation ([`crate::Store::with_tracing`]).

pub mod metrics;
pub mod traced;
