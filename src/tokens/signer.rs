//! Compact JWS signing (RFC 7515) with key pairs parsed once, when the key is loaded.
//! jsonwebtoken re-parses the PKCS#8 document on every signature (for Ed25519 that recomputes
//! the public key: about half the cost of a signature), so Sesame signs directly and leaves
//! verification to jsonwebtoken. It signs with aws-lc-rs, whose Ed25519 signature costs about
//! 2.5 times less than ring's (docs/performance.md, "Micro-benchmarks"): every login and every
//! refresh signs two tokens.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::keys::KeyError;

/// A parsed private key, ready to sign.
pub enum Signer {
    Ed25519(Ed25519KeyPair),
    /// P-256 with SHA-256, fixed-length (r || s) signatures as JWS requires.
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
}

/// The protected header: `alg`, `kid` and `typ`, nothing a verifier could be steered by.
#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

/// `header.claims`, each part base64url without padding: what is signed. The same header and
/// claims always give the same text, so a retry can rebuild a signed token from its claims and
/// its signature (`sealed.rs`).
pub fn signing_input<C: Serialize>(
    alg: &str,
    kid: &str,
    typ: &str,
    claims: &C,
) -> Result<String, KeyError> {
    let failed = |err: serde_json::Error| KeyError::Signing(err.to_string());
    let header = serde_json::to_vec(&Header { alg, typ, kid }).map_err(failed)?;
    let claims = serde_json::to_vec(claims).map_err(failed)?;
    let mut input = URL_SAFE_NO_PAD.encode(header);
    input.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut input);
    Ok(input)
}

impl Signer {
    /// `header.claims.signature`, each part base64url without padding.
    pub fn sign<C: Serialize>(
        &self,
        alg: &str,
        kid: &str,
        typ: &str,
        claims: &C,
    ) -> Result<String, KeyError> {
        let failed = |err: &dyn std::fmt::Display| KeyError::Signing(err.to_string());
        let mut token = signing_input(alg, kid, typ, claims)?;
        let signature = match self {
            Self::Ed25519(pair) => pair.sign(token.as_bytes()).as_ref().to_vec(),
            Self::Es256(pair) => pair
                .sign(&SystemRandom::new(), token.as_bytes())
                .map_err(|err| failed(&err))?
                .as_ref()
                .to_vec(),
            Self::Rs256(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    token.as_bytes(),
                    &mut signature,
                )
                .map_err(|err| failed(&err))?;
                signature
            }
        };
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }
}
