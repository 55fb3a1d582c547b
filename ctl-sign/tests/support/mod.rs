//! Shared test helpers.
pub mod tools;
