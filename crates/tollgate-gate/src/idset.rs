//! The exact set of existing token ids: a bitset over all 10^8 possible ids (12.5 MB), so a
//! forged value with an unknown id is refused without touching the database.

use std::sync::atomic::{AtomicU64, Ordering};

use tollgate_domain::TokenId;

/// A lock-free bitset of token ids.
pub struct IdSet {
    words: Vec<AtomicU64>,
}

impl std::fmt::Debug for IdSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdSet({} ids)", self.len())
    }
}

impl Default for IdSet {
    fn default() -> Self {
        Self::new()
    }
}

impl IdSet {
    /// An empty set able to hold every token id.
    pub fn new() -> Self {
        let words = usize::try_from(TokenId::SPACE.div_ceil(64)).unwrap_or(0);
        Self {
            words: (0..words).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn slot(id: TokenId) -> (usize, u64) {
        let index = id.index() as usize;
        (index / 64, 1u64 << (index % 64))
    }

    /// Adds an id.
    pub fn insert(&self, id: TokenId) {
        let (word, bit) = Self::slot(id);
        if let Some(word) = self.words.get(word) {
            word.fetch_or(bit, Ordering::Release);
        }
    }

    /// True when the id exists.
    pub fn contains(&self, id: TokenId) -> bool {
        let (word, bit) = Self::slot(id);
        self.words
            .get(word)
            .is_some_and(|word| word.load(Ordering::Acquire) & bit != 0)
    }

    /// How many ids are in the set.
    pub fn len(&self) -> u64 {
        self.words
            .iter()
            .map(|word| u64::from(word.load(Ordering::Relaxed).count_ones()))
            .sum()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_is_exact() {
        let set = IdSet::new();
        let ids: Vec<TokenId> = [0u64, 1, 63, 64, 12_345_678, 99_999_999]
            .iter()
            .filter_map(|n| TokenId::from_number(*n))
            .collect();
        for id in &ids {
            assert!(!set.contains(*id));
            set.insert(*id);
        }
        for id in &ids {
            assert!(set.contains(*id));
        }
        assert_eq!(set.len(), 6);
        assert!(!set.contains(TokenId::from_number(12_345_679).unwrap_or_else(|| unreachable!())));
    }
}
