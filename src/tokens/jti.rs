//! Token ids. An access token has no row of its own: its pair's refresh token's `jti` is
//! derived from the access token's, so that refresh token's row vouches that the access token
//! was issued in its session, and revoking an access token by its `jti` alone finds its session
//! and expiry there (docs/tokens.md).
//!
//! Both ids begin with their time of issue (UUID version 7's millisecond timestamp, which the
//! token's `iat` tells anyway): the token table's keys then grow at their right end, where
//! Postgres inserts without a descent of the index and dirties one page for many rows, instead
//! of landing on a random page of it (docs/performance.md, "Time-ordered ids").

use aws_lc_rs::digest::{SHA256, digest};
use uuid::{Builder, Uuid};

/// Fresh ids for a pair: an access `jti` (a version 7 UUID: its time of issue, then random
/// bits), and the refresh `jti` derived from it.
pub(super) fn new_pair() -> [String; 2] {
    let access = Uuid::now_v7().to_string();
    let refresh = paired_refresh_jti(&access);
    [access, refresh]
}

/// The `jti` of the refresh token issued with access token `access_jti`: a version 8 UUID made
/// of the access `jti`'s first six bytes (a version 7 id's timestamp, so the two sort alike)
/// and SHA-256 of the whole access `jti`: one way, so a refresh token does not reveal its
/// access token's `jti`. Access `jti`s issued before they were version 7 (random version 4
/// UUIDs) keep hash bytes there too, so their pairs' rows are found as before.
pub(super) fn paired_refresh_jti(access_jti: &str) -> String {
    let hash = digest(
        &SHA256,
        format!("sesame refresh jti\0{access_jti}").as_bytes(),
    );
    let mut bytes = [0; 16];
    bytes.copy_from_slice(&hash.as_ref()[..16]);
    if let Some(access) = Uuid::parse_str(access_jti)
        .ok()
        .filter(|id| id.get_version_num() == 7)
    {
        bytes[..TIMESTAMP_BYTES].copy_from_slice(&access.as_bytes()[..TIMESTAMP_BYTES]);
    }
    Builder::from_custom_bytes(bytes).into_uuid().to_string()
}

/// The bytes of a version 7 UUID that hold its Unix millisecond timestamp.
const TIMESTAMP_BYTES: usize = 6;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refresh_jti_follows_from_the_access_jti_only() {
        let [access, refresh] = new_pair();
        assert_eq!(paired_refresh_jti(&access), refresh);
        assert_ne!(access, refresh);
        assert_eq!(Uuid::parse_str(&refresh).unwrap().get_version_num(), 8);
        assert_ne!(new_pair(), new_pair());
    }

    #[test]
    fn a_pair_sorts_by_its_time_of_issue() {
        let [first_access, first_refresh] = new_pair();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let [second_access, second_refresh] = new_pair();
        assert!(first_access < second_access);
        assert!(first_refresh < second_refresh);
        assert_eq!(first_refresh[..13], first_access[..13]);
    }

    #[test]
    fn an_earlier_random_access_jti_keeps_its_pairs_refresh_jti() {
        // Issued before access jtis were time-ordered: its pair's row was stored under this id.
        let access = "0b6f1e52-54a4-4d4e-9c1e-5a8f0f7c2d31";
        assert_eq!(
            paired_refresh_jti(access),
            "cc5f42ca-1de1-8f9c-a9e2-387472110284"
        );
    }
}
