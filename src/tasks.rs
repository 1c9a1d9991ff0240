//! Background work beside the server (key reloading, sweeps), stopped with it: a task never
//! holds shutdown up for longer than the shutdown deadline.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

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
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            // The first tick is at once; the first run waits a period.
            ticks.tick().await;
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
        // One deadline for all of them, not one each.
        let limit = tokio::time::sleep(deadline);
        tokio::pin!(limit);
        for (name, mut handle) in self.running {
            tokio::select! {
                biased;
                _ = &mut handle => {}
                () = &mut limit => {
                    tracing::warn!(task = name, "background task did not stop in time; aborted");
                    handle.abort();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn tasks_run_periodically_and_a_stuck_task_cannot_hold_up_shutdown() {
        let mut tasks = Tasks::default();
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        tasks.every("counts", Duration::from_millis(10), move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async {}
        });
        tasks.every("stuck", Duration::from_millis(10), || {
            std::future::pending::<()>()
        });
        while runs.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Without the deadline `stop` would wait for the stuck task forever.
        tokio::time::timeout(
            Duration::from_secs(10),
            tasks.stop(Duration::from_millis(100)),
        )
        .await
        .expect("stop returns once its deadline has passed");
    }
}
