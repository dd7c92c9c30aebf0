//! Password hashing on a small fixed pool of threads, so a flood of logins cannot grow the server.
//!
//! One argon2id check takes 19 MiB and tens of milliseconds of a core. Left to tokio's
//! blocking pool (up to 512 threads, each keeping its allocator arena), 200 parallel login
//! attempts took 3.1 GB that was never given back. Here [`HASHING_THREADS`] threads of our own
//! do every hash, at most [`MAX_WAITING`] more jobs wait their turn, and anything beyond is
//! refused at once ([`CoreError::Busy`], 503) rather than queued without bound. A job keeps
//! its place until its hash is done, even if the request that asked for it has gone.

use crate::error::{CoreError, Result};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};

/// Hashes running at once (threads of the pool).
pub const HASHING_THREADS: usize = 2;
/// Hashes waiting for a thread before new ones are refused.
pub const MAX_WAITING: usize = 64;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of hashing threads with a bounded queue. The threads end when the pool is dropped.
#[derive(Debug)]
pub struct HashPool {
    queue: Option<SyncSender<Job>>,
    in_flight: Arc<AtomicUsize>,
}

/// Counts a job out when it ends, however it ends.
struct Place(Arc<AtomicUsize>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn work(jobs: Arc<Mutex<Receiver<Job>>>) {
    loop {
        // The lock is held only while waiting for the next job, not while running it.
        let next = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match next {
            // A panicking job loses its answer (the caller gets an error), not the thread.
            Ok(job) => {
                let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

impl HashPool {
    /// A pool of `threads` threads, with `waiting` more jobs queued at most.
    pub fn new(threads: usize, waiting: usize) -> Arc<Self> {
        let (tx, rx) = sync_channel::<Job>(waiting);
        let rx = Arc::new(Mutex::new(rx));
        let mut started = 0;
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            match std::thread::Builder::new().name(format!("argon2-{i}")).spawn(move || work(rx)) {
                Ok(_) => started += 1,
                Err(e) => tracing::error!(error = %e, "fil de hachage non démarré"),
            }
        }
        Arc::new(HashPool {
            queue: (started > 0).then_some(tx),
            in_flight: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The process-wide pool every store shares.
    pub fn global() -> Arc<Self> {
        static POOL: OnceLock<Arc<HashPool>> = OnceLock::new();
        POOL.get_or_init(|| HashPool::new(HASHING_THREADS, MAX_WAITING)).clone()
    }

    /// Jobs running or waiting.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Runs `job` on one of the pool's threads, or refuses at once when too many wait.
    pub async fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let Some(queue) = &self.queue else {
            return Err(CoreError::Internal("aucun fil de hachage disponible".into()));
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let place = Place(self.in_flight.clone());
        let boxed: Job = Box::new(move || {
            let out = job();
            drop(place);
            let _ = tx.send(out);
        });
        match queue.try_send(boxed) {
            Ok(()) => {}
            // The job (and its place) is dropped with the error.
            Err(TrySendError::Full(_)) => return Err(CoreError::Busy("serveur occupé, réessayez dans un instant".into())),
            Err(TrySendError::Disconnected(_)) => return Err(CoreError::Internal("fils de hachage arrêtés".into())),
        }
        rx.await.map_err(|_| CoreError::Internal("hachage interrompu".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn at_most_the_pool_runs_and_the_rest_is_refused_at_once() {
        let pool = HashPool::new(2, 3);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut jobs = Vec::new();
        for _ in 0..20 {
            let (pool, running, peak) = (pool.clone(), running.clone(), peak.clone());
            jobs.push(tokio::spawn(async move {
                pool.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(50));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }));
        }
        let mut done = 0;
        let mut busy = 0;
        for j in jobs {
            match j.await.unwrap() {
                Ok(()) => done += 1,
                Err(CoreError::Busy(_)) => busy += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(peak.load(Ordering::SeqCst) <= 2, "never more than 2 at once");
        assert!((2..=5).contains(&done), "{done} ran");
        assert_eq!(done + busy, 20);
        assert_eq!(pool.in_flight(), 0, "every place is given back");
        // Once the queue is empty, work is accepted again.
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
    }
}
