//! A typed client for the MGraph-AI Cache Service wire.
