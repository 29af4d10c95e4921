//! A typed client for the ADO REST API (7.1) over the small [`crate::ports::Http`] trait.

pub mod auth;
pub mod client;
pub mod errors;
pub mod resources;

pub use client::AdoClient;
