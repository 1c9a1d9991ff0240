//! Token ids. An access token has no row of its own: its pair's refresh token's `jti` is
//! derived from the access token's, so that refresh token's row vouches that the access token
//! was issued in its session, and revoking an access token by its `jti` alone finds its session
//! and expiry there (docs/tokens.md).

use aws_lc_rs::digest::{SHA256, digest};
use uuid::{Builder, Uuid};

/// Fresh ids for a pair: a random access `jti`, and the refresh `jti` derived from it.
pub(super) fn new_pair() -> [String; 2] {
    let access = Uuid::new_v4().to_string();
    let refresh = paired_refresh_jti(&access);
    [access, refresh]
}

/// The `jti` of the refresh token issued with access token `access_jti`: a version 8 UUID made
/// of SHA-256 of the access `jti`: one way, so a refresh token does not reveal its access
/// token's `jti`.
pub(super) fn paired_refresh_jti(access_jti: &str) -> String {
    let hash = digest(
        &SHA256,
        format!("sesame refresh jti\0{access_jti}").as_bytes(),
    );
    let mut bytes = [0; 16];
    bytes.copy_from_slice(&hash.as_ref()[..16]);
    Builder::from_custom_bytes(bytes).into_uuid().to_string()
}

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
}
