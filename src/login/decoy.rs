//! Timing cover for numbers that get no message (`SESAME_ALLOW_ANONYMOUS=false`): their start
//! waits about as long as a real send takes, so response times do not tell employees apart.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng;

/// Assumed send time before the first real send has been measured.
const INITIAL_ESTIMATE: Duration = Duration::from_millis(250);

/// A moving average of how long real sends take on this node.
pub struct SendTimer {
    estimate_micros: AtomicU64,
}

impl Default for SendTimer {
    fn default() -> Self {
        Self {
            estimate_micros: AtomicU64::new(INITIAL_ESTIMATE.as_micros() as u64),
        }
    }
}

impl SendTimer {
    /// Folds one real send's duration into the estimate (weight 1/8, so a single slow send
    /// moves it little).
    pub fn observe(&self, elapsed: Duration) {
        let sample = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        // The closure always returns Some, so the update cannot fail.
        let _ = self
            .estimate_micros
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(old - old / 8 + sample / 8)
            });
    }

    /// Waits as long as a real send would take, give or take the jitter real sends have.
    pub async fn imitate(&self) {
        let estimate = self.estimate_micros.load(Ordering::Relaxed);
        let wait = rand::thread_rng().gen_range(estimate * 8 / 10..=estimate * 12 / 10);
        tokio::time::sleep(Duration::from_micros(wait)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_follows_real_sends() {
        let timer = SendTimer::default();
        for _ in 0..100 {
            timer.observe(Duration::from_millis(40));
        }
        let estimate = timer.estimate_micros.load(Ordering::Relaxed);
        assert!((39_000..=41_000).contains(&estimate), "{estimate}");
    }
}
