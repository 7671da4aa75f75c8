//! Moving sessions in and out of a store: import from a folder, export to one, copy between
//! backends (only missing or different artifacts move, by content hash).
