//! One-time codes: drawn from the OS RNG without modulo bias, kept only as HMACs.

use aws_lc_rs::hmac;
use rand::Rng;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};

use crate::domain::PhoneNumber;

/// A freshly generated code, exactly `length` decimal digits (leading zeros kept).
pub fn generate(length: u32) -> SecretString {
    let bound = 10u64.pow(length);
    // `gen_range` samples uniformly by rejection, so no digit string is likelier than another.
    let value = OsRng.gen_range(0..bound);
    SecretString::from(format!("{value:0width$}", width = length as usize))
}

/// Whether `candidate` has the shape of a code of `length` digits; anything else cannot match.
pub fn is_well_formed(candidate: &str, length: u32) -> bool {
    candidate.len() == length as usize && candidate.bytes().all(|b| b.is_ascii_digit())
}

/// Keys the HMAC under which codes are stored. The digest binds the code to its number, so a
/// digest read from the store says nothing about any other challenge.
#[derive(Clone)]
pub struct CodeHasher {
    key: hmac::Key,
}

impl CodeHasher {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    /// Hex HMAC-SHA256 of `number || 0x00 || code`.
    pub fn digest(&self, number: &PhoneNumber, code: &SecretString) -> String {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(number.as_str().as_bytes());
        context.update(&[0]);
        context.update(code.expose_secret().as_bytes());
        hex::encode(context.sign().as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_configured_length_and_only_digits() {
        for length in 4..=10 {
            let code = generate(length);
            assert!(is_well_formed(code.expose_secret(), length));
        }
    }

    #[test]
    fn every_digit_appears_in_every_position() {
        // 2,000 four-digit codes: each position sees each digit (a biased or constant
        // generator fails this with overwhelming probability).
        let mut seen = [[false; 10]; 4];
        for _ in 0..2_000 {
            let code = generate(4);
            for (position, digit) in code.expose_secret().bytes().enumerate() {
                seen[position][(digit - b'0') as usize] = true;
            }
        }
        assert!(seen.iter().flatten().all(|&s| s));
    }

    #[test]
    fn digests_depend_on_secret_number_and_code() {
        let number = PhoneNumber::parse("+447700900123").unwrap();
        let other = PhoneNumber::parse("+447700900124").unwrap();
        let code = SecretString::from("123456");
        let hasher = CodeHasher::new(b"secret one");
        let digest = hasher.digest(&number, &code);
        assert_eq!(digest.len(), 64);
        assert_eq!(
            digest,
            hasher.digest(&number, &SecretString::from("123456"))
        );
        assert_ne!(digest, hasher.digest(&other, &code));
        assert_ne!(
            digest,
            hasher.digest(&number, &SecretString::from("123457"))
        );
        assert_ne!(
            digest,
            CodeHasher::new(b"secret two").digest(&number, &code)
        );
    }

    #[test]
    fn malformed_candidates_are_recognised() {
        assert!(is_well_formed("012345", 6));
        assert!(!is_well_formed("12345", 6));
        assert!(!is_well_formed("12345a", 6));
        assert!(!is_well_formed("１２３４５６", 6));
    }
}
