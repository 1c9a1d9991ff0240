//! Group commit on Postgres (docs/performance.md, "Group commit"). A request's few rows cost
//! Postgres several times more as a transaction of their own than as part of a batch: the
//! commit's WAL flush, the statement's set-up and its relation and lock bookkeeping are paid
//! once per batch instead of once per request. So requests queue, and each of [`WORKERS`]
//! workers takes whatever is queued (at most [`MAX_BATCH`]) and runs it as one statement, one
//! transaction. While the other worker's batch is in flight a worker collects for up to
//! [`Batch::COLLECT`] more, so batches grow with the load; with none in flight it runs at once,
//! so a lone request on an idle node never waits. Each caller is answered after the commit that
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
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::time::Instant;

use super::{Result, StoreError};

/// Requests run by one statement at most. Postgres's CPU per login falls steeply up to
/// about 16 and little beyond 32 (docs/performance.md).
const MAX_BATCH: usize = 32;

/// Batches in flight at once: while one waits for its commit, the next is being written.
const WORKERS: usize = 2;

/// How long a batch of writes is collected while the other worker's batch is in flight: 1 ms
/// lifted the mean batch of logins enough to cut Postgres's CPU per login by a third; 3 ms cut
/// it a little further but served fewer logins a second (docs/performance.md, "Group commit").
pub(super) const COLLECT_WRITES: Duration = Duration::from_millis(1);

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

    /// How long a worker collects more requests while the other worker's batch is in flight.
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
        let in_flight = Arc::new(AtomicUsize::new(0));
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

/// One worker: takes what is queued, one request per key, and runs it; a key's second
/// request waits for this worker's next batch.
async fn work<B: Batch>(
    pool: AnyPool,
    receiver: Arc<Mutex<mpsc::Receiver<Queued<B>>>>,
    in_flight: Arc<AtomicUsize>,
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
            if in_flight.load(Ordering::Acquire) > 0 && !B::COLLECT.is_zero() {
                let deadline = Instant::now() + B::COLLECT;
                while taken.len() < MAX_BATCH {
                    match tokio::time::timeout_at(deadline, receiver.recv()).await {
                        Ok(Some(queued)) => taken.push(queued),
                        Ok(None) | Err(_) => break,
                    }
                }
            }
        }
        let (batch, later) = one_per_key(taken);
        carried = later;
        in_flight.fetch_add(1, Ordering::AcqRel);
        run_batch(&pool, batch).await;
        in_flight.fetch_sub(1, Ordering::AcqRel);
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

    /// Rows keyed by their first field.
    struct Pairs;

    impl Batch for Pairs {
        type Row = (String, String);
        type Answer = ();
        const WHAT: &'static str = "pairs";
        const COLLECT: Duration = COLLECT_WRITES;

        fn key(row: &Self::Row) -> &str {
            &row.0
        }

        /// Stores nothing, but lets the other worker run meanwhile, as a statement would;
        /// answers every row.
        async fn run(_: &AnyPool, rows: &[&Self::Row]) -> Result<HashMap<String, ()>> {
            tokio::task::yield_now().await;
            Ok(rows.iter().map(|row| (row.0.clone(), ())).collect())
        }

        fn unanswered() -> Result<()> {
            Err(StoreError::Unavailable("not stored".into()))
        }
    }

    fn queued(key: &str, name: &str) -> Queued<Pairs> {
        let (reply, _) = oneshot::channel();
        let row = (key.to_owned(), name.to_owned());
        Queued { row, reply }
    }

    fn names(queued: &[Queued<Pairs>]) -> Vec<&str> {
        queued.iter().map(|q| q.row.1.as_str()).collect()
    }

    #[test]
    fn a_batch_holds_one_request_per_key_in_key_order() {
        let taken = vec![
            queued("+447700900300", "a"),
            queued("+447700900100", "b"),
            queued("+447700900300", "c"),
            queued("+447700900200", "d"),
            queued("+447700900300", "e"),
        ];
        let (batch, later) = one_per_key(taken);
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
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .connect_lazy("sqlite::memory:")
            .unwrap();
        let commit = GroupCommit::<Pairs>::start(&pool);
        let submitted = (0..16).map(|n| commit.submit(("one key".to_owned(), n.to_string())));
        // Generous: a worker that never stores a carried request fails here.
        let answers = tokio::time::timeout(
            Duration::from_secs(20),
            futures::future::join_all(submitted),
        )
        .await
        .expect("every request is answered");
        assert!(answers.iter().all(Result::is_ok));
    }
}
