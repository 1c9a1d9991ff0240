//! Background work beside the server (key reloading, sweeps), stopped with it: a task never
//! holds shutdown up for longer than the shutdown deadline.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

pub struct Tasks {
    stop: watch::Sender<bool>,
    running: Vec<(&'static str, JoinHandle<()>)>,
}

impl Default for Tasks {
    fn default() -> Self {
        Self {
            stop: watch::Sender::new(false),
            running: Vec::new(),
        }
    }
}

impl Tasks {
    /// Runs `work` every `period` (first after one period) until shutdown. A run under way at
    /// shutdown may finish within the deadline; after that it is aborted.
    pub fn every<F, Fut>(&mut self, name: &'static str, period: Duration, mut work: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut stop = self.stop.subscribe();
        let handle = tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    _ = ticks.tick() => work().await,
                }
            }
        });
        self.running.push((name, handle));
    }

    /// Asks every task to stop and waits for them, at most `deadline` in all.
    pub async fn stop(self, deadline: Duration) {
        let _ = self.stop.send(true);
        let until = Instant::now() + deadline;
        for (name, mut handle) in self.running {
            if tokio::time::timeout_at(until, &mut handle).await.is_err() {
                tracing::warn!(task = name, "background task did not stop in time; aborted");
                handle.abort();
            }
        }
    }
}
