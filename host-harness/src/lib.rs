//! The reference host for the ado-sync component.
pub mod ado_sim;
