//! The windows under the abuse limits, on the store itself (docs/contract-notes.md, "Abuse
//! limits"): a number's caps read one exact log; the per-IP caps and the budgets count per
//! bucket, an event counting up to one bucket longer than its window and never less; and what
//! a login leaves in Redis.

use std::collections::HashMap;
use std::sync::Arc;

use redis::aio::MultiplexedConnection;
use reqwest::StatusCode;
use sesame::config::SecretUrl;
use sesame::store::{
    Admission, AdmitFirst, ChallengeCheck, CodeAttempt, CodeCheck, Ephemeral, Lockout,
    MemoryEphemeral, NewChallenge, OnSuccess, RedisEphemeral, Window, WindowGroup,
};
use uuid::Uuid;

use crate::support::{
    Backend, RedisServer, on_every_backend, redis_cluster_url, redis_url, spawn_app,
};

on_every_backend!(
    a_counter_counts_an_event_until_its_bucket_leaves_the_window,
    a_counter_never_admits_more_than_its_cap_and_its_wait_is_exact,
    withdrawing_takes_an_event_out_of_its_bucket,
    a_numbers_caps_read_one_exact_log_each_over_its_own_length,
    groups_are_admitted_in_turn_up_to_the_first_refused,
    a_challenge_is_stored_only_once_every_group_is_admitted,
    a_code_is_checked_only_once_its_admission_is_admitted,
    unlock_empties_the_cooldown_and_the_send_log,
    only_a_guess_counts_as_a_failure,
);

/// The start of a minute: the buckets of an hour's counter are minutes.
const T: i64 = 1_800_000_000;
const TAG: &str = "+447700900123";

/// A store of `backend` with nothing in it.
async fn store(backend: Backend) -> Arc<dyn Ephemeral> {
    let url = match backend {
        Backend::Embedded => return Arc::new(MemoryEphemeral::new()),
        Backend::Production => redis_url(),
        Backend::Cluster => redis_cluster_url(),
    };
    Arc::new(redis_store(&url).await.0)
}

/// A Redis store at `url` under a key prefix of its own, and that prefix (to read its keys).
async fn redis_store(url: &str) -> (RedisEphemeral, String) {
    let prefix = format!("sesame-test-{}", Uuid::new_v4().simple());
    let store = RedisEphemeral::connect(&SecretUrl::new(url), &prefix)
        .await
        .unwrap();
    (store, prefix)
}

async fn admit(store: &dyn Ephemeral, windows: &[Window<'_>], member: &str, now: i64) -> Admission {
    store.admit(TAG, windows, member, now).await.unwrap()
}

fn group<'a>(tag: &'a str, windows: &'a [Window<'a>]) -> WindowGroup<'a> {
    WindowGroup { tag, windows }
}

/// A challenge of [`TAG`] for `digest`, stored at `at` (Unix seconds) for 180 s.
fn new_challenge(digest: &str, at: i64) -> NewChallenge<'_> {
    NewChallenge {
        number: TAG,
        digest,
        now_ms: at * 1_000,
        ttl_secs: 180,
    }
}

/// A check of `digest` against [`TAG`]'s challenge at `at`, 5 attempts allowed.
fn attempt(digest: &str, at: i64) -> CodeAttempt<'_> {
    CodeAttempt {
        number: TAG,
        source: "x",
        digest,
        max_attempts: 5,
        now_ms: at * 1_000,
        on_success: OnSuccess {
            forget_failures: false,
            empty_window: None,
        },
        on_failure: Some(lockout(5)),
    }
}

/// The default lockout, with the source backed off for 30 s from its `backoff_after`-th failure.
fn lockout(backoff_after: u32) -> Lockout {
    Lockout {
        window: 900,
        backoff_after,
        backoff_base: 30,
        backoff_max: 900,
        source_lockout_after: 50,
        lockout_after: 100,
    }
}

async fn check(store: &dyn Ephemeral, digest: &str, at: i64) -> CodeCheck {
    store.check_challenge(&attempt(digest, at)).await.unwrap()
}

fn admitted(counts: &[u32]) -> Admission {
    Admission::Admitted {
        counts: counts.to_vec(),
    }
}

fn refused(window: usize, retry_after: i64) -> Admission {
    Admission::Refused {
        window,
        retry_after,
    }
}

async fn a_counter_counts_an_event_until_its_bucket_leaves_the_window(backend: Backend) {
    let store = store(backend).await;
    let store = store.as_ref();
    let hour = [Window::counter("starts", 3, 3_600)];
    // Two events in the first minute, one in the second; the counts include the new event.
    assert_eq!(admit(store, &hour, "a", T + 20).await, admitted(&[1]));
    assert_eq!(admit(store, &hour, "b", T + 30).await, admitted(&[2]));
    assert_eq!(admit(store, &hour, "c", T + 90).await, admitted(&[3]));
    // Full until the first minute has wholly left the hour, at T + 60 + 3600: 40 seconds after
    // an exact log would have let its first event go, never before.
    assert_eq!(admit(store, &hour, "d", T + 100).await, refused(0, 3_560));
    assert_eq!(admit(store, &hour, "d", T + 3_620).await, refused(0, 40));
    assert_eq!(admit(store, &hour, "d", T + 3_659).await, refused(0, 1));
    assert_eq!(admit(store, &hour, "d", T + 3_660).await, admitted(&[2]));
    assert_eq!(admit(store, &hour, "e", T + 3_661).await, admitted(&[3]));
    // Now the second minute's one event is the one to leave.
    assert_eq!(admit(store, &hour, "f", T + 3_700).await, refused(0, 20));
    assert_eq!(admit(store, &hour, "f", T + 3_720).await, admitted(&[3]));
}

/// One attempt every 7 seconds for three hours against 5 in any 10 minutes: whenever refused,
/// the attempt a second before the `Retry-After` is refused too and the one at it admitted;
/// and no 600 seconds ever hold more than 5 admitted events.
async fn a_counter_never_admits_more_than_its_cap_and_its_wait_is_exact(backend: Backend) {
    let store = store(backend).await;
    let store = store.as_ref();
    let window = [Window::counter("checks", 5, 600)];
    let mut admitted_at = Vec::new();
    let mut refusals = 0;
    let mut now = T + 3;
    while now < T + 3 * 3_600 {
        let member = now.to_string();
        match admit(store, &window, &member, now).await {
            Admission::Admitted { .. } => admitted_at.push(now),
            Admission::Refused { retry_after, .. } => {
                refusals += 1;
                assert!(retry_after >= 1, "{retry_after}");
                if retry_after > 1 {
                    let early = admit(store, &window, &member, now + retry_after - 1).await;
                    assert!(matches!(early, Admission::Refused { .. }), "{early:?}");
                }
                now += retry_after;
                let on_time = admit(store, &window, &member, now).await;
                assert!(matches!(on_time, Admission::Admitted { .. }), "{on_time:?}");
                admitted_at.push(now);
            }
        }
        now += 7;
    }
    for (i, at) in admitted_at.iter().enumerate() {
        let within = admitted_at[..=i].iter().filter(|a| **a > at - 600).count();
        assert!(within <= 5, "{within} events in the 600 s up to {at}");
    }
    assert!(refusals >= 15, "{refusals}");
}

async fn withdrawing_takes_an_event_out_of_its_bucket(backend: Backend) {
    let store = store(backend).await;
    let store = store.as_ref();
    let hour = [Window::counter("sent", 2, 3_600)];
    assert_eq!(admit(store, &hour, "a", T + 10).await, admitted(&[1]));
    assert_eq!(admit(store, &hour, "b", T + 70).await, admitted(&[2]));
    assert!(matches!(
        admit(store, &hour, "c", T + 80).await,
        Admission::Refused { .. }
    ));
    // `a` did not go through: its minute counts one less, and a place is free at once.
    store.withdraw(TAG, &hour, "a", T + 10).await.unwrap();
    assert_eq!(admit(store, &hour, "c", T + 80).await, admitted(&[2]));
    // A bucket already emptied or long gone gives nothing back, and no count goes below zero.
    store.withdraw(TAG, &hour, "a", T + 10).await.unwrap();
    store.withdraw(TAG, &hour, "z", T - 7_200).await.unwrap();
    assert_eq!(admit(store, &hour, "d", T + 90).await, refused(0, 3_630));
    // The last event of a bucket taken back leaves no empty bucket behind to count.
    store.withdraw(TAG, &hour, "c", T + 80).await.unwrap();
    store.withdraw(TAG, &hour, "b", T + 70).await.unwrap();
    assert_eq!(admit(store, &hour, "d", T + 90).await, admitted(&[1]));
}

/// A number's hourly and daily caps and a source's share: one log, each window counting the
/// entries of its own last seconds, exactly.
async fn a_numbers_caps_read_one_exact_log_each_over_its_own_length(backend: Backend) {
    let store = store(backend).await;
    let store = store.as_ref();
    let hourly = Window::log("sent", 2, 10);
    let daily = Window::log("sent", 3, 100);
    let caps = [hourly, daily, daily.share("x ", 2)];
    assert_eq!(admit(store, &caps, "x 1", T).await, admitted(&[1, 1, 1]));
    // A share counts its own members, but the count it reports includes the new event.
    assert_eq!(
        admit(store, &caps, "y 1", T + 1).await,
        admitted(&[2, 2, 2])
    );
    // The hourly cap frees a place when `x 1` is 10 seconds old.
    assert_eq!(admit(store, &caps, "x 2", T + 2).await, refused(0, 8));
    assert_eq!(
        admit(store, &caps, "x 2", T + 10).await,
        admitted(&[2, 3, 2])
    );
    // The daily cap still counts `x 1`: a short window does not trim the long one's entries.
    // The daily cap and x's share both wait 89 s; the first of them is named.
    assert_eq!(admit(store, &caps, "x 3", T + 11).await, refused(1, 89));
    assert_eq!(
        admit(store, &caps, "y 2", T + 100).await,
        admitted(&[1, 3, 2])
    );
    // A log forgets a withdrawn member: `y 2` did not go through (`y 1` is a day old).
    store.withdraw(TAG, &caps, "y 2", T + 100).await.unwrap();
    assert_eq!(
        admit(store, &caps, "y 3", T + 101).await,
        admitted(&[1, 2, 2])
    );
}

/// A start's windows in turn, as `Limits::admit_start` asks for them: the IP's cap, the
/// number's caps, a budget. Each group is all or nothing; a refused group ends the turn, the
/// groups before it stay recorded and those after it are not tried. (One Redis server takes
/// them in one script call, the Cluster and the memory store one group at a time: the
/// answers are the same.)
async fn groups_are_admitted_in_turn_up_to_the_first_refused(backend: Backend) {
    let store = store(backend).await;
    let store = store.as_ref();
    let ip = [Window::counter("starts", 2, 3_600)];
    let caps = [Window::log("sent", 1, 60), Window::log("sent", 5, 3_600)];
    let budget = [Window::counter("sent", 1, 3_600)];
    let groups = [
        group("ip:203.0.113.9", &ip),
        group(TAG, &caps),
        group("global", &budget),
    ];
    let admit_in_turn = async |groups: &[WindowGroup<'_>], member: &str, now: i64| {
        store
            .admit_in_turn(groups, member, now, None)
            .await
            .unwrap()
    };
    assert_eq!(
        admit_in_turn(&groups, "x 1", T).await,
        [admitted(&[1]), admitted(&[1, 1]), admitted(&[1])]
    );
    // The number's first cap refuses (window 0 of its group): the IP's cap has counted the
    // request, the budget was not tried.
    assert_eq!(
        admit_in_turn(&groups, "x 2", T + 10).await,
        [admitted(&[2]), refused(0, 50)]
    );
    // The IP's cap is full: nothing after it is tried.
    assert_eq!(
        admit_in_turn(&groups, "x 3", T + 70).await,
        [refused(0, 3_590)]
    );
    // The budget refuses; the number's caps, tried before it, have recorded `x 4`.
    assert_eq!(
        admit_in_turn(&groups[1..], "x 4", T + 80).await,
        [admitted(&[1, 2]), refused(0, 3_580)]
    );
    // The number's log holds `x 1` and `x 4`, not the refused `x 2` nor the untried `x 3`.
    assert_eq!(
        admit(store, &caps[1..], "x 5", T + 90).await,
        admitted(&[3])
    );
}

/// A start's new code is stored with its admission (one step on one Redis server): after a
/// refusal it is not, and the live challenge stays.
async fn a_challenge_is_stored_only_once_every_group_is_admitted(backend: Backend) {
    let store = store(backend).await;
    let store = store.as_ref();
    let ip = [Window::counter("starts", 1, 3_600)];
    let caps = [Window::log("sent", 5, 3_600)];
    let groups = [group("ip:203.0.113.9", &ip), group(TAG, &caps)];
    let admit_and_put = async |digest, at| {
        let new = new_challenge(digest, at);
        store
            .admit_in_turn(&groups, "x", at, Some(&new))
            .await
            .unwrap()
    };
    assert_eq!(
        admit_and_put("first", T).await,
        [admitted(&[1]), admitted(&[1])]
    );
    // The IP's cap refuses the second start: its code is not stored.
    assert_eq!(admit_and_put("second", T + 10).await, [refused(0, 3_650)]);
    assert_eq!(
        check(store, "second", T + 20).await,
        CodeCheck::Checked(ChallengeCheck::Rejected { attempts_left: 4 })
    );
    assert_eq!(
        check(store, "first", T + 30).await,
        CodeCheck::Checked(ChallengeCheck::Accepted)
    );
    // Admitted on another IP, a start replaces the challenge, live for its TTL.
    let other_ip = [group("ip:203.0.113.10", &ip), groups[1]];
    let third = new_challenge("third", T + 40);
    assert_eq!(
        store
            .admit_in_turn(&other_ip, "y", T + 40, Some(&third))
            .await
            .unwrap(),
        [admitted(&[1]), admitted(&[2])]
    );
    assert_eq!(
        check(store, "third", T + 40 + 180).await,
        CodeCheck::Checked(ChallengeCheck::Missing)
    );
}

/// A login's code check counts against the client IP's check cap first (one step on one
/// Redis server): a refused check checks nothing, and the challenge stays as it was.
async fn a_code_is_checked_only_once_its_admission_is_admitted(backend: Backend) {
    let store = store(backend).await;
    let store = store.as_ref();
    store
        .put_challenge(&new_challenge("right", T))
        .await
        .unwrap();
    let ip = [Window::counter("checks", 1, 3_600)];
    let admitted_check = async |digest, member, at: i64| {
        let first = AdmitFirst {
            group: group("ip:203.0.113.9", &ip),
            member,
            now: at,
        };
        let attempt = attempt(digest, at);
        store.admit_then_check(&first, &attempt).await.unwrap()
    };
    assert_eq!(
        admitted_check("wrong", "x 1", T + 1).await,
        CodeCheck::Checked(ChallengeCheck::Rejected { attempts_left: 4 })
    );
    // The IP's cap is full: even the right code is not checked.
    assert_eq!(
        admitted_check("right", "x 2", T + 2).await,
        CodeCheck::Refused {
            window: 0,
            retry_after: 3_658
        }
    );
    // No attempt was counted, and the challenge was not spent.
    assert_eq!(
        check(store, "wrong", T + 3).await,
        CodeCheck::Checked(ChallengeCheck::Rejected { attempts_left: 3 })
    );
    assert_eq!(
        check(store, "right", T + 4).await,
        CodeCheck::Checked(ChallengeCheck::Accepted)
    );
}

async fn unlock_empties_the_cooldown_and_the_send_log(backend: Backend) {
    let store = store(backend).await;
    let store = store.as_ref();
    let cooldown = Window::log("resend", 1, 30);
    let daily = Window::log("sent", 1, 86_400);
    let budget = Window::counter("sent", 1, 3_600);
    assert_eq!(
        admit(store, &[cooldown, daily], "x 1", T).await,
        admitted(&[1, 1])
    );
    assert_eq!(
        store.admit("cc:44", &[budget], "x 1", T).await.unwrap(),
        admitted(&[1])
    );
    store.unlock(TAG, &["resend", "sent"]).await.unwrap();
    assert_eq!(
        admit(store, &[cooldown, daily], "x 2", T + 1).await,
        admitted(&[1, 1])
    );
    // The budget keeps its count: that message was sent.
    assert!(matches!(
        store.admit("cc:44", &[budget], "x 2", T + 1).await.unwrap(),
        Admission::Refused { .. }
    ));
}

async fn redis_connection() -> MultiplexedConnection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// The keys under `prefix`, by `SCAN`: a Redis shared with other runs may hold millions of keys
/// (`scripts/bench.sh` leaves its numbers' keys for a day), and `KEYS` would block it for as long
/// as it takes to walk them all, timing out every test using it meanwhile.
async fn keys(redis: &mut MultiplexedConnection, prefix: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut cursor = 0_u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(10_000)
            .query_async(redis)
            .await
            .unwrap();
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    keys.sort();
    keys.dedup();
    keys
}

async fn memory_usage(redis: &mut MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .query_async(redis)
        .await
        .unwrap()
}

/// The fields of the counter `name` of [`TAG`] under `prefix`, and the sum of its buckets' events
/// (the fields that are bucket numbers; `n` is the total it keeps beside them).
async fn counter_of_tag(prefix: &str, name: &str) -> (HashMap<String, i64>, i64) {
    let fields: HashMap<String, i64> = redis::cmd("HGETALL")
        .arg(format!("{prefix}:{{{TAG}}}:{name}:tally"))
        .query_async(&mut redis_connection().await)
        .await
        .unwrap();
    let in_buckets = fields
        .iter()
        .filter(|(field, _)| field.parse::<i64>().is_ok())
        .map(|(_, events)| events)
        .sum();
    (fields, in_buckets)
}

/// After a login the number holds one key, its send log, of under 200 bytes; the IP and budget
/// windows hold one counter each whatever the number of logins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_leaves_one_small_key_per_number_in_redis() {
    let app = spawn_app(Backend::Production).await;
    let prefix = app.vars["SESAME_REDIS_KEY_PREFIX"].clone();
    // Every login inside one minute: one bucket per counter.
    let minute = app.clock.now_millis() / 60_000 + 1;
    app.clock.freeze_at(minute * 60_000 + 1_000);
    let numbers: Vec<String> = (0..20).map(|i| format!("+4477009001{i:02}")).collect();
    for number in &numbers {
        assert_eq!(app.start_login(number).await.status(), StatusCode::ACCEPTED);
        let code = app.sink.last_code(number);
        let response = app.exchange_code(number, &code).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    let mut redis = redis_connection().await;
    let counters: Vec<String> = [
        "{ip:127.0.0.1}:starts:tally",
        "{ip:127.0.0.1}:checks:tally",
        "{cc:44}:sent:tally",
        "{global}:sent:tally",
    ]
    .iter()
    .map(|key| format!("{prefix}:{key}"))
    .collect();
    let mut expected: Vec<String> = numbers
        .iter()
        .map(|number| format!("{prefix}:{{{number}}}:sent"))
        .chain(counters.iter().cloned())
        .collect();
    expected.sort();
    assert_eq!(keys(&mut redis, &prefix).await, expected);
    let log = format!("{prefix}:{{{}}}:sent", numbers[0]);
    let bytes = memory_usage(&mut redis, &log).await;
    assert!(bytes < 200, "{log}: {bytes} bytes");
    for counter in &counters {
        let fields: i64 = redis::cmd("HLEN")
            .arg(counter)
            .query_async(&mut redis)
            .await
            .unwrap();
        // One bucket, the total and the first bucket kept.
        assert_eq!(fields, 3, "{counter}");
        let bytes = memory_usage(&mut redis, counter).await;
        assert!(bytes < 200, "{counter}: {bytes} bytes");
    }
}

/// An hour's counter keeps at most 61 minutes of counts, however many events it takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_stays_bounded_in_redis_whatever_the_traffic() {
    let (store, prefix) = redis_store(&redis_url()).await;
    let window = [Window::counter("starts", 1_000_000, 3_600)];
    // 2,000 events in one minute, then one a minute for three hours.
    let events = (0..2_000)
        .map(|i| T + i % 60)
        .chain((0..180).map(|minute| T + 60 + minute * 60));
    for (i, at) in events.enumerate() {
        let member = i.to_string();
        let admission = store.admit("ip:203.0.113.9", &window, &member, at);
        assert!(matches!(
            admission.await.unwrap(),
            Admission::Admitted { .. }
        ));
    }
    let mut redis = redis_connection().await;
    let key = format!("{prefix}:{{ip:203.0.113.9}}:starts:tally");
    let fields: i64 = redis::cmd("HLEN")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    // 61 minutes, the total and the first minute kept.
    assert_eq!(fields, 63);
    let bytes = memory_usage(&mut redis, &key).await;
    assert!(bytes < 2_000, "{bytes} bytes");
}

/// Admitting nothing asks nothing of Redis: a start without a client IP whose number the
/// screening refuses has no window to count and no challenge to store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admitting_nothing_asks_nothing_of_redis() {
    let mut server = RedisServer::start().await;
    let (store, _) = redis_store(&server.url()).await;
    server.stop();
    let admissions = store.admit_in_turn(&[], "member", T, None).await;
    assert_eq!(admissions.unwrap(), Vec::<Admission>::new());
    // Anything else needs the server, which is gone.
    assert!(store.ping().await.is_err());
}

/// A counter's key expires, and not before its newest bucket leaves the window: each new bucket
/// sets its lifetime to the window and one bucket more (Redis's clock, not the caller's `now`,
/// counts it down), and events in a bucket that has begun leave with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_key_outlives_its_newest_bucket_and_then_expires() {
    let (store, prefix) = redis_store(&redis_url()).await;
    // An hour in minute buckets.
    let window = [Window::counter("starts", 1_000, 3_600)];
    let mut redis = redis_connection().await;
    let key = format!("{prefix}:{{ip:203.0.113.7}}:starts:tally");
    // Three events in one bucket (a minute), then one in the next.
    for (i, at) in [T, T + 10, T + 20, T + 60].into_iter().enumerate() {
        let member = i.to_string();
        let admission = store.admit("ip:203.0.113.7", &window, &member, at);
        assert!(matches!(
            admission.await.unwrap(),
            Admission::Admitted { .. }
        ));
        let left: i64 = redis::cmd("TTL")
            .arg(&key)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert!(
            (3_600..=3_660).contains(&left),
            "after event {i}: TTL {left}"
        );
    }
}

/// A node whose clock is behind by more than the window records its event in the first bucket
/// Redis still keeps, on top of that bucket's events, and the total stays the buckets' sum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_from_a_clock_behind_the_window_joins_the_first_bucket_kept() {
    let (store, prefix) = redis_store(&redis_url()).await;
    // Ten minutes in buckets of ten seconds.
    let window = [Window::counter("checks", 20, 600)];
    let kept = (T / 10).to_string();
    for (member, at) in [("a", T), ("b", T + 605), ("c", T - 395)] {
        let admission = store.admit(TAG, &window, member, at).await.unwrap();
        assert!(matches!(admission, Admission::Admitted { .. }), "{member}");
    }
    let (fields, in_buckets) = counter_of_tag(&prefix, "checks").await;
    // `a` and `c` in the first bucket kept (`a`'s), `b` in its own.
    assert_eq!(fields[&kept], 2, "{fields:?}");
    assert_eq!(fields["n"], 3, "{fields:?}");
    assert_eq!(in_buckets, 3, "{fields:?}");
}

/// Redis keeps a counter's running total, forgetting only the buckets that left since the last
/// admission: through bursts, quiet minutes, idle gaps longer than the window, nodes whose clocks
/// are behind and withdrawals it answers every admission as the memory store, which counts its
/// buckets afresh each time, and its total is the sum of the buckets it keeps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_counter_keeps_the_memory_stores_count_through_gaps_and_withdrawals() {
    let memory = MemoryEphemeral::new();
    let (redis, prefix) = redis_store(&redis_url()).await;
    let window = [Window::counter("checks", 20, 600)];
    // A fixed pseudo-random walk (xorshift), so a failure replays.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |below: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        i64::try_from(state % below).unwrap()
    };
    let (mut now, mut refusals, mut withdrawals) = (T, 0, 0);
    for step in 0..2_000 {
        now += match next(100) {
            0..=89 => next(5),
            90..=97 => 60 + next(240),
            _ => 700 + next(3_000),
        };
        let member = step.to_string();
        // Now and then a node whose clock is behind, by less than the window.
        let at = if next(20) == 0 { now - next(600) } else { now };
        let expected = memory.admit(TAG, &window, &member, at).await.unwrap();
        let answered = redis.admit(TAG, &window, &member, at).await.unwrap();
        assert_eq!(answered, expected, "step {step} at {at}");
        match answered {
            Admission::Refused { .. } => refusals += 1,
            Admission::Admitted { .. } if next(10) == 0 => {
                let at = now - next(700);
                memory.withdraw(TAG, &window, &member, at).await.unwrap();
                redis.withdraw(TAG, &window, &member, at).await.unwrap();
                withdrawals += 1;
            }
            Admission::Admitted { .. } => {}
        }
    }
    assert!(
        refusals > 100 && withdrawals > 100,
        "{refusals} {withdrawals}"
    );

    let (fields, in_buckets) = counter_of_tag(&prefix, "checks").await;
    assert_eq!(fields["n"], in_buckets);
}

/// A wrong code is a failure, and its lock is set in the same check; a check that is no guess
/// (`on_failure: None`: spending a challenge whose code a provider approved) counts an attempt
/// of the challenge and no failure.
async fn only_a_guess_counts_as_a_failure(backend: Backend) {
    let store = store(backend).await;
    store
        .put_challenge(&new_challenge("right", T))
        .await
        .unwrap();
    let no_guess = CodeAttempt {
        on_failure: None,
        ..attempt("wrong", T)
    };
    assert_eq!(
        store.check_challenge(&no_guess).await.unwrap(),
        CodeCheck::Checked(ChallengeCheck::Rejected { attempts_left: 4 })
    );
    let locked = store.verification_locked_until(TAG, "x", T).await.unwrap();
    assert_eq!(locked, None);

    let guess = CodeAttempt {
        on_failure: Some(lockout(1)),
        ..attempt("wrong", T)
    };
    assert_eq!(
        store.check_challenge(&guess).await.unwrap(),
        CodeCheck::Checked(ChallengeCheck::Rejected { attempts_left: 3 })
    );
    let locked = store.verification_locked_until(TAG, "x", T).await.unwrap();
    assert_eq!(locked, Some(T + 30));
    assert_eq!(
        check(store.as_ref(), "right", T + 1).await,
        CodeCheck::Locked { until: T + 30 }
    );
}
