//! Where each signing key is in its rotation, for `sesame keys list` and the admin console.

use std::fmt;

use super::{KeySet, SigningKey};
use crate::config::Config;
use crate::domain::SigningAlgorithm;

/// A key's place in its rotation at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, signs from `starts`.
    Pending { starts: i64 },
    /// Signs new tokens.
    Current,
    /// Replaced; published until `until`, when every token it signed has expired.
    Retired { until: i64 },
    /// No longer published; may be deleted.
    Expired,
}

impl KeyState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending { .. } => "pending",
            Self::Current => "current",
            Self::Retired { .. } => "retired",
            Self::Expired => "expired",
        }
    }
}

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pending { starts } => write!(
                f,
                "pending: published, signs from {}",
                crate::rfc3339(*starts)
            ),
            Self::Current => f.write_str("current: signs new tokens"),
            Self::Retired { until } => {
                write!(f, "retired: published until {}", crate::rfc3339(*until))
            }
            Self::Expired => f.write_str("expired: no longer published (may be deleted)"),
        }
    }
}

/// One key and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    pub kid: String,
    pub alg: SigningAlgorithm,
    /// When it starts (or started) signing.
    pub starts: i64,
    pub state: KeyState,
}

/// The state of each of `keys` (ordered by start) at `now`: the newest started key of `alg`
/// signs; a key retires when the next one starts and stays published for `max_ttl` after.
pub fn key_states(
    keys: &[SigningKey],
    alg: SigningAlgorithm,
    max_ttl: i64,
    now: i64,
) -> Vec<KeyStatus> {
    let current = keys
        .iter()
        .rposition(|key| key.alg == alg && key.created_at <= now);
    keys.iter()
        .enumerate()
        .map(|(index, key)| {
            let state = if key.created_at > now {
                KeyState::Pending {
                    starts: key.created_at,
                }
            } else if Some(index) == current {
                KeyState::Current
            } else {
                match keys.get(index + 1) {
                    Some(next) if next.created_at + max_ttl > now => KeyState::Retired {
                        until: next.created_at + max_ttl,
                    },
                    _ => KeyState::Expired,
                }
            };
            KeyStatus {
                kid: key.kid.clone(),
                alg: key.alg,
                starts: key.created_at,
                state,
            }
        })
        .collect()
}

impl KeySet {
    /// The state of every loaded key at `now`.
    pub fn states(&self, config: &Config, now: i64) -> Vec<KeyStatus> {
        let max_ttl = config.refresh_ttl.max(config.access_ttl);
        key_states(&self.keys, config.signing_alg, max_ttl, now)
    }
}
