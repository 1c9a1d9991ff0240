//! Sealing a rotation's successor pair for retries. The key is derived from the spent refresh
//! token itself, which the database never holds: a copy of the database alone does not yield
//! live tokens, while a client retrying with that token can open its pair.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rand::rngs::OsRng;

use crate::error::{Error, Result};

const CONTEXT: &[u8] = b"sesame refresh successor v1\0";

fn key_for(spent_token: &str) -> Option<LessSafeKey> {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(CONTEXT);
    context.update(spent_token.as_bytes());
    let key = UnboundKey::new(&AES_256_GCM, context.finish().as_ref()).ok()?;
    Some(LessSafeKey::new(key))
}

/// Encrypts `access token SP refresh token` under a key derived from `spent_token`.
pub fn seal(spent_token: &str, access_token: &str, refresh_token: &str) -> Result<String> {
    let failed = || Error::Internal(anyhow::anyhow!("sealing a successor pair failed"));
    let key = key_for(spent_token).ok_or_else(failed)?;
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    // JWTs are base64url segments and dots: a space cannot occur in one.
    let mut data = format!("{access_token} {refresh_token}").into_bytes();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
        .map_err(|_| failed())?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&data);
    Ok(URL_SAFE_NO_PAD.encode(sealed))
}

/// The (access, refresh) pair sealed by `seal` with the same `spent_token`.
pub fn open(spent_token: &str, sealed: &str) -> Option<(String, String)> {
    let key = key_for(spent_token)?;
    let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    let (nonce, ciphertext) = bytes.split_at_checked(NONCE_LEN)?;
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut data = ciphertext.to_vec();
    let plain = key.open_in_place(nonce, Aad::empty(), &mut data).ok()?;
    let plain = std::str::from_utf8(plain).ok()?;
    let (access, refresh) = plain.split_once(' ')?;
    Some((access.to_owned(), refresh.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_spent_token_opens_its_successor() {
        let sealed = seal("spent.token.sig", "access.a.b", "refresh.c.d").unwrap();
        assert_eq!(
            open("spent.token.sig", &sealed),
            Some(("access.a.b".to_owned(), "refresh.c.d".to_owned()))
        );
        assert_eq!(open("other.token.sig", &sealed), None);
        assert!(!sealed.contains("access"));
        assert_eq!(open("spent.token.sig", "garbage"), None);
    }
}
