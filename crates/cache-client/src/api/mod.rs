//! The route groups of [`crate::CacheClient`], one module each, named like the official
//! Python client's sub-clients. Each group is a borrowed view of the client, so
//! `client.data().store_json(…)` costs nothing beyond the request.

mod admin;
mod data;
mod entries;
mod info;
mod namespace;
mod retrieve;
mod store;

pub use admin::AdminStorageApi;
pub use data::DataApi;
pub use entries::{DeleteApi, ExistsApi, UpdateApi};
pub use info::{InfoApi, ServerApi};
pub use namespace::{NamespaceApi, NamespacesApi};
pub use retrieve::RetrieveApi;
pub use store::StoreApi;

/// Declares a route group: a `Copy` struct borrowing the client.
macro_rules! group {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name<'a> {
            client: &'a crate::CacheClient,
        }

        impl<'a> $name<'a> {
            pub(crate) fn new(client: &'a crate::CacheClient) -> Self {
                $name { client }
            }
        }
    };
}
pub(crate) use group;
