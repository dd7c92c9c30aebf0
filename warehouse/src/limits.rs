//! What a query may take: memory, threads, and a place in the queue.
//!
//! One SQL statement could otherwise grow the process until the system kills it, or keep
//! every core busy while the box office waits. [`Engine`] is shared by everything that runs
//! user SQL in a process (the web server): one bounded memory pool (operators that can spill
//! do so to a temporary folder, the others are refused with a clear message), a cap on
//! concurrent queries overall and per user with a short wait before a refusal, and a runtime
//! of its own so queries never run on the threads that answer HTTP requests. A time-out
//! cancels the query's work, not only the wait for it.

use crate::catalog::Table;
use crate::query::{QueryOptions, QueryResult, Warehouse};
use crate::{Result, WarehouseError};
use datafusion::execution::disk_manager::{DiskManager, DiskManagerBuilder};
use datafusion::execution::memory_pool::{FairSpillPool, MemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Limits of the warehouse engine.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Memory all running queries share, in MiB (`PARTERRE_WAREHOUSE_MEMORY_MB`, 1024).
    pub memory_mb: usize,
    /// Queries running at once (`PARTERRE_WAREHOUSE_QUERIES`, 2).
    pub queries: usize,
    /// Queries one user may run at once (`PARTERRE_WAREHOUSE_QUERIES_PER_USER`, 1).
    pub queries_per_user: usize,
    /// How long a query waits for a place before it is refused.
    pub queue_wait: Duration,
    /// Threads that run queries (`PARTERRE_WAREHOUSE_THREADS`, one per core).
    pub threads: usize,
    /// Most disk space spilled operators may use, in MiB.
    pub spill_mb: u64,
    /// Time one query may take (`PARTERRE_WAREHOUSE_TIMEOUT_S`, 30 s); past it, its work stops.
    pub timeout: Duration,
}

fn cores() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(2)
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mb: 1024,
            queries: 2,
            queries_per_user: 1,
            queue_wait: Duration::from_secs(2),
            threads: cores(),
            spill_mb: 10 * 1024,
            timeout: Duration::from_secs(30),
        }
    }
}

fn env_number(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).filter(|n| *n > 0)
}

impl Limits {
    /// The defaults, changed by the `PARTERRE_WAREHOUSE_*` variables that are set.
    pub fn from_env() -> Self {
        let d = Limits::default();
        Limits {
            memory_mb: env_number("PARTERRE_WAREHOUSE_MEMORY_MB").unwrap_or(d.memory_mb),
            queries: env_number("PARTERRE_WAREHOUSE_QUERIES").unwrap_or(d.queries),
            queries_per_user: env_number("PARTERRE_WAREHOUSE_QUERIES_PER_USER").unwrap_or(d.queries_per_user),
            threads: env_number("PARTERRE_WAREHOUSE_THREADS").unwrap_or(d.threads),
            timeout: env_number("PARTERRE_WAREHOUSE_TIMEOUT_S")
                .map(|s| Duration::from_secs(s as u64))
                .unwrap_or(d.timeout),
            ..d
        }
    }

    /// The memory limit as people read it: `1 Go`, `512 Mo`.
    pub fn memory_label(&self) -> String {
        memory_label(self.memory_mb.saturating_mul(1024 * 1024))
    }

    /// A pool of `memory_mb` and a spill folder, shared by the sessions built on them.
    pub fn resources(&self) -> Result<Resources> {
        let bytes = self.memory_mb.saturating_mul(1024 * 1024);
        let pool: Arc<dyn MemoryPool> = Arc::new(TrackConsumersPool::new(
            FairSpillPool::new(bytes),
            NonZeroUsize::new(3).unwrap_or(NonZeroUsize::MIN),
        ));
        let disk = DiskManagerBuilder::default()
            .with_max_temp_directory_size(self.spill_mb.saturating_mul(1024 * 1024))
            .build()?;
        Ok(Resources {
            pool,
            disk: Arc::new(disk),
            memory_bytes: bytes,
        })
    }
}

/// `1 Go`, `512 Mo` for a number of bytes.
pub fn memory_label(bytes: usize) -> String {
    let mb = bytes / (1024 * 1024);
    if mb >= 1024 && mb.is_multiple_of(1024) {
        format!("{} Go", mb / 1024)
    } else {
        format!("{mb} Mo")
    }
}

/// A memory pool and a spill folder.
#[derive(Clone)]
pub struct Resources {
    pool: Arc<dyn MemoryPool>,
    disk: Arc<DiskManager>,
    memory_bytes: usize,
}

impl std::fmt::Debug for Resources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resources").field("memory_bytes", &self.memory_bytes).finish()
    }
}

impl Resources {
    /// A DataFusion runtime on these resources, with caches of its own: one per opened
    /// generation, whose files never change (the memory and the spill folder are what is
    /// shared between generations).
    pub fn runtime_env(&self) -> Result<Arc<RuntimeEnv>> {
        let mut b = RuntimeEnvBuilder::new().with_memory_pool(self.pool.clone());
        b.disk_manager = Some(self.disk.clone());
        Ok(b.build_arc()?)
    }

    /// The memory limit in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }

    /// Bytes reserved right now by running queries.
    pub fn memory_used(&self) -> usize {
        self.pool.reserved()
    }
}

/// A tokio runtime shut down without blocking when dropped (it may be dropped from inside
/// another runtime).
struct Exec(Option<tokio::runtime::Runtime>);

impl Drop for Exec {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// Aborts a spawned query when its caller stops waiting (time-out, client gone).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs user SQL within [`Limits`]. Cheap to share (`Arc` inside); its threads and memory
/// pool are made on the first query.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    limits: Limits,
    started: std::sync::OnceLock<std::result::Result<(Exec, Resources), String>>,
    overall: Arc<Semaphore>,
    users: Mutex<HashMap<String, Arc<Semaphore>>>,
    snapshots: Mutex<HashMap<(PathBuf, Vec<Table>), Snapshot>>,
}

/// A warehouse opened on a generation, served to every query until a newer one is committed.
struct Snapshot {
    /// The newest manifest in the folder when it was opened (the one it reads, or a newer one
    /// that could not be read).
    newest: Option<u64>,
    warehouse: Arc<Warehouse>,
}

/// Folders × table sets whose opened warehouse is kept (a server has one folder and two table
/// sets: with and without the raw events).
const SNAPSHOTS: usize = 4;

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("limits", &self.inner.limits).finish()
    }
}

/// A place taken in the engine (released when dropped).
#[derive(Debug)]
pub struct Admission {
    _user: OwnedSemaphorePermit,
    _overall: OwnedSemaphorePermit,
}

impl Engine {
    /// An engine with `limits`.
    pub fn new(limits: Limits) -> Engine {
        Engine {
            inner: Arc::new(EngineInner {
                started: std::sync::OnceLock::new(),
                overall: Arc::new(Semaphore::new(limits.queries.max(1))),
                users: Mutex::new(HashMap::new()),
                snapshots: Mutex::new(HashMap::new()),
                limits,
            }),
        }
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The query threads and the shared memory pool and spill folder.
    fn started(&self) -> Result<&(Exec, Resources)> {
        let limits = &self.inner.limits;
        self.inner
            .started
            .get_or_init(|| {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(limits.threads.max(1))
                    .thread_name("parterre-sql")
                    .enable_all()
                    .build()
                    .map_err(|e| format!("moteur de requêtes : {e}"))?;
                let resources = limits.resources().map_err(|e| e.to_string())?;
                Ok((Exec(Some(rt)), resources))
            })
            .as_ref()
            .map_err(|e| WarehouseError::Io(e.clone()))
    }

    /// Memory reserved right now by running queries (bytes).
    pub fn memory_used(&self) -> usize {
        self.started().map(|(_, r)| r.memory_used()).unwrap_or(0)
    }

    fn busy(&self) -> WarehouseError {
        let l = &self.inner.limits;
        WarehouseError::Busy(format!(
            "au plus {} à la fois, dont {} par utilisateur",
            l.queries, l.queries_per_user
        ))
    }

    /// Takes a place for `who`, waiting at most the queue wait.
    pub async fn admit(&self, who: &str) -> Result<Admission> {
        let user = {
            let mut users = self.inner.users.lock().unwrap_or_else(|e| e.into_inner());
            users
                .entry(who.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.inner.limits.queries_per_user.max(1))))
                .clone()
        };
        let wait = self.inner.limits.queue_wait;
        let started = tokio::time::Instant::now();
        let user = match tokio::time::timeout(wait, user.acquire_owned()).await {
            Ok(Ok(p)) => p,
            _ => return Err(self.busy()),
        };
        let left = wait.saturating_sub(started.elapsed());
        let overall = match tokio::time::timeout(left, self.inner.overall.clone().acquire_owned()).await {
            Ok(Ok(p)) => p,
            _ => return Err(self.busy()),
        };
        Ok(Admission {
            _user: user,
            _overall: overall,
        })
    }

    /// The warehouse at `root` with `tables`, opened on its newest readable generation: the
    /// one already open while no newer manifest was committed (its small tables stay in memory,
    /// its files' footers and statistics are read once), else opened now.
    pub async fn snapshot(&self, root: &Path, tables: &[Table], resources: &Resources) -> Result<Arc<Warehouse>> {
        let newest = crate::manifest::newest_generation(root);
        let key = (root.to_path_buf(), tables.to_vec());
        let lock = || self.inner.snapshots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = lock().get(&key).filter(|s| s.newest == newest) {
            return Ok(s.warehouse.clone());
        }
        let warehouse = Arc::new(Warehouse::open_in(root, Warehouse::config(), resources, tables).await?);
        let mut snapshots = lock();
        if snapshots.len() >= SNAPSHOTS && !snapshots.contains_key(&key) {
            snapshots.clear();
        }
        snapshots.insert(
            key,
            Snapshot {
                newest,
                warehouse: warehouse.clone(),
            },
        );
        Ok(warehouse)
    }

    /// Opens the warehouse at `root` with `tables` only and runs `sql` within `options`, on
    /// the engine's own threads, once `who` has a place.
    pub async fn query(&self, who: &str, root: &Path, tables: &[Table], sql: &str, options: QueryOptions) -> Result<QueryResult> {
        crate::query::check_read_only(sql)?;
        let _admission = self.admit(who).await?;
        let (exec, resources) = self.started()?;
        let Some(rt) = exec.0.as_ref() else {
            return Err(WarehouseError::Io("moteur de requêtes arrêté".into()));
        };
        let (root, tables, sql): (PathBuf, Vec<Table>, String) = (root.to_path_buf(), tables.to_vec(), sql.to_string());
        let resources = resources.clone();
        let engine = self.clone();
        let mut task = AbortOnDrop(rt.spawn(async move {
            let w = engine.snapshot(&root, &tables, &resources).await?;
            w.query(&sql, options).await
        }));
        // The query times itself out; this is the net should it hang outside DataFusion.
        match tokio::time::timeout(options.timeout + Duration::from_secs(1), &mut task.0).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "requête d'entrepôt interrompue");
                Err(WarehouseError::Io("la requête s'est interrompue (erreur interne consignée)".into()))
            }
            Err(_) => Err(WarehouseError::Timeout(options.timeout.as_secs())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn places_are_counted_per_user_and_overall_and_given_back() {
        let e = Engine::new(Limits {
            queries: 2,
            queries_per_user: 1,
            queue_wait: Duration::from_millis(50),
            ..Limits::default()
        });
        let a = e.admit("1").await.unwrap();
        assert!(matches!(e.admit("1").await, Err(WarehouseError::Busy(_))), "one per user");
        let _b = e.admit("2").await.unwrap();
        let refused = e.admit("3").await.unwrap_err().to_string();
        assert!(refused.contains("trop de requêtes en cours"), "{refused}");
        drop(a);
        assert!(e.admit("3").await.is_ok(), "a place given back is taken");
    }

    /// Queries between two commits share one opened warehouse (its small tables and plans
    /// stay in memory); the first query after a commit opens the new generation.
    #[tokio::test]
    async fn one_warehouse_per_generation_is_shared_and_a_commit_replaces_it() {
        let root = std::env::temp_dir().join(format!("parterre-snapshots-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let e = Engine::new(Limits::default());
        let resources = Limits::default().resources().unwrap();
        let tables = crate::catalog::TABLES.to_vec();
        let mut m = crate::manifest::Manifest::empty().next();
        m.commit(&root, 10).unwrap();
        let a = e.snapshot(&root, &tables, &resources).await.unwrap();
        let b = e.snapshot(&root, &tables, &resources).await.unwrap();
        assert!(Arc::ptr_eq(&a, &b), "same generation, same warehouse");
        let mut m = m.next();
        m.commit(&root, 20).unwrap();
        let c = e.snapshot(&root, &tables, &resources).await.unwrap();
        assert!(!Arc::ptr_eq(&a, &c), "a commit opens the new generation");
        let d = e.snapshot(&root, &tables[..1], &resources).await.unwrap();
        assert!(!Arc::ptr_eq(&c, &d), "another set of tables is another warehouse");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn limits_read_as_people_write_them() {
        assert_eq!(memory_label(1024 * 1024 * 1024), "1 Go");
        assert_eq!(memory_label(64 * 1024 * 1024), "64 Mo");
    }
}
