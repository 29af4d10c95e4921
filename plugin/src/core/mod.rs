//! Pure decisions, no I/O: everything here is plain Rust, unit-tested natively.

pub mod clock;
pub mod convert;
pub mod fingerprint;
pub mod ids;
pub mod kinds;
pub mod mapping;
pub mod merge;
pub mod order;
pub mod paths;
pub mod propose;
pub mod query;
pub mod values;
pub mod work_item;
