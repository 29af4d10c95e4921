//! Simulated Azure DevOps (placeholder, being written).
