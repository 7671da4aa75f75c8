//! Workflows: what performance work does with a store. Each uses only the [`crate::Storage`]
//! interface (through [`crate::Store`]), so it runs on every backend.
//!
//! | module | what |
//! |---|---|
//! | [`session`] | session metadata and the environment fingerprint |
//! | [`batch`] | batch runs that record each target's status and resume |
//! | [`baseline`] | named baselines (`@name`) |
//! | [`diff`] | comparisons of two sessions, and their renderers |
//! | [`direction`] | which way a metric is better: inferred from its name, stored rules |
//! | [`stats`] | medians, confidence intervals and the Mann–Whitney U test over samples |
//! | [`history`] | a target's metrics across sessions, oldest first |
//! | [`dedup`] | finding artifacts by content hash |
//! | [`transfer`] | import, export and copy of sessions |

pub mod baseline;
pub mod batch;
pub mod dedup;
pub mod diff;
pub mod direction;
pub mod history;
pub mod session;
pub mod stats;
pub mod transfer;
