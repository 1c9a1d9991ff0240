//! Configuring a [`Verifier`]: defaults, bounds, and the first fetch from Sesame.

use std::sync::Arc;
use std::time::Duration;

use crate::claims::Expected;
use crate::error::{Error, Result};
use crate::keys::{KeyCache, discover};
use crate::revocations::{Follower, PAGE};
use crate::tasks::Tasks;
use crate::verifier::{Introspection, Shared, Verifier};

const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// A larger leeway would keep expired tokens alive for longer than clocks ever drift.
const MAX_LEEWAY: Duration = Duration::from_secs(300);
const DEFAULT_POLL: Duration = Duration::from_secs(10);
const MIN_POLL: Duration = Duration::from_millis(100);
/// Each request to Sesame, with the default client.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long the default client keeps an idle connection for reuse: under the 10 s after which
/// Sesame closes a connection that sends no request (`SESAME_HEADER_READ_TIMEOUT`), so a poll
/// every 10 s never races that close on a reused connection and fails.
const IDLE_CONNECTION: Duration = Duration::from_secs(5);

/// Options of a [`Verifier`]; start with [`Verifier::builder`].
///
/// ```no_run
/// # async fn run() -> Result<(), sesame_verify::Error> {
/// use std::time::Duration;
/// use sesame_verify::Verifier;
///
/// let verifier = Verifier::builder("https://login.example.com")
///     .audience("sesame")
///     .leeway(Duration::from_secs(10))
///     .revocations(std::env::var("SESAME_INTROSPECT_KEY").unwrap_or_default())
///     .poll_interval(Duration::from_secs(5))
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct Builder {
    issuer: String,
    audience: String,
    leeway: Duration,
    revocations_key: Option<String>,
    introspection_key: Option<String>,
    poll_interval: Duration,
    client: Option<reqwest::Client>,
}

impl Builder {
    pub(crate) fn new(issuer: String) -> Self {
        Self {
            // Sesame's issuer has no trailing slash, and `iss` is compared exactly.
            issuer: issuer.trim_end_matches('/').to_owned(),
            audience: "sesame".into(),
            leeway: DEFAULT_LEEWAY,
            revocations_key: None,
            introspection_key: None,
            poll_interval: DEFAULT_POLL,
            client: None,
        }
    }

    /// The `aud` tokens must carry: Sesame's `SESAME_AUDIENCE` (default `sesame`).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in whole seconds: 30 s by default, at
    /// most 5 minutes (`build` refuses more).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Follows Sesame's revocation feed with this API key (role `introspect`, created with
    /// `sesame api-key create --role introspect`) and refuses tokens of revoked sessions.
    ///
    /// `build` reads the whole feed before it returns, so the deny-list is complete from the
    /// first request; then it follows Sesame's revocation stream (pushed within a second) and
    /// polls every [`poll_interval`](Self::poll_interval) as a safety net. The key also
    /// serves [`require_introspection`](crate::require_introspection).
    pub fn revocations(mut self, api_key: impl Into<String>) -> Self {
        self.revocations_key = Some(api_key.into());
        self
    }

    /// The API key for [`require_introspection`](crate::require_introspection), when the
    /// revocation feed is not followed (or should use another key).
    pub fn introspection_key(mut self, api_key: impl Into<String>) -> Self {
        self.introspection_key = Some(api_key.into());
        self
    }

    /// How often the revocation feed is polled: 10 s by default, at least 100 ms. While the
    /// stream is open a revoked session is refused within a second; while it is down (or
    /// against a Sesame without it), within this interval plus the few seconds Sesame's feed
    /// trails its clock (`SESAME_REVOCATION_FEED_LAG`).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The HTTP client for every request to Sesame. The default times out after 10 s, reuses
    /// a connection idle for at most 5 s and follows no redirect (keys come from where
    /// discovery says, nowhere else). The stream
    /// overrides the total timeout; a client of your own must not time out reads under 15 s
    /// (the stream's keep-alive).
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Reads discovery and the JWKS (and the revocation feed, when enabled), then starts the
    /// background refreshes. Fails when an option is out of range or Sesame is unreachable:
    /// a verifier never starts without keys.
    pub async fn build(self) -> Result<Verifier> {
        if self.leeway > MAX_LEEWAY {
            return Err(Error::Config(format!(
                "the leeway is at most {} s",
                MAX_LEEWAY.as_secs()
            )));
        }
        if self.poll_interval < MIN_POLL {
            return Err(Error::Config(format!(
                "the poll interval is at least {} ms",
                MIN_POLL.as_millis()
            )));
        }
        if !self.issuer.starts_with("https://") && !self.issuer.starts_with("http://") {
            return Err(Error::Config(format!(
                "the issuer {:?} is not an http(s) URL",
                self.issuer
            )));
        }
        let client = match self.client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .timeout(TIMEOUT)
                .pool_idle_timeout(IDLE_CONNECTION)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|err| Error::Config(format!("cannot build an HTTP client: {err}")))?,
        };
        let issuer = self.issuer;
        let endpoints = discover(&client, &issuer).await?;
        let keys = Arc::new(
            KeyCache::load(client.clone(), endpoints.jwks)
                .await
                .map_err(Error::Unavailable)?,
        );
        let leeway = i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX);
        let revocations = match &self.revocations_key {
            Some(api_key) => {
                let url = format!("{issuer}/v1/revocations");
                let follower = Follower::new(client.clone(), url, api_key.clone(), PAGE, leeway);
                follower.poll().await.map_err(Error::Unavailable)?;
                Some(Arc::new(follower))
            }
            None => None,
        };
        let introspection = self
            .introspection_key
            .or(self.revocations_key)
            .map(|api_key| Introspection {
                url: endpoints.introspection,
                api_key,
            });

        let mut tasks = vec![tokio::spawn(keys.clone().keep_fresh()).abort_handle()];
        if let Some(follower) = &revocations {
            let run = follower.clone().run(self.poll_interval);
            tasks.push(tokio::spawn(run).abort_handle());
            tasks.push(tokio::spawn(follower.clone().stream()).abort_handle());
        }
        let shared = Shared {
            expected: Expected {
                issuer,
                audience: self.audience,
                leeway,
            },
            keys,
            revocations,
            introspection,
            client,
        };
        Ok(Verifier::new(shared, Tasks(tasks)))
    }
}
