//! Group commit on Postgres (docs/performance.md, "Group commit"). A request's few rows cost
//! Postgres several times more as a transaction of their own than as part of a batch: the
//! commit's WAL flush, the statement's set-up and its relation and lock bookkeeping are paid
//! once per batch instead of once per request. So requests queue, and each of [`WORKERS`]
//! workers takes whatever is queued (at most [`MAX_BATCH`]) and runs it as one statement, one
//! transaction. While the other worker's batch is in flight a worker collects until that batch
//! commits (for at most [`Batch::COLLECT`]), so batches grow with the load and the next one
//! starts as soon as the last one is done; with none in flight it runs at once, so a lone
//! request on an idle node never waits. Each caller is answered after the commit that
//! holds its rows. A batch that fails is retried one request at a time, so a row that cannot be
//! written fails its own request and no other.
//!
//! What is batched: logins (`login_batch.rs`) and refresh rotations (`rotation.rs`), and one
//! read, the state of access tokens (`access_state_batch.rs`), which every introspection and
//! `/v1/me` makes: a statement's set-up is most of what a one-row read costs Postgres.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;
use sqlx::AnyPool;
use tokio::sync::{Mutex, Notify, mpsc, oneshot};
use tokio::time::Instant;

use super::{Result, StoreError};

/// Requests run by one statement at most. Postgres's CPU per login falls steeply up to
/// about 16 and little beyond 32 (docs/performance.md).
const MAX_BATCH: usize = 32;

/// Batches in flight at once: while one waits for its commit, the next is being written.
const WORKERS: usize = 2;

/// How long at most a batch of writes is collected while the other worker's batch is in flight.
/// Collecting until that batch commits served 3 to 8 % more logins a second than a fixed 1 ms
/// window, which kept the cores waiting after a quicker commit, for 7 to 14 % more Postgres CPU
/// per login; the bound only matters when a commit is slow (docs/performance.md, "Collecting
/// until the batch in flight commits").
pub(super) const COLLECT_WRITES: Duration = Duration::from_millis(3);

/// Requests waiting for a worker before callers wait to queue (back-pressure under overload).
const QUEUE: usize = 1_024;

/// One kind of request run by group commit: its rows and the statement that runs a batch.
pub(super) trait Batch: Send + Sync + 'static {
    /// One request's rows, as the batch statement reads them.
    type Row: Send + Sync + 'static;
    /// What a request gets back once its batch has committed.
    type Answer: Send + 'static;

    /// What is stored or read, for the error a caller gets once the workers have stopped.
    const WHAT: &'static str;

    /// How long at most a worker collects more requests while the other worker's batch is in
    /// flight (zero: it never waits).
    const COLLECT: Duration;

    /// Requests with the same key never share a statement: the later one waits for the next
    /// batch. A batch is run in key order, so batches in flight together take their locks in
    /// one order.
    fn key(row: &Self::Row) -> &str;

    /// Runs `rows` (distinct keys) as one statement and transaction; returns what each row
    /// gets, by key.
    fn run(
        pool: &AnyPool,
        rows: &[&Self::Row],
    ) -> impl Future<Output = Result<HashMap<String, Self::Answer>>> + Send;

    /// The answer for a row that [`Batch::run`] returned nothing for.
    fn unanswered() -> Result<Self::Answer>;
}

/// `rows` as the JSON array a batch statement reads with `json_to_recordset`.
pub(super) fn json_rows<T: Serialize>(rows: &[&T]) -> Result<String> {
    serde_json::to_string(rows)
        .map_err(|err| StoreError::Database(sqlx::Error::Encode(Box::new(err))))
}

/// A queued request and where its answer goes.
struct Queued<B: Batch> {
    row: B::Row,
    reply: oneshot::Sender<Result<B::Answer>>,
}

/// The queue of requests waiting for a batch, and its workers (which end once every clone of
/// the queue is dropped).
pub(super) struct GroupCommit<B: Batch> {
    queue: mpsc::Sender<Queued<B>>,
}

impl<B: Batch> Clone for GroupCommit<B> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<B: Batch> GroupCommit<B> {
    /// Starts the workers on `pool`.
    pub(super) fn start(pool: &AnyPool) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let receiver = Arc::new(Mutex::new(receiver));
        let in_flight = Arc::new(InFlight::default());
        for _ in 0..WORKERS {
            tokio::spawn(work::<B>(
                pool.clone(),
                Arc::clone(&receiver),
                Arc::clone(&in_flight),
            ));
        }
        Self { queue }
    }

    /// Runs `row` with the next batch and answers once that batch has committed.
    pub(super) async fn submit(&self, row: B::Row) -> Result<B::Answer> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Queued { row, reply })
            .await
            .map_err(|_| stopped::<B>())?;
        answer.await.map_err(|_| stopped::<B>())?
    }
}

fn stopped<B: Batch>() -> StoreError {
    StoreError::Unavailable(format!("the batches of {} have stopped", B::WHAT))
}

/// The workers' batches in flight, and the signal that one of them has committed.
#[derive(Default)]
struct InFlight {
    batches: AtomicUsize,
    committed: Notify,
}

/// One worker: takes what is queued, one request per key, and runs it; a key's second
/// request waits for this worker's next batch.
async fn work<B: Batch>(
    pool: AnyPool,
    receiver: Arc<Mutex<mpsc::Receiver<Queued<B>>>>,
    in_flight: Arc<InFlight>,
) {
    let mut carried: Vec<Queued<B>> = Vec::new();
    loop {
        let mut taken = std::mem::take(&mut carried);
        // The other worker may hold the queue while it waits for a request: with requests
        // carried over, this one does not wait for it (they would wait with it), and runs
        // them with whatever else is queued if it gets the queue at once.
        let receiver = if taken.is_empty() {
            Some(receiver.lock().await)
        } else {
            receiver.try_lock().ok()
        };
        if let Some(mut receiver) = receiver {
            if taken.is_empty() {
                match receiver.recv().await {
                    Some(queued) => taken.push(queued),
                    None => return,
                }
            }
            while taken.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(queued) => taken.push(queued),
                    Err(_) => break,
                }
            }
            if !B::COLLECT.is_zero() {
                collect_while_in_flight(&mut receiver, &mut taken, &in_flight).await;
            }
        }
        let (batch, later) = one_per_key(taken);
        carried = later;
        in_flight.batches.fetch_add(1, Ordering::AcqRel);
        run_batch(&pool, batch).await;
        in_flight.batches.fetch_sub(1, Ordering::AcqRel);
        in_flight.committed.notify_waiters();
    }
}

/// Adds to `taken` what arrives while another batch is in flight, until that batch has
/// committed, `taken` is full or [`Batch::COLLECT`] has passed. With none in flight it returns
/// at once.
async fn collect_while_in_flight<B: Batch>(
    receiver: &mut mpsc::Receiver<Queued<B>>,
    taken: &mut Vec<Queued<B>>,
    in_flight: &InFlight,
) {
    // Listening before looking: a commit between the look and the wait still wakes it.
    let committed = in_flight.committed.notified();
    tokio::pin!(committed);
    committed.as_mut().enable();
    if in_flight.batches.load(Ordering::Acquire) == 0 {
        return;
    }
    let deadline = Instant::now() + B::COLLECT;
    while taken.len() < MAX_BATCH {
        tokio::select! {
            // A commit that has happened ends the wait even if requests are still arriving.
            biased;
            () = &mut committed => return,
            arrived = tokio::time::timeout_at(deadline, receiver.recv()) => match arrived {
                Ok(Some(queued)) => taken.push(queued),
                Ok(None) | Err(_) => return,
            },
        }
    }
}

/// Splits `taken` into a batch with one request per key, in key order, and the later requests
/// of keys already in it (in the order they came).
fn one_per_key<B: Batch>(taken: Vec<Queued<B>>) -> (Vec<Queued<B>>, Vec<Queued<B>>) {
    let mut keys = HashSet::new();
    let (mut batch, later): (Vec<Queued<B>>, Vec<Queued<B>>) = taken
        .into_iter()
        .partition(|queued| keys.insert(B::key(&queued.row).to_owned()));
    batch.sort_by(|a, b| B::key(&a.row).cmp(B::key(&b.row)));
    (batch, later)
}

/// Runs `batch` as one statement and answers each request; after a failure that is not the
/// database's absence, each request is tried on its own.
async fn run_batch<B: Batch>(pool: &AnyPool, batch: Vec<Queued<B>>) {
    let rows: Vec<&B::Row> = batch.iter().map(|queued| &queued.row).collect();
    match B::run(pool, &rows).await {
        Ok(mut answers) => {
            for queued in batch {
                let _ = queued.reply.send(take::<B>(&mut answers, &queued.row));
            }
        }
        Err(StoreError::Unavailable(why)) => {
            for queued in batch {
                let _ = queued.reply.send(Err(StoreError::Unavailable(why.clone())));
            }
        }
        Err(err) if batch.len() == 1 => {
            if let Some(queued) = batch.into_iter().next() {
                let _ = queued.reply.send(Err(err));
            }
        }
        Err(_) => {
            for queued in batch {
                let alone = B::run(pool, &[&queued.row]).await;
                let answer = alone.and_then(|mut answers| take::<B>(&mut answers, &queued.row));
                let _ = queued.reply.send(answer);
            }
        }
    }
}

/// What `row` got from the statement that ran its batch.
fn take<B: Batch>(answers: &mut HashMap<String, B::Answer>, row: &B::Row) -> Result<B::Answer> {
    match answers.remove(B::key(row)) {
        Some(answer) => Ok(answer),
        None => B::unanswered(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where a test's batches are recorded: their rows' names, when each started and committed.
    type Log = Arc<std::sync::Mutex<Vec<(String, Instant, Instant)>>>;

    /// A request of [`Requests`]: its batch's commit takes the longest `takes` of the batch,
    /// and the batch is recorded in its first row's `log`.
    struct Request {
        key: String,
        name: String,
        takes: Duration,
        log: Log,
    }

    /// Stores nothing, but lets the other worker run meanwhile, as a statement would; answers
    /// every row.
    struct Requests;

    impl Batch for Requests {
        type Row = Request;
        type Answer = ();
        const WHAT: &'static str = "requests";
        const COLLECT: Duration = COLLECT_WRITES;

        fn key(row: &Self::Row) -> &str {
            &row.key
        }

        async fn run(_: &AnyPool, rows: &[&Self::Row]) -> Result<HashMap<String, ()>> {
            let started = Instant::now();
            tokio::task::yield_now().await;
            let takes = rows.iter().map(|row| row.takes).max().unwrap_or_default();
            tokio::time::sleep(takes).await;
            if let Some(first) = rows.first() {
                let names: Vec<&str> = rows.iter().map(|row| row.name.as_str()).collect();
                let record = (names.join(" "), started, Instant::now());
                first.log.lock().unwrap().push(record);
            }
            Ok(rows.iter().map(|row| (row.key.clone(), ())).collect())
        }

        fn unanswered() -> Result<()> {
            Err(StoreError::Unavailable("not stored".into()))
        }
    }

    fn request(key: &str, name: &str, takes: Duration, log: &Log) -> Request {
        let (key, name, log) = (key.to_owned(), name.to_owned(), Arc::clone(log));
        Request {
            key,
            name,
            takes,
            log,
        }
    }

    fn start() -> GroupCommit<Requests> {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .connect_lazy("sqlite::memory:")
            .unwrap();
        GroupCommit::start(&pool)
    }

    #[test]
    fn a_batch_holds_one_request_per_key_in_key_order() {
        let log = Log::default();
        let queued = |key: &str, name: &str| {
            let (reply, _) = oneshot::channel();
            let row = request(key, name, Duration::ZERO, &log);
            Queued { row, reply }
        };
        let taken = vec![
            queued("+447700900300", "a"),
            queued("+447700900100", "b"),
            queued("+447700900300", "c"),
            queued("+447700900200", "d"),
            queued("+447700900300", "e"),
        ];
        let (batch, later) = one_per_key(taken);
        let names = |queued: &[Queued<Requests>]| -> Vec<String> {
            queued.iter().map(|q| q.row.name.clone()).collect()
        };
        assert_eq!(names(&batch), ["b", "d", "a"]);
        // The key's later requests keep their order for the next batch.
        assert_eq!(names(&later), ["c", "e"]);
    }

    /// Requests of one key are stored one batch after another, by whichever worker carries
    /// them, with nothing else arriving meanwhile. On one thread the order is fixed: all 16 are
    /// queued before a worker runs; the first takes them and stores one, and while it stores,
    /// the second takes the queue and waits on it for a request that never comes.
    #[tokio::test]
    async fn requests_of_one_key_are_all_answered_when_no_others_come() {
        let commit = start();
        let log = Log::default();
        let submitted = (0..16)
            .map(|n| commit.submit(request("one key", &n.to_string(), Duration::ZERO, &log)));
        // Generous: a worker that never stores a carried request fails here.
        let answers = tokio::time::timeout(
            Duration::from_secs(20),
            futures::future::join_all(submitted),
        )
        .await
        .expect("every request is answered");
        assert!(answers.iter().all(Result::is_ok));
        assert_eq!(
            log.lock().unwrap().len(),
            16,
            "one batch per request of the key"
        );
    }

    /// A request that comes while a batch is in flight is stored right after that batch
    /// commits: not before (a fixed 1 ms window ran it alongside a 3 ms commit), and not later
    /// (the 3 ms bound is not waited out). With a commit slower than the bound, it waits the
    /// bound and no longer. On a paused clock, so the times are exact milliseconds.
    #[tokio::test(start_paused = true)]
    async fn a_request_during_a_commit_is_stored_when_that_commit_ends() {
        let commit = start();
        let log = Log::default();
        let begun = Instant::now();
        let submit = |name: &str, takes_ms: u64| {
            let commit = commit.clone();
            let row = request(name, name, Duration::from_millis(takes_ms), &log);
            tokio::spawn(async move { commit.submit(row).await })
        };
        // "a" is stored alone (nothing in flight), "b" comes 1 ms into its 3 ms commit.
        let first = submit("a", 3);
        tokio::time::sleep(Duration::from_millis(1)).await;
        let second = submit("b", 5);
        assert!(first.await.unwrap().is_ok());
        // "c" comes as "a" commits; "b" commits slowly (5 ms), so "c" waits the bound only.
        let third = submit("c", 1);
        assert!(second.await.unwrap().is_ok() && third.await.unwrap().is_ok());

        let at = |instant: &Instant| instant.duration_since(begun).as_millis();
        let mut times: Vec<(String, u128, u128)> = log
            .lock()
            .unwrap()
            .iter()
            .map(|(names, started, ended)| (names.clone(), at(started), at(ended)))
            .collect();
        times.sort_by_key(|&(_, started, _)| started);
        let expected = [("a", 0, 3), ("b", 3, 8), ("c", 6, 7)]
            .map(|(name, started, ended)| (name.to_owned(), started, ended));
        assert_eq!(times, expected);
    }
}
