//! Signing keys: PKCS#8 PEM files in `SESAME_KEYS_DIR`, one per key, named `<kid>.pem`.
//! A kid is `<unix seconds of creation>-<random hex>`, so keys order by age without a
//! separate index, and a key's retirement time is the creation time of the next one.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, Validation};
use rand::RngCore;
use rand::rngs::OsRng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::signer::{self, Signer};
use crate::domain::SigningAlgorithm;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a PKCS#8 Ed25519, P-256 or RSA private key")]
    Unreadable { path: PathBuf },
    #[error("no {0} signing key in the keys folder")]
    Missing(SigningAlgorithm),
    #[error("key generation failed: {0}")]
    Generation(String),
    #[error("signing failed: {0}")]
    Signing(String),
}

/// One key pair, ready to sign and verify, with its public JWK.
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlgorithm,
    pub created_at: i64,
    signer: Signer,
    decoding: DecodingKey,
    pub jwk: Value,
}

impl SigningKey {
    /// A JWT of `claims` signed with this key; the header names its `kid` and `typ`.
    pub fn sign<C: Serialize>(&self, claims: &C, typ: &str) -> Result<String, KeyError> {
        self.signer.sign(self.alg.name(), &self.kid, typ, claims)
    }

    /// The part of a JWT of `claims` this key signs: `sign` without the signature.
    pub fn signing_input<C: Serialize>(&self, claims: &C, typ: &str) -> Result<String, KeyError> {
        signer::signing_input(self.alg.name(), &self.kid, typ, claims)
    }

    /// The claims of `token` when its signature verifies with this key and its claims pass
    /// `validation` (whose algorithm must be this key's: never the token header's).
    ///
    /// An Ed25519 signature is a function of the key and the message alone (RFC 8032, 5.1.6),
    /// so a token this key signed is one whose signature equals the key's signature of the
    /// token's header and claims. Sesame signs them again and compares in constant time: a
    /// third of the cost of a verification, on every refresh (docs/performance.md, "Checking
    /// Ed25519 tokens by signing again"). A signature that verifies but that this key's
    /// signing would not have made was never issued by Sesame, and is refused. The other
    /// algorithms' signatures are randomised (ES256) or cheaper to verify than to make (RS256),
    /// and are verified.
    pub fn verify<C: DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
    ) -> jsonwebtoken::errors::Result<C> {
        let Signer::Ed25519(pair) = &self.signer else {
            return jsonwebtoken::decode::<C>(token, &self.decoding, validation)
                .map(|data| data.claims);
        };
        let refused = |kind: ErrorKind| jsonwebtoken::errors::Error::from(kind);
        let (signed, signature) = token
            .rsplit_once('.')
            .ok_or_else(|| refused(ErrorKind::InvalidToken))?;
        let ours = URL_SAFE_NO_PAD.encode(pair.sign(signed.as_bytes()));
        if !bool::from(ours.as_bytes().ct_eq(signature.as_bytes())) {
            return Err(refused(ErrorKind::InvalidSignature));
        }
        let mut claims_only = validation.clone();
        // Deprecated for `dangerous::insecure_decode`, which would skip the claims' checks too;
        // here the signature has just been checked, and the claims still must be.
        #[allow(deprecated)]
        claims_only.insecure_disable_signature_validation();
        let data = jsonwebtoken::decode::<C>(token, &self.decoding, &claims_only)?;
        // What jsonwebtoken checks of the header when it verifies: this key's algorithm, the
        // validation's.
        if data.header.alg != self.alg.jwt() || !validation.algorithms.contains(&data.header.alg) {
            return Err(refused(ErrorKind::InvalidAlgorithm));
        }
        Ok(data.claims)
    }

    fn from_pem(kid: &str, pem_text: &[u8], path: &Path) -> Result<Self, KeyError> {
        let unreadable = || KeyError::Unreadable {
            path: path.to_owned(),
        };
        let der = pem::parse(pem_text).map_err(|_| unreadable())?;
        let der = der.contents();
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let (alg, signer, decoding, mut jwk) = if let Ok(pair) =
            Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
        {
            let x = b64(pair.public_key().as_ref());
            (
                SigningAlgorithm::EdDsa,
                Signer::Ed25519(pair),
                DecodingKey::from_ed_components(&x).map_err(|_| unreadable())?,
                json!({"kty": "OKP", "crv": "Ed25519", "x": x}),
            )
        } else if let Ok(pair) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der) {
            // Uncompressed SEC1 point: 0x04 || x || y.
            let point = pair.public_key().as_ref();
            let (x, y) = (b64(&point[1..33]), b64(&point[33..65]));
            (
                SigningAlgorithm::Es256,
                Signer::Es256(pair),
                DecodingKey::from_ec_components(&x, &y).map_err(|_| unreadable())?,
                json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}),
            )
        } else if let Ok(pair) = RsaKeyPair::from_pkcs8(der) {
            let public = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
            let (n, e) = (b64(&public.n), b64(&public.e));
            (
                SigningAlgorithm::Rs256,
                Signer::Rs256(pair),
                DecodingKey::from_rsa_components(&n, &e).map_err(|_| unreadable())?,
                json!({"kty": "RSA", "n": n, "e": e}),
            )
        } else {
            return Err(unreadable());
        };
        jwk["kid"] = json!(kid);
        jwk["alg"] = json!(alg.name());
        jwk["use"] = json!("sig");
        Ok(Self {
            kid: kid.to_owned(),
            alg,
            created_at: created_at_of(kid),
            signer,
            decoding,
            jwk,
        })
    }
}

fn created_at_of(kid: &str) -> i64 {
    kid.split('-')
        .next()
        .and_then(|seconds| seconds.parse().ok())
        .unwrap_or(0)
}

/// Reads every key in `dir`, oldest first.
pub fn load_keys(dir: &Path) -> Result<Vec<SigningKey>, KeyError> {
    let io = |source| KeyError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut keys = Vec::new();
    if !dir.exists() {
        return Ok(keys);
    }
    for entry in fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_none_or(|ext| ext != "pem") {
            continue;
        }
        let Some(kid) = path.file_stem().and_then(|stem| stem.to_str()) else {
            continue;
        };
        let text = fs::read(&path).map_err(|source| KeyError::Io {
            path: path.clone(),
            source,
        })?;
        keys.push(SigningKey::from_pem(kid, &text, &path)?);
    }
    keys.sort_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
    Ok(keys)
}

/// Generates a key for `alg` into `dir` (mode 0600, folder 0700) and returns its kid.
pub fn generate_key(dir: &Path, alg: SigningAlgorithm, now: i64) -> Result<String, KeyError> {
    let pem_text = match alg {
        SigningAlgorithm::EdDsa => {
            let der = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map_err(|err| KeyError::Generation(err.to_string()))?;
            pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref()))
        }
        SigningAlgorithm::Es256 => {
            let der = EcdsaKeyPair::generate_pkcs8(
                &ECDSA_P256_SHA256_FIXED_SIGNING,
                &SystemRandom::new(),
            )
            .map_err(|err| KeyError::Generation(err.to_string()))?;
            pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref()))
        }
        SigningAlgorithm::Rs256 => {
            use rsa::pkcs8::EncodePrivateKey;
            let key = rsa::RsaPrivateKey::new(&mut OsRng, 2048)
                .map_err(|err| KeyError::Generation(err.to_string()))?;
            key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
                .map_err(|err| KeyError::Generation(err.to_string()))?
                .to_string()
        }
    };
    let kid = format!("{now}-{:08x}", OsRng.next_u32());
    write_secret_file(dir, &format!("{kid}.pem"), pem_text.as_bytes())?;
    Ok(kid)
}

/// Creates `dir/name` with mode 0600 (the folder 0700); never overwrites.
pub fn write_secret_file(dir: &Path, name: &str, contents: &[u8]) -> Result<(), KeyError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| KeyError::Io { path, source }
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(dir))?;
    let path = dir.join(name);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(io(&path))?;
    file.write_all(contents).map_err(io(&path))?;
    file.sync_all().map_err(io(&path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_keys_load_back_with_mode_0600_and_sign_verifiable_tokens() {
        let dir = std::env::temp_dir().join(format!("sesame-keys-{}", uuid::Uuid::new_v4()));
        for (offset, alg) in [
            SigningAlgorithm::EdDsa,
            SigningAlgorithm::Es256,
            SigningAlgorithm::Rs256,
        ]
        .into_iter()
        .enumerate()
        {
            let kid = generate_key(&dir, alg, 1_700_000_000 + offset as i64).unwrap();
            let mode = fs::metadata(dir.join(format!("{kid}.pem")))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let keys = load_keys(&dir).unwrap();
        let algs: Vec<_> = keys.iter().map(|key| key.alg).collect();
        assert_eq!(
            algs,
            [
                SigningAlgorithm::EdDsa,
                SigningAlgorithm::Es256,
                SigningAlgorithm::Rs256
            ]
        );
        assert_eq!(keys[0].jwk["crv"], "Ed25519");
        assert_eq!(keys[1].jwk["kty"], "EC");
        assert_eq!(keys[2].jwk["e"], "AQAB");
        assert_eq!(keys[0].created_at, 1_700_000_000);

        for key in &keys {
            assert_signs_verifiable_tokens(key);
        }
        fs::remove_dir_all(dir).unwrap();
    }

    /// Key files written before Sesame signed with aws-lc-rs (ring's PKCS#8 documents: v2, with
    /// the public key, for Ed25519; P-256's) still load, with the same public key, and sign.
    #[test]
    fn keys_written_by_earlier_versions_still_load_and_sign() {
        use ring::signature::{self as earlier, KeyPair as _};
        let dir = std::env::temp_dir().join(format!("sesame-keys-{}", uuid::Uuid::new_v4()));
        let rng = ring::rand::SystemRandom::new();
        let p256 = &earlier::ECDSA_P256_SHA256_FIXED_SIGNING;
        let ed25519 = earlier::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let ec = earlier::EcdsaKeyPair::generate_pkcs8(p256, &rng).unwrap();
        for (kid, der) in [
            ("1700000000-0000000a", &ed25519),
            ("1700000001-0000000b", &ec),
        ] {
            let pem_text = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref()));
            write_secret_file(&dir, &format!("{kid}.pem"), pem_text.as_bytes()).unwrap();
        }
        let ed25519 = earlier::Ed25519KeyPair::from_pkcs8(ed25519.as_ref()).unwrap();
        let ec = earlier::EcdsaKeyPair::from_pkcs8(p256, ec.as_ref(), &rng).unwrap();
        let point = ec.public_key().as_ref();

        let keys = load_keys(&dir).unwrap();
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        assert_eq!(keys[0].alg, SigningAlgorithm::EdDsa);
        assert_eq!(keys[0].jwk["x"], b64(ed25519.public_key().as_ref()));
        assert_eq!(keys[1].alg, SigningAlgorithm::Es256);
        assert_eq!(keys[1].jwk["x"], b64(&point[1..33]));
        assert_eq!(keys[1].jwk["y"], b64(&point[33..65]));
        for key in &keys {
            assert_signs_verifiable_tokens(key);
        }
        fs::remove_dir_all(dir).unwrap();
    }

    /// What `key` signs verifies with its public half, and the header names it; a token with
    /// one character of its signature changed does not.
    fn assert_signs_verifiable_tokens(key: &SigningKey) {
        let claims =
            json!({"sub": "someone", "iss": "sesame", "aud": "app", "exp": 4_000_000_000_i64});
        let token = key.sign(&claims, "at+jwt").unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, key.alg.jwt());
        assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let mut validation = Validation::new(key.alg.jwt());
        validation.set_audience(&["app"]);
        let verified: Value = key.verify(&token, &validation).unwrap();
        assert_eq!(verified, claims);
        // The public half alone verifies it too, as resource servers do with the JWKS.
        let public = jsonwebtoken::decode::<Value>(&token, &key.decoding, &validation).unwrap();
        assert_eq!(public.claims, claims);
        // One character inside the signature, never the last (it may hold padding bits), and
        // one inside the claims.
        for at in [token.rfind('.').unwrap() + 5, token.find('.').unwrap() + 5] {
            let other = if &token[at..=at] == "A" { "B" } else { "A" };
            let mut tampered = token.clone();
            tampered.replace_range(at..=at, other);
            assert!(key.verify::<Value>(&tampered, &validation).is_err());
        }
    }

    /// An Ed25519 key checks a token by signing its header and claims again: another key's
    /// signature under this key's kid is refused, and so is this key's own signature of a
    /// header that names another algorithm (Sesame never signs one).
    #[test]
    fn ed25519_tokens_are_checked_by_signing_again() {
        let dir = std::env::temp_dir().join(format!("sesame-keys-{}", uuid::Uuid::new_v4()));
        generate_key(&dir, SigningAlgorithm::EdDsa, 1_700_000_000).unwrap();
        generate_key(&dir, SigningAlgorithm::EdDsa, 1_700_000_001).unwrap();
        let keys = load_keys(&dir).unwrap();
        let (ours, other) = (&keys[0], &keys[1]);
        let claims = json!({"sub": "someone", "iss": "sesame", "aud": "app"});
        let mut validation = Validation::new(ours.alg.jwt());
        validation.set_audience(&["app"]);
        validation.set_required_spec_claims(&["sub"]);
        let token = ours.sign(&claims, "refresh+jwt").unwrap();
        assert_eq!(ours.verify::<Value>(&token, &validation).unwrap(), claims);

        let forged = other
            .signer
            .sign("EdDSA", &ours.kid, "refresh+jwt", &claims)
            .unwrap();
        assert_eq!(
            forged.rsplit_once('.').unwrap().0,
            token.rsplit_once('.').unwrap().0
        );
        let err = ours.verify::<Value>(&forged, &validation).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::InvalidSignature);

        let other_alg = ours
            .signer
            .sign("ES256", &ours.kid, "refresh+jwt", &claims)
            .unwrap();
        assert!(ours.verify::<Value>(&other_alg, &validation).is_err());
        assert!(ours.verify::<Value>("no-dots", &validation).is_err());
        fs::remove_dir_all(dir).unwrap();
    }
}
