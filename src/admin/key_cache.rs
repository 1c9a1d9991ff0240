//! A node's memory of API key lookups for introspection and the revocation feed, so those
//! calls do not ask the database for the caller's key every time (docs/contract-notes.md,
//! "API keys"). An answer, "no such live key" included, is kept for at most [`TTL_MS`]; the
//! node that revokes or re-roles a key forgets it at once, other nodes (and the CLI's changes)
//! are seen within [`TTL_MS`]. Token and session state is never kept here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::clock::Clock;
use crate::store::ApiKey;

/// How long a lookup may be acted on: the longest a key revoked elsewhere keeps working here.
pub const TTL_MS: i64 = 5_000;
/// Unknown keys are remembered too, so a caller presenting random keys cannot grow the map
/// past this.
const CAPACITY: usize = 4_096;

#[derive(Clone)]
pub struct KeyCache {
    clock: Clock,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    /// Moves on every `forget`: a lookup that started before it must not store its answer.
    generation: u64,
}

struct Entry {
    key: Option<ApiKey>,
    expires_at_ms: i64,
}

impl KeyCache {
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            state: Arc::default(),
        }
    }

    /// The remembered lookup of `key_hash` (`Some(None)`: no live key has it), or `None` when
    /// the database must be asked; then pass [`Self::generation`], read before asking, to
    /// [`Self::remember`].
    pub fn get(&self, key_hash: &str) -> Option<Option<ApiKey>> {
        let now = self.clock.now_millis();
        let state = self.lock();
        let entry = state.entries.get(key_hash)?;
        (entry.expires_at_ms > now).then(|| entry.key.clone())
    }

    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Keeps the answer for `key_hash` unless a key was forgotten since `generation` (the
    /// answer may predate that revocation).
    pub fn remember(&self, key_hash: String, key: Option<ApiKey>, generation: u64) {
        let now = self.clock.now_millis();
        let mut state = self.lock();
        if state.generation != generation {
            return;
        }
        if state.entries.len() >= CAPACITY && !state.entries.contains_key(&key_hash) {
            state.entries.retain(|_, entry| entry.expires_at_ms > now);
            if state.entries.len() >= CAPACITY {
                return;
            }
        }
        let expires_at_ms = now.saturating_add(TTL_MS);
        state.entries.insert(key_hash, Entry { key, expires_at_ms });
    }

    /// Forgets the keys with these ids (revoked or re-roled by this node).
    pub fn forget(&self, ids: &[String]) {
        let mut state = self.lock();
        state.generation += 1;
        state
            .entries
            .retain(|_, entry| !entry.key.as_ref().is_some_and(|key| ids.contains(&key.id)));
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
