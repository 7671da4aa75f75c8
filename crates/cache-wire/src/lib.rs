//! Wire types shared by the cache-service server and client: identifiers, request and response
//! bodies, and the hash function of the MGraph-AI Cache Service 0.14.0.

pub mod batch;
pub mod hash;
pub mod ids;
pub mod pyjson;
pub mod schema;
