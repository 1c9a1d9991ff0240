//! Key rotation with `sesame keys rotate` while nodes run: old tokens keep verifying, new
//! tokens name the new key, a key announced for later is published before it signs, and a key
//! taken out of the folder verifies nothing more.

use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    Backend, keys_command, kid_of, new_kid, spawn_app_with, until_published, until_unpublished,
};

fn verify(set: &JwkSet, token: &str) {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let key = DecodingKey::from_jwk(set.find(header.kid.as_deref().unwrap()).unwrap()).unwrap();
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&["sesame"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation).expect("verifies against the JWKS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_rotation_old_tokens_verify_and_new_ones_carry_the_new_kid() {
    let app = spawn_app_with(Backend::Embedded, &[("SESAME_KEYS_RELOAD_INTERVAL", "1")]).await;
    let old = app.login("+447700900123").await;
    let old_access = old["access_token"].as_str().unwrap();
    let old_kid = kid_of(old_access);

    // Kids have one-second resolution and a new key starts after the newest one, at most a
    // second after the command's "now": a second later on the app's clock, it signs.
    app.clock.advance(Duration::from_secs(1));
    let kid = new_kid(&keys_command(
        &app.keys_dir,
        &["rotate", "--activate-in", "0"],
    ));
    assert_ne!(kid, old_kid);
    let set = until_published(&app.base, &kid).await;

    // The retired key stays published and the old token is still good, here and downstream.
    assert!(
        set.find(&old_kid).is_some(),
        "the retired key is still in the JWKS"
    );
    verify(&set, old_access);
    assert_eq!(app.me(old_access).await.status(), StatusCode::OK);

    let new = app.login("+447700900124").await;
    let new_access = new["access_token"].as_str().unwrap();
    assert_eq!(kid_of(new_access), kid);
    assert_eq!(kid_of(new["refresh_token"].as_str().unwrap()), kid);
    verify(&set, new_access);
    assert_eq!(app.me(new_access).await.status(), StatusCode::OK);

    let listing = keys_command(&app.keys_dir, &["list"]);
    assert!(
        listing.contains(&format!("{kid}  EdDSA  current")),
        "{listing}"
    );
    assert!(
        listing.contains(&format!("{old_kid}  EdDSA  retired: published until")),
        "{listing}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_is_published_before_it_signs() {
    let app = spawn_app_with(Backend::Embedded, &[("SESAME_KEYS_RELOAD_INTERVAL", "1")]).await;
    let first = app.login("+447700900123").await;
    let old_kid = kid_of(first["access_token"].as_str().unwrap());

    let kid = new_kid(&keys_command(&app.keys_dir, &["rotate"]));
    let set = until_published(&app.base, &kid).await;
    assert!(set.find(&old_kid).is_some());

    let pair = app.login("+447700900124").await;
    assert_eq!(
        kid_of(pair["access_token"].as_str().unwrap()),
        old_kid,
        "the new key waits its turn"
    );
    let listing = keys_command(&app.keys_dir, &["list"]);
    assert!(
        listing.contains(&format!("{kid}  EdDSA  pending")),
        "{listing}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_taken_out_of_the_folder_stops_verifying_tokens_the_node_has_seen() {
    let app = spawn_app_with(Backend::Embedded, &[("SESAME_KEYS_RELOAD_INTERVAL", "1")]).await;
    let old = app.login("+447700900123").await;
    let old_access = old["access_token"].as_str().unwrap();
    let old_kid = kid_of(old_access);
    // Verified once each way, so the node remembers the token (src/tokens/verified.rs).
    assert_eq!(app.me(old_access).await.status(), StatusCode::OK);
    assert_eq!(app.introspect(old_access).await["active"], true);

    app.clock.advance(Duration::from_secs(1));
    let kid = new_kid(&keys_command(
        &app.keys_dir,
        &["rotate", "--activate-in", "0"],
    ));
    until_published(&app.base, &kid).await;
    // An operator takes a leaked key out: what it signed is no longer Sesame's.
    std::fs::remove_file(app.keys_dir.join(format!("{old_kid}.pem"))).unwrap();
    until_unpublished(&app.base, &old_kid).await;

    assert_eq!(app.me(old_access).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.introspect(old_access).await, json!({"active": false}));
    let new = app.login("+447700900124").await;
    let new_access = new["access_token"].as_str().unwrap();
    assert_eq!(app.me(new_access).await.status(), StatusCode::OK);
}
