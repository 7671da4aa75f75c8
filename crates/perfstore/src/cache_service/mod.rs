//! The cache-service backend: each target is one key-based entry of the MGraph-AI Cache
//! Service, and each artifact one child data file of it (see [`mapping`]).

pub mod mapping;
