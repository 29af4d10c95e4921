//! Identifiers: deterministic host ids for items created from ADO, and short ids for records.

use sha2::{Digest, Sha256};

/// The host item id given to the item created from work item `work_item` of `connection`.
/// Deterministic, so applying the same creation twice is harmless.
pub fn host_id_for(connection: &str, work_item: i64) -> String {
    format!("ado-{connection}-{work_item}")
}

/// A short stable id (`{prefix}-` + 12 hex chars) derived from the given parts.
pub fn short_id(prefix: &str, parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_ids_are_deterministic_and_distinct() {
        assert_eq!(host_id_for("c-1", 7), host_id_for("c-1", 7));
        assert_ne!(host_id_for("c-1", 7), host_id_for("c-2", 7));
        assert_ne!(host_id_for("c-1", 7), host_id_for("c-1", 8));
    }

    #[test]
    fn short_ids_separate_their_parts() {
        assert_ne!(short_id("c", &["ab", "c"]), short_id("c", &["a", "bc"]));
        assert_eq!(short_id("c", &["x"]).len(), 2 + 12);
    }
}
