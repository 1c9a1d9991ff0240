//! Random identifiers and secrets: bytes from the OS RNG, written base64url without padding.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rand::rngs::OsRng;

/// `BYTES` random bytes from the OS RNG, base64url (no padding).
pub fn random_url_safe<const BYTES: usize>() -> String {
    let mut bytes = [0u8; BYTES];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_length_follows_the_bytes_and_values_differ() {
        assert_eq!(random_url_safe::<8>().len(), 11);
        assert_eq!(random_url_safe::<32>().len(), 43);
        assert_ne!(random_url_safe::<32>(), random_url_safe::<32>());
    }
}
