//! What a rotation keeps of its successor pair for retries inside the reuse grace window. A
//! retry must get the very strings it was first sent, yet most of them can be rebuilt: the
//! claims follow from the spent refresh token, the configuration and the pair's time of issue
//! (its row's), and each header from the key that signed. What cannot be rebuilt is which key
//! signed, the access token's random `jti` (the refresh token's follows from it) and the two
//! signatures, which may be randomised (ES256, RS256): that is what is kept, about a fifth of the
//! whole pair (docs/performance.md, "A rotation keeps its successor's signatures").
//!
//! It is sealed under a key derived from the spent refresh token itself, which the database
//! never holds: a copy of the database alone does not yield live tokens, while a client retrying
//! with that token can open its successor.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const CONTEXT: &[u8] = b"sesame refresh successor v1\0";

/// The part of a successor pair that a retry cannot rebuild.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptSuccessor {
    /// The key that signed both tokens.
    pub kid: String,
    pub access_jti: String,
    /// Each token's signature segment, as it ends the token.
    pub access_signature: String,
    pub refresh_signature: String,
}

/// An opened successor.
#[derive(Debug, PartialEq, Eq)]
pub enum Opened {
    Kept(KeptSuccessor),
    /// The whole pair, as versions before the kept signatures sealed it: a row lives for the
    /// grace window, so one written just before an upgrade can still be retried after it.
    WholePair {
        access: String,
        refresh: String,
    },
}

fn key_for(spent_token: &str) -> Option<LessSafeKey> {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(CONTEXT);
    context.update(spent_token.as_bytes());
    let key = UnboundKey::new(&AES_256_GCM, context.finish().as_ref()).ok()?;
    Some(LessSafeKey::new(key))
}

/// Encrypts `kept` (as JSON) under a key derived from `spent_token`.
pub fn seal(spent_token: &str, kept: &KeptSuccessor) -> Result<String> {
    let failed = || Error::Internal(anyhow::anyhow!("sealing a successor pair failed"));
    let key = key_for(spent_token).ok_or_else(failed)?;
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let mut data = serde_json::to_vec(kept).map_err(|_| failed())?;
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
        .map_err(|_| failed())?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&data);
    Ok(URL_SAFE_NO_PAD.encode(sealed))
}

/// What `seal` sealed with the same `spent_token`, or the whole pair an earlier version sealed
/// (`access SP refresh`: JWTs are base64url segments and dots, so neither holds a space, and
/// neither starts like JSON).
pub fn open(spent_token: &str, sealed: &str) -> Option<Opened> {
    let key = key_for(spent_token)?;
    let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    let (nonce, ciphertext) = bytes.split_at_checked(NONCE_LEN)?;
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut data = ciphertext.to_vec();
    let plain = key.open_in_place(nonce, Aad::empty(), &mut data).ok()?;
    if plain.starts_with(b"{") {
        return serde_json::from_slice(plain).ok().map(Opened::Kept);
    }
    let (access, refresh) = std::str::from_utf8(plain).ok()?.split_once(' ')?;
    Some(Opened::WholePair {
        access: access.to_owned(),
        refresh: refresh.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept() -> KeptSuccessor {
        KeptSuccessor {
            kid: "1764547200-0a1b2c3d".to_owned(),
            access_jti: "6f1c1a8e-3d2b-4c5a-9e7f-0123456789ab".to_owned(),
            access_signature: "c2lnbmF0dXJlIG9uZQ".to_owned(),
            refresh_signature: "c2lnbmF0dXJlIHR3bw".to_owned(),
        }
    }

    #[test]
    fn only_the_spent_token_opens_its_successor() {
        let sealed = seal("spent.token.sig", &kept()).unwrap();
        assert_eq!(open("spent.token.sig", &sealed), Some(Opened::Kept(kept())));
        assert_eq!(open("other.token.sig", &sealed), None);
        assert!(!sealed.contains("1764547200"));
        assert_eq!(open("spent.token.sig", "garbage"), None);
    }

    /// A whole pair sealed as versions before the kept signatures did.
    #[test]
    fn a_whole_pair_sealed_before_opens_as_it_was() {
        let key = key_for("spent.token.sig").unwrap();
        let mut data = b"access.a.b refresh.c.d".to_vec();
        let nonce = [7u8; NONCE_LEN];
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .unwrap();
        let sealed = URL_SAFE_NO_PAD.encode([nonce.as_slice(), &data].concat());
        assert_eq!(
            open("spent.token.sig", &sealed),
            Some(Opened::WholePair {
                access: "access.a.b".to_owned(),
                refresh: "refresh.c.d".to_owned()
            })
        );
    }
}
