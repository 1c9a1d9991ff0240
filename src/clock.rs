//! The one source of time. Everything that needs "now" asks the application's [`Clock`] (or
//! takes `now` from its caller), so tests move time instead of sleeping; everything that
//! measures how long something took uses a [`Stopwatch`].

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Frozen-at value of a clock that follows the system time.
const RUNNING: i64 = i64::MIN;

/// Wall-clock time in Unix seconds and milliseconds. Clones share one state, so a test that
/// holds a clone moves the clock of the app it started.
#[derive(Clone, Debug)]
pub struct Clock {
    state: Arc<State>,
}

#[derive(Debug)]
struct State {
    /// Added to the system time (tests move it forward).
    offset_ms: AtomicI64,
    /// The time a frozen clock shows, or [`RUNNING`].
    frozen_at_ms: AtomicI64,
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self {
            state: Arc::new(State {
                offset_ms: AtomicI64::new(0),
                frozen_at_ms: AtomicI64::new(RUNNING),
            }),
        }
    }

    /// Unix seconds.
    pub fn now(&self) -> i64 {
        self.now_millis().div_euclid(1_000)
    }

    /// Unix milliseconds, for windows shorter than a second's rounding allows.
    pub fn now_millis(&self) -> i64 {
        match self.state.frozen_at_ms.load(Ordering::SeqCst) {
            RUNNING => system_millis() + self.state.offset_ms.load(Ordering::SeqCst),
            frozen => frozen,
        }
    }

    /// Moves the clock forward by `by` (tests: an expiry without the wait).
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.state.offset_ms.fetch_add(by, Ordering::SeqCst);
        let _ =
            self.state
                .frozen_at_ms
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |frozen| {
                    (frozen != RUNNING).then(|| frozen.saturating_add(by))
                });
    }

    /// Stops the clock at `at_ms` (Unix milliseconds) until it is advanced or resumed (tests
    /// that need exact instants, such as either side of a second boundary).
    pub fn freeze_at(&self, at_ms: i64) {
        self.state.frozen_at_ms.store(at_ms, Ordering::SeqCst);
    }

    /// Lets a frozen clock run again from where it stands.
    pub fn resume(&self) {
        let frozen = self.state.frozen_at_ms.swap(RUNNING, Ordering::SeqCst);
        if frozen != RUNNING {
            self.state
                .offset_ms
                .store(frozen - system_millis(), Ordering::SeqCst);
        }
    }
}

/// Measures how long something takes. A duration is not wall-clock time: it must not jump
/// when the system clock is set or when a test moves the [`Clock`], so it is read from
/// tokio's monotonic clock, the one `tokio::time::sleep` waits on (paused or not).
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(tokio::time::Instant);

impl Stopwatch {
    pub fn start() -> Self {
        Self(tokio::time::Instant::now())
    }

    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

fn system_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_moves_with_the_system_and_when_advanced() {
        let clock = Clock::system();
        let before = clock.now_millis();
        clock.advance(Duration::from_secs(3_600));
        assert!(clock.now_millis() >= before + 3_600_000);
        assert_eq!(clock.now(), clock.now_millis().div_euclid(1_000));
    }

    #[test]
    fn a_frozen_clock_stands_still_until_advanced_and_clones_share_it() {
        let clock = Clock::system();
        let shared = clock.clone();
        clock.freeze_at(1_700_000_000_999);
        assert_eq!(shared.now(), 1_700_000_000);
        clock.advance(Duration::from_millis(2));
        assert_eq!(shared.now_millis(), 1_700_000_001_001);
        clock.resume();
        assert!(shared.now_millis() >= 1_700_000_001_001);
    }
}
