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

/// Indexes of `items` level by level: roots (and items whose parent is not in the set) first,
/// then their children, and so on; within a level the order of `items` is kept. Items of one
/// level do not depend on each other, so they can be written concurrently.
pub fn level_by_level(items: &[(i64, Option<i64>)]) -> Vec<usize> {
    let order = parents_first(items);
    let index: HashMap<i64, usize> = items
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();
    let mut depth: HashMap<usize, usize> = HashMap::new();
    for &i in &order {
        // Parents come first, so a parent in the set already has its depth (a cycle does not).
        let d = items[i]
            .1
            .and_then(|p| index.get(&p))
            .and_then(|p| depth.get(p))
            .map_or(0, |d| d + 1);
        depth.insert(i, d);
    }
    let mut by_level = order;
    by_level.sort_by_key(|i| depth.get(i).copied().unwrap_or(0));
    by_level
}

/// Releases items parents first while they arrive in batches, so a sync can decide each batch
/// as it is read instead of holding every item: an item waits only while its parent is still
/// expected (part of the run and not released yet).
pub struct ParentsFirstStream<T> {
    expected: HashSet<i64>,
    released: HashSet<i64>,
    waiting: HashMap<i64, Vec<(usize, i64, T)>>,
    arrived: usize,
}

impl<T> ParentsFirstStream<T> {
    /// A stream over the ids the run will read.
    pub fn new(expected: impl IntoIterator<Item = i64>) -> Self {
        ParentsFirstStream {
            expected: expected.into_iter().collect(),
            released: HashSet::new(),
            waiting: HashMap::new(),
            arrived: 0,
        }
    }

    /// One item arrived; returns what can be decided now (it, then any children that waited
    /// for it), or nothing while its parent is still to come.
    pub fn push(&mut self, id: i64, parent: Option<i64>, item: T) -> Vec<T> {
        self.arrived += 1;
        match parent {
            Some(p) if p != id && self.expected.contains(&p) && !self.released.contains(&p) => {
                self.waiting
                    .entry(p)
                    .or_default()
                    .push((self.arrived, id, item));
                Vec::new()
            }
            _ => {
                let mut out = vec![item];
                self.release(id, &mut out);
                out
            }
        }
    }

    /// An expected id that will not arrive (its read failed, or it is gone): its children stop
    /// waiting and are returned.
    pub fn give_up(&mut self, id: i64) -> Vec<T> {
        let mut out = Vec::new();
        if self.expected.contains(&id) && !self.released.contains(&id) {
            self.release(id, &mut out);
        }
        out
    }

    /// Whether `id` was released or given up.
    pub fn is_settled(&self, id: i64) -> bool {
        self.released.contains(&id)
    }

    /// Whatever still waits (parents in a cycle), in arrival order.
    pub fn finish(self) -> Vec<T> {
        let mut rest: Vec<(usize, i64, T)> = self.waiting.into_values().flatten().collect();
        rest.sort_by_key(|(n, _, _)| *n);
        rest.into_iter().map(|(_, _, t)| t).collect()
    }

    fn release(&mut self, id: i64, out: &mut Vec<T>) {
        let mut settled = vec![id];
        while let Some(parent) = settled.pop() {
            self.released.insert(parent);
            for (_, child, item) in self.waiting.remove(&parent).unwrap_or_default() {
                out.push(item);
                settled.push(child);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_holds_children_until_their_parent_arrives() {
        let mut s = ParentsFirstStream::new([1, 2, 3, 4, 5]);
        // 3's parent 2 is expected: it waits; 4's parent 99 is not part of the run: it goes.
        assert_eq!(s.push(3, Some(2), "3"), Vec::<&str>::new());
        assert_eq!(s.push(4, Some(99), "4"), vec!["4"]);
        assert_eq!(s.push(5, Some(3), "5"), Vec::<&str>::new());
        // 2 arrives (its parent 1 was never read): 2, then 3, then 3's child 5.
        assert_eq!(s.push(2, Some(1), "2"), Vec::<&str>::new());
        assert_eq!(s.give_up(1), vec!["2", "3", "5"]);
        assert!(s.is_settled(5));
        assert!(s.finish().is_empty());
    }

    #[test]
    fn a_stream_hands_back_cycles_at_the_end() {
        let mut s = ParentsFirstStream::new([1, 2, 3]);
        assert!(s.push(1, Some(2), 1).is_empty());
        assert!(s.push(2, Some(1), 2).is_empty());
        assert_eq!(s.push(3, None, 3), vec![3]);
        assert_eq!(s.finish(), vec![1, 2]);
    }

    #[test]
    fn levels_come_one_after_the_other() {
        let items = [
            (1, None),
            (2, Some(1)),
            (3, Some(2)),
            (4, None),
            (5, Some(4)),
            (6, Some(99)),
            (7, Some(8)),
            (8, Some(7)),
        ];
        let order: Vec<i64> = level_by_level(&items).iter().map(|&i| items[i].0).collect();
        // 7 and 8 form a cycle: one of them counts as a root, the other follows it.
        assert_eq!(order, vec![1, 4, 6, 8, 2, 5, 7, 3]);
    }

    #[test]
    fn parents_come_first_and_cycles_terminate() {
        let items = [(3, Some(2)), (2, Some(1)), (1, None), (9, Some(99))];
        let order: Vec<i64> = parents_first(&items).iter().map(|&i| items[i].0).collect();
        assert_eq!(order, vec![1, 2, 3, 9]);
        let cyclic = [(1, Some(2)), (2, Some(1))];
        assert_eq!(parents_first(&cyclic).len(), 2);
    }
}
