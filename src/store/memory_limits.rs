//! Rate-limit state in process memory: the same sliding-window logs and failure counters as
//! on Redis (`redis_limits.rs`), behind one lock each.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use super::{Admission, Failures, Window};

/// Expired entries of other keys are swept at most this often (seconds), so memory tracks
/// recent clients only.
const SWEEP_EVERY: i64 = 60;

#[derive(Default)]
pub(super) struct MemoryLimits {
    windows: Mutex<Sweeping<Log>>,
    failures: Mutex<Sweeping<NumberFailures>>,
}

struct Sweeping<T> {
    entries: HashMap<String, T>,
    swept_at: i64,
}

impl<T> Default for Sweeping<T> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            swept_at: 0,
        }
    }
}

/// Events of one window, oldest first.
struct Log {
    secs: i64,
    events: VecDeque<(i64, String)>,
}

/// Failed checks of one number's codes: all of them, and each source's.
#[derive(Default)]
struct NumberFailures {
    number: Counted,
    sources: HashMap<String, Counted>,
    expires_at: i64,
}

/// Consecutive failures, and the end of the lock they led to.
#[derive(Default)]
struct Counted {
    count: u32,
    until: i64,
}

trait Expiring {
    fn live_at(&self, now: i64) -> bool;
}

impl Expiring for Log {
    fn live_at(&self, now: i64) -> bool {
        self.events
            .back()
            .is_some_and(|(at, _)| at + self.secs > now)
    }
}

impl Expiring for NumberFailures {
    fn live_at(&self, now: i64) -> bool {
        self.expires_at > now
    }
}

impl<T: Expiring> Sweeping<T> {
    fn sweep(&mut self, now: i64) {
        if now - self.swept_at >= SWEEP_EVERY {
            self.entries.retain(|_, entry| entry.live_at(now));
            self.swept_at = now;
        }
    }
}

/// A panic while holding a lock cannot leave an entry half-written (updates are single
/// assignments or pushes), so a poisoned lock is still safe to use.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn window_key(tag: &str, name: &str) -> String {
    format!("{tag}:{name}")
}

impl MemoryLimits {
    pub(super) fn admit(
        &self,
        tag: &str,
        windows: &[Window<'_>],
        member: &str,
        now: i64,
    ) -> Admission {
        let mut logs = lock(&self.windows);
        logs.sweep(now);
        let mut refused = None;
        let mut counts = Vec::with_capacity(windows.len());
        for (index, window) in windows.iter().enumerate() {
            let Some(log) = logs.entries.get_mut(&window_key(tag, window.name)) else {
                counts.push(1);
                continue;
            };
            while log
                .events
                .front()
                .is_some_and(|(at, _)| at + window.secs <= now)
            {
                log.events.pop_front();
            }
            let counted = || {
                log.events
                    .iter()
                    .filter(|(_, event)| window.only.is_none_or(|only| event.starts_with(only)))
                    .map(|(at, _)| *at)
            };
            let count = counted().count();
            let cap = window.cap as usize;
            if count >= cap {
                let oldest = counted().nth(count - cap).unwrap_or(now);
                let retry_after = oldest + window.secs - now;
                if refused.is_none_or(|(_, wait)| retry_after > wait) {
                    refused = Some((index, retry_after));
                }
            }
            counts.push(u32::try_from(count + 1).unwrap_or(u32::MAX));
        }
        if let Some((window, retry_after)) = refused {
            return Admission::Refused {
                window,
                retry_after,
            };
        }
        for (index, window) in windows.iter().enumerate() {
            // A share lives in the log of its window: the event is recorded there once.
            if windows[..index].iter().any(|w| w.name == window.name) {
                continue;
            }
            let log = logs
                .entries
                .entry(window_key(tag, window.name))
                .or_insert_with(|| Log {
                    secs: window.secs,
                    events: VecDeque::new(),
                });
            log.secs = window.secs;
            log.events.push_back((now, member.to_owned()));
        }
        Admission::Admitted { counts }
    }

    pub(super) fn withdraw(&self, tag: &str, names: &[&str], member: &str) {
        let mut logs = lock(&self.windows);
        for name in names {
            if let Some(log) = logs.entries.get_mut(&window_key(tag, name)) {
                log.events.retain(|(_, event)| event != member);
            }
        }
    }

    pub(super) fn clear_window(&self, tag: &str, name: &str) {
        lock(&self.windows).entries.remove(&window_key(tag, name));
    }

    pub(super) fn add_failure(
        &self,
        number: &str,
        source: &str,
        now: i64,
        ttl_secs: i64,
    ) -> Failures {
        let mut failures = lock(&self.failures);
        failures.sweep(now);
        let entry = failures.entries.entry(number.to_owned()).or_default();
        if !entry.live_at(now) {
            *entry = NumberFailures::default();
        }
        entry.expires_at = now + ttl_secs;
        entry.number.count += 1;
        let by_source = entry.sources.entry(source.to_owned()).or_default();
        by_source.count += 1;
        Failures {
            number: entry.number.count,
            source: by_source.count,
        }
    }

    pub(super) fn lock_verification(&self, number: &str, source: Option<&str>, until: i64) {
        let mut failures = lock(&self.failures);
        let Some(entry) = failures.entries.get_mut(number) else {
            return;
        };
        let locked = match source {
            None => &mut entry.number,
            Some(source) => entry.sources.entry(source.to_owned()).or_default(),
        };
        locked.until = locked.until.max(until);
    }

    pub(super) fn verification_locked_until(
        &self,
        number: &str,
        source: &str,
        now: i64,
    ) -> Option<i64> {
        let failures = lock(&self.failures);
        let entry = failures
            .entries
            .get(number)
            .filter(|entry| entry.live_at(now))?;
        let by_source = entry.sources.get(source).map_or(0, |counted| counted.until);
        Some(entry.number.until.max(by_source)).filter(|until| *until > now)
    }

    /// Forgets the number's failures and lock, and `source`'s (a login from it).
    pub(super) fn forget_failures(&self, number: &str, source: &str) {
        if let Some(entry) = lock(&self.failures).entries.get_mut(number) {
            entry.number = Counted::default();
            entry.sources.remove(source);
        }
    }

    pub(super) fn unlock(&self, number: &str, windows: &[&str]) {
        lock(&self.failures).entries.remove(number);
        let mut logs = lock(&self.windows);
        for name in windows {
            logs.entries.remove(&window_key(number, name));
        }
    }
}
