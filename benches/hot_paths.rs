//! Micro-benchmarks of the work every login repeats: a code drawn and HMACed, and a token
//! signed and verified with each supported algorithm.
//!
//! `cargo bench --bench hot_paths` (figures in docs/performance.md).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::Validation;
use secrecy::SecretString;
use sesame::domain::{PhoneNumber, SigningAlgorithm};
use sesame::login::{CodeHasher, generate_code};
use sesame::tokens::{
    ACCESS_TYP, AccessClaims, IdentityKind, generate_key, load_keys, permissions_for,
};

fn codes(c: &mut Criterion) {
    let number = PhoneNumber::parse("+447700900123").expect("a valid number");
    let hasher = CodeHasher::new(b"a benchmark secret of 32 bytes..");
    c.bench_function("code: generate 6 digits", |b| b.iter(|| generate_code(6)));
    c.bench_function("code: generate + HMAC-SHA256", |b| {
        b.iter(|| hasher.digest(black_box(&number), &generate_code(6)))
    });
    let code = SecretString::from("123456");
    c.bench_function("code: HMAC-SHA256 of a candidate", |b| {
        b.iter(|| hasher.digest(black_box(&number), black_box(&code)))
    });
}

fn claims(now: i64) -> AccessClaims {
    AccessClaims {
        iss: "https://login.example.com".into(),
        aud: "sesame".into(),
        sub: "5b0d7c52-3a43-4d39-9b8e-6c1f0f6a0c11".into(),
        exp: now + 900,
        iat: now,
        nbf: now,
        jti: "0e3f2f36-6d0f-4c8a-9d3a-1b2c3d4e5f60".into(),
        sid: "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d".into(),
        client_id: "sesame-mobile".into(),
        phone_number: "+447700900123".into(),
        kind: IdentityKind::Employee,
        permissions: permissions_for(IdentityKind::Employee),
        user_id: Some("2f1e0d9c-8b7a-4695-8473-6251403f2e1d".into()),
    }
}

fn tokens(c: &mut Criterion) {
    let now = sesame::Clock::system().now();
    let claims = claims(now);
    for alg in [
        SigningAlgorithm::EdDsa,
        SigningAlgorithm::Es256,
        SigningAlgorithm::Rs256,
    ] {
        let dir = std::env::temp_dir().join(format!("sesame-bench-{}", uuid::Uuid::new_v4()));
        generate_key(&dir, alg, now).expect("a key is generated");
        let key = load_keys(&dir)
            .expect("the key loads")
            .pop()
            .expect("one key");
        let mut validation = Validation::new(alg.jwt());
        validation.set_issuer(&[&claims.iss]);
        validation.set_audience(&[&claims.aud]);
        let token = key.sign(&claims, ACCESS_TYP).expect("signs");

        let mut group = c.benchmark_group(format!("token {alg}"));
        group.bench_function("sign", |b| {
            b.iter(|| key.sign(black_box(&claims), ACCESS_TYP))
        });
        group.bench_function("verify", |b| {
            b.iter(|| key.verify::<AccessClaims>(black_box(&token), &validation))
        });
        group.finish();
        let _ = std::fs::remove_dir_all(dir);
    }
}

criterion_group!(benches, codes, tokens);
criterion_main!(benches);
