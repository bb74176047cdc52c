//! The tracker's open state: things numbered in the order they were first seen, kept while they
//! are open and handed out when they finish. Ids are never reused, so a finished connection keeps
//! the number `analyze` gave it however much came before.
use std::collections::BTreeMap;

/// Open items by id, iterated in id order (the order of a `Vec` of everything ever seen, minus
/// what has finished), so what the tracker does with them does not depend on a hash order.
/// Items are boxed: the tree's nodes then stay small however large an item is, and however
/// sparse the nodes become as items leave.
#[derive(Debug)]
pub(crate) struct Live<T> {
    next: usize,
    open: BTreeMap<usize, Box<T>>,
}

impl<T> Default for Live<T> {
    fn default() -> Self {
        Live { next: 0, open: BTreeMap::new() }
    }
}

impl<T> Live<T> {
    /// The id the next [`Live::push`] gives.
    pub fn next_id(&self) -> usize {
        self.next
    }

    /// Adds an item under the next id.
    pub fn push(&mut self, item: T) -> usize {
        let id = self.next;
        self.next += 1;
        self.open.insert(id, Box::new(item));
        id
    }

    /// Replaces the item with id `id` (an id already given out).
    pub fn replace(&mut self, id: usize, item: T) {
        debug_assert!(id < self.next);
        self.open.insert(id, Box::new(item));
    }

    pub fn get(&self, id: usize) -> Option<&T> {
        self.open.get(&id).map(|b| &**b)
    }

    pub fn get_mut(&mut self, id: usize) -> Option<&mut T> {
        self.open.get_mut(&id).map(|b| &mut **b)
    }

    pub fn remove(&mut self, id: usize) -> Option<T> {
        self.open.remove(&id).map(|b| *b)
    }

    /// Items open now.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.open.values().map(|b| &**b)
    }

    /// Ids of the open items, in order.
    pub fn ids(&self) -> impl Iterator<Item = usize> + '_ {
        self.open.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_never_reused_and_iteration_follows_them() {
        let mut l = Live::default();
        assert_eq!((l.push('a'), l.push('b'), l.push('c')), (0, 1, 2));
        assert_eq!(l.remove(1), Some('b'));
        assert_eq!(l.push('d'), 3);
        assert_eq!(l.iter().copied().collect::<String>(), "acd");
        assert_eq!(l.ids().collect::<Vec<_>>(), vec![0, 2, 3]);
        assert_eq!((l.len(), l.next_id()), (3, 4));
        assert!(l.get(1).is_none());
    }
}
