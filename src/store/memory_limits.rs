//! Rate-limit state in process memory: the same windows (logs and bucketed counters) and
//! failure counters as on Redis (`redis_limits.rs`), with the same arithmetic, behind one
//! lock each.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use super::{Admission, Lockout, Window, WindowKind};

/// Expired entries of other keys are swept at most this often (seconds), so memory tracks
/// recent clients only.
const SWEEP_EVERY: i64 = 60;

#[derive(Default)]
pub(super) struct MemoryLimits {
    windows: Mutex<Sweeping<Tally>>,
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

/// What one window key holds.
enum Tally {
    Log(Log),
    Counter(Counter),
}

/// Events of a log, oldest first, kept for `secs` (the longest window reading it).
struct Log {
    secs: i64,
    events: VecDeque<(i64, String)>,
}

/// Events per bucket (index `at.div_euclid(bucket_secs)`) of a counter window of `secs`.
struct Counter {
    secs: i64,
    bucket_secs: i64,
    buckets: BTreeMap<i64, u32>,
}

impl Counter {
    fn new(window: &Window<'_>) -> Self {
        Self {
            secs: window.secs,
            bucket_secs: window.bucket_secs(),
            buckets: BTreeMap::new(),
        }
    }

    /// Drops the buckets the window no longer counts at `now` (those older than the bucket of
    /// `now - secs`) and returns the count of the rest.
    fn trim(&mut self, now: i64) -> u64 {
        let first = (now - self.secs).div_euclid(self.bucket_secs);
        self.buckets = self.buckets.split_off(&first);
        self.buckets.values().map(|count| u64::from(*count)).sum()
    }

    /// Seconds from `now` until the count (`count`, trimmed at `now`) falls below `cap`: until
    /// the bucket whose departure brings it there leaves the window.
    fn frees_in(&self, count: u64, cap: u32, now: i64) -> i64 {
        let mut left = count;
        for (bucket, events) in &self.buckets {
            left = left.saturating_sub(u64::from(*events));
            if left < u64::from(cap) {
                return self.leaves_at(*bucket) - now;
            }
        }
        self.secs
    }

    /// The first second at which `bucket` is no longer counted.
    fn leaves_at(&self, bucket: i64) -> i64 {
        (bucket + 1) * self.bucket_secs + self.secs
    }

    fn add(&mut self, at: i64) {
        *self
            .buckets
            .entry(at.div_euclid(self.bucket_secs))
            .or_default() += 1;
    }

    fn take_back(&mut self, at: i64) {
        let bucket = at.div_euclid(self.bucket_secs);
        if let Some(events) = self.buckets.get_mut(&bucket) {
            *events = events.saturating_sub(1);
            if *events == 0 {
                self.buckets.remove(&bucket);
            }
        }
    }
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

impl Expiring for Tally {
    fn live_at(&self, now: i64) -> bool {
        match self {
            Self::Log(log) => log.events.back().is_some_and(|(at, _)| at + log.secs > now),
            Self::Counter(counter) => counter
                .buckets
                .last_key_value()
                .is_some_and(|(bucket, _)| counter.leaves_at(*bucket) > now),
        }
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

/// The longest of the windows of one call named `name`: their log keeps that long.
fn longest_secs(windows: &[Window<'_>], name: &str) -> i64 {
    windows
        .iter()
        .filter(|window| window.name == name)
        .map(|window| window.secs)
        .max()
        .unwrap_or(0)
}

/// Trims `log` to the last `keep` seconds, then returns what `window` (counting the members
/// that start with `only`, if set) counts at `now` and the seconds until the event that
/// frees a place in it leaves it (meaningful when full).
fn count_log(
    log: &mut Log,
    window: &Window<'_>,
    only: Option<&str>,
    keep: i64,
    now: i64,
) -> (u64, i64) {
    while log.events.front().is_some_and(|(at, _)| at + keep <= now) {
        log.events.pop_front();
    }
    let counted = || {
        log.events
            .iter()
            .filter(|(at, event)| {
                at + window.secs > now && only.is_none_or(|only| event.starts_with(only))
            })
            .map(|(at, _)| *at)
    };
    let count = counted().count();
    let frees_in = count
        .checked_sub(window.cap as usize)
        .and_then(|index| counted().nth(index))
        .map_or(window.secs, |oldest| oldest + window.secs - now);
    (u64::try_from(count).unwrap_or(u64::MAX), frees_in)
}

impl MemoryLimits {
    pub(super) fn admit(
        &self,
        tag: &str,
        windows: &[Window<'_>],
        member: &str,
        now: i64,
    ) -> Admission {
        let mut tallies = lock(&self.windows);
        tallies.sweep(now);
        let mut refused = None;
        let mut counts = Vec::with_capacity(windows.len());
        for (index, window) in windows.iter().enumerate() {
            let key = window_key(tag, window.name);
            let (count, frees_in) = match (window.kind, tallies.entries.get_mut(&key)) {
                (WindowKind::Counter, Some(Tally::Counter(counter))) => {
                    let count = counter.trim(now);
                    (count, counter.frees_in(count, window.cap, now))
                }
                (WindowKind::Log { only }, Some(Tally::Log(log))) => {
                    let keep = longest_secs(windows, window.name);
                    count_log(log, window, only, keep, now)
                }
                // Nothing yet, or a key of the other kind (replaced when recording).
                _ => (0, 0),
            };
            if count >= u64::from(window.cap) && refused.is_none_or(|(_, wait)| frees_in > wait) {
                refused = Some((index, frees_in));
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
            // Windows of one name share their key: the event is recorded there once.
            if windows[..index].iter().any(|w| w.name == window.name) {
                continue;
            }
            let key = window_key(tag, window.name);
            match (window.kind, tallies.entries.get_mut(&key)) {
                (WindowKind::Counter, Some(Tally::Counter(counter))) => counter.add(now),
                (WindowKind::Log { .. }, Some(Tally::Log(log))) => {
                    log.secs = longest_secs(windows, window.name);
                    log.events.push_back((now, member.to_owned()));
                }
                (WindowKind::Counter, _) => {
                    let mut counter = Counter::new(window);
                    counter.add(now);
                    tallies.entries.insert(key, Tally::Counter(counter));
                }
                (WindowKind::Log { .. }, _) => {
                    let log = Log {
                        secs: longest_secs(windows, window.name),
                        events: VecDeque::from([(now, member.to_owned())]),
                    };
                    tallies.entries.insert(key, Tally::Log(log));
                }
            }
        }
        Admission::Admitted { counts }
    }

    pub(super) fn withdraw(&self, tag: &str, windows: &[Window<'_>], member: &str, at: i64) {
        let mut tallies = lock(&self.windows);
        for (index, window) in windows.iter().enumerate() {
            if windows[..index].iter().any(|w| w.name == window.name) {
                continue;
            }
            match tallies.entries.get_mut(&window_key(tag, window.name)) {
                Some(Tally::Log(log)) => log.events.retain(|(_, event)| event != member),
                Some(Tally::Counter(counter)) => counter.take_back(at),
                None => {}
            }
        }
    }

    pub(super) fn clear_window(&self, tag: &str, name: &str) {
        lock(&self.windows).entries.remove(&window_key(tag, name));
    }

    /// One more failure of `number` from `source` at `now`, and the locks it earns
    /// (`Ephemeral::record_failure`), under one lock.
    pub(super) fn record_failure(&self, number: &str, source: &str, now: i64, lockout: &Lockout) {
        let mut failures = lock(&self.failures);
        failures.sweep(now);
        let entry = failures.entries.entry(number.to_owned()).or_default();
        if !entry.live_at(now) {
            *entry = NumberFailures::default();
        }
        entry.expires_at = now + lockout.window;
        entry.number.count += 1;
        if let Some(secs) = lockout.number_lock_secs(entry.number.count) {
            entry.number.until = entry.number.until.max(now + secs);
        }
        let by_source = entry.sources.entry(source.to_owned()).or_default();
        by_source.count += 1;
        if let Some(secs) = lockout.source_lock_secs(by_source.count) {
            by_source.until = by_source.until.max(now + secs);
        }
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
        let mut tallies = lock(&self.windows);
        for name in windows {
            tallies.entries.remove(&window_key(number, name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_a_sixtieth_of_the_window_rounded_up() {
        let widths = [1, 3, 60, 61, 90, 3_600, 86_400]
            .map(|secs| Window::counter("starts", 1, secs).bucket_secs());
        assert_eq!(widths, [1, 1, 1, 2, 2, 60, 1_440]);
    }

    /// One event a second for four hours: the hour's counter holds 61 minutes, and counts
    /// every event of them.
    #[test]
    fn a_counter_keeps_at_most_61_buckets() {
        let limits = MemoryLimits::default();
        let window = [Window::counter("starts", u32::MAX, 3_600)];
        let mut last = None;
        for second in 0..4 * 3_600 {
            last = Some(limits.admit("ip:203.0.113.9", &window, "", second));
        }
        // At 14,399 the hour reaches back into minute 179 (from 10,740): 3,660 events.
        let expected = Admission::Admitted {
            counts: vec![3_660],
        };
        assert_eq!(last, Some(expected));
        let tallies = lock(&limits.windows);
        let Some(Tally::Counter(counter)) = tallies.entries.get("ip:203.0.113.9:starts") else {
            panic!("no counter");
        };
        assert_eq!(counter.buckets.len(), 61);
    }
}
