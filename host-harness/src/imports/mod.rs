//! What the host provides to the component: one egress choke point for `wasi:http`, durable
//! storage, and the secret vault.

pub mod egress;
pub mod secrets;
pub mod storage;
