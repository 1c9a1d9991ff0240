//! What [`Verifier::status`](crate::Verifier::status) reports, for a health endpoint.

use std::time::{Duration, SystemTime};

/// The health of a verifier: how fresh its keys are and how far its deny-list trails Sesame.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Status {
    /// The last attempt to reach Sesame failed (keys or revocation feed): tokens are still
    /// verified with the cached keys and the deny-list as it was, but a new signing key or a
    /// revocation since then is not known here.
    pub degraded: bool,
    /// The key cache.
    pub keys: KeysStatus,
    /// The revocation follower, when [`Builder::revocations`](crate::Builder::revocations)
    /// enabled it.
    pub revocations: Option<RevocationsStatus>,
}

/// The JWKS cache.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KeysStatus {
    /// When the JWKS was last fetched successfully.
    pub fetched_at: SystemTime,
    /// Whether that fetch is younger than the `max-age` Sesame allowed.
    pub fresh: bool,
    /// Why the last fetch failed; `None` once one succeeds.
    pub last_error: Option<String>,
}

/// The revocation feed follower.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RevocationsStatus {
    /// When the follower last read the feed to its end (or its stream was last open).
    pub caught_up_at: SystemTime,
    /// Time since then. Sesame's feed itself trails its clock by a few seconds
    /// (`SESAME_REVOCATION_FEED_LAG`), which this does not include.
    pub lag: Duration,
    /// Where the next poll or stream resumes (opaque).
    pub cursor: Option<String>,
    /// Sessions and tokens in the deny-list.
    pub entries: usize,
    /// Why the last poll or stream connection failed; `None` once one succeeds.
    pub last_error: Option<String>,
    /// Whether the revocation stream is open: then revocations arrive within a second, and
    /// `caught_up_at` is now.
    pub streaming: bool,
}
