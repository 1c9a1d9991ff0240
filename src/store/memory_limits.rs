//! Rate-limit state in process memory: the same sliding-window logs and failure counters as
//! on Redis (`redis_limits.rs`), behind one lock each.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use super::{Admission, Window};

/// Expired entries of other keys are swept at most this often (seconds), so memory tracks
/// recent clients only.
const SWEEP_EVERY: i64 = 60;

#[derive(Default)]
pub(super) struct MemoryLimits {
    windows: Mutex<Sweeping<Log>>,
    failures: Mutex<Sweeping<Failures>>,
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

#[derive(Default)]
struct Failures {
    count: u32,
    until: i64,
    expires_at: i64,
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

impl Expiring for Failures {
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
        for (index, window) in windows.iter().enumerate() {
            let Some(log) = logs.entries.get_mut(&window_key(tag, window.name)) else {
                continue;
            };
            while log
                .events
                .front()
                .is_some_and(|(at, _)| at + window.secs <= now)
            {
                log.events.pop_front();
            }
            let cap = window.cap as usize;
            if log.events.len() >= cap {
                let (oldest, _) = log.events[log.events.len() - cap];
                let retry_after = oldest + window.secs - now;
                if refused.is_none_or(|(_, wait)| retry_after > wait) {
                    refused = Some((index, retry_after));
                }
            }
        }
        if let Some((window, retry_after)) = refused {
            return Admission::Refused {
                window,
                retry_after,
            };
        }
        for window in windows {
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
        Admission::Admitted
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

    pub(super) fn add_failure(&self, number: &str, now: i64, ttl_secs: i64) -> u32 {
        let mut failures = lock(&self.failures);
        failures.sweep(now);
        let entry = failures.entries.entry(number.to_owned()).or_default();
        if !entry.live_at(now) {
            *entry = Failures::default();
        }
        entry.count += 1;
        entry.expires_at = now + ttl_secs;
        entry.count
    }

    pub(super) fn lock_verification(&self, number: &str, until: i64) {
        if let Some(entry) = lock(&self.failures).entries.get_mut(number) {
            entry.until = entry.until.max(until);
        }
    }

    pub(super) fn verification_locked_until(&self, number: &str, now: i64) -> Option<i64> {
        lock(&self.failures)
            .entries
            .get(number)
            .filter(|entry| entry.live_at(now) && entry.until > now)
            .map(|entry| entry.until)
    }

    pub(super) fn clear_failures(&self, number: &str) {
        lock(&self.failures).entries.remove(number);
    }
}
