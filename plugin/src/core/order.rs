//! Ordering items so parents come before their children.

use std::collections::{HashMap, HashSet};

/// Indexes of `items` (id, parent id) ordered parents first; items whose parent is not in the
/// set keep their relative order. Cycles cannot stall the order.
pub fn parents_first(items: &[(i64, Option<i64>)]) -> Vec<usize> {
    let index: HashMap<i64, usize> = items
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();
    let mut placed: HashSet<usize> = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for start in 0..items.len() {
        let mut chain = Vec::new();
        let mut cur = Some(start);
        while let Some(i) = cur {
            if placed.contains(&i) || chain.contains(&i) {
                break;
            }
            chain.push(i);
            cur = items[i].1.and_then(|p| index.get(&p).copied());
        }
        for i in chain.into_iter().rev() {
            if placed.insert(i) {
                out.push(i);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_first_and_cycles_terminate() {
        let items = [(3, Some(2)), (2, Some(1)), (1, None), (9, Some(99))];
        let order: Vec<i64> = parents_first(&items).iter().map(|&i| items[i].0).collect();
        assert_eq!(order, vec![1, 2, 3, 9]);
        let cyclic = [(1, Some(2)), (2, Some(1))];
        assert_eq!(parents_first(&cyclic).len(), 2);
    }
}
