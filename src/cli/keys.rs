//! `sesame keys generate|rotate|list`: signing keys in `SESAME_KEYS_DIR`.
//!
//! A kid's timestamp is when its key starts signing. `rotate` creates the next key with a
//! start a little in the future: it is published in the JWKS at once, so downstream caches
//! (`max-age`) know it before the first token it signs; running nodes pick it up on their
//! next reload of the folder (`SESAME_KEYS_RELOAD_INTERVAL`, or SIGHUP).

use anyhow::Context;
use clap::Subcommand;

use crate::Config;
use crate::tokens::{generate_key, key_states, load_keys};

/// The default delay between `rotate` and the new key signing: the JWKS `max-age` (300 s)
/// plus a default reload interval (60 s), rounded up.
const DEFAULT_ACTIVATION_DELAY: u64 = 600;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a signing key for SESAME_SIGNING_ALG when the folder has none (idempotent).
    Generate,
    /// Add a new key that takes over signing; old keys stay published until their tokens expire.
    Rotate {
        /// Seconds until the new key starts signing (it is published at once).
        #[arg(long, default_value_t = DEFAULT_ACTIVATION_DELAY)]
        activate_in: u64,
    },
    /// List the keys with their state.
    List,
}

pub fn run(command: KeysCommand, config: &Config, now: i64) -> anyhow::Result<()> {
    let dir = &config.keys_dir;
    let alg = config.signing_alg;
    let keys = load_keys(dir).with_context(|| format!("SESAME_KEYS_DIR: {}", dir.display()))?;
    match command {
        KeysCommand::Generate => {
            if let Some(key) = keys.iter().rev().find(|key| key.alg == alg) {
                println!("an {alg} key exists already: {}", key.kid);
                return Ok(());
            }
            let kid = generate_key(dir, alg, now)?;
            println!("generated {alg} key {kid} in {}", dir.display());
        }
        KeysCommand::Rotate { activate_in } => {
            // Always after the newest key, so the order of keys is the order of rotations.
            let newest = keys.last().map_or(0, |key| key.created_at + 1);
            let starts = now.saturating_add(i64::try_from(activate_in)?).max(newest);
            let kid = generate_key(dir, alg, starts)?;
            println!(
                "generated {alg} key {kid}: published now, signs from {} \
                 (running nodes pick it up within SESAME_KEYS_RELOAD_INTERVAL)",
                crate::rfc3339(starts)
            );
        }
        KeysCommand::List => {
            if keys.is_empty() {
                println!("no keys in {}", dir.display());
            }
            let max_ttl = config.refresh_ttl.max(config.access_ttl);
            for key in key_states(&keys, alg, max_ttl, now) {
                println!("{}  {:<5}  {}", key.kid, key.alg.name(), key.state);
            }
        }
    }
    Ok(())
}
