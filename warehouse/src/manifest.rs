//! The manifest: the warehouse's commit point.
//!
//! Parquet files are written once under a name of their own (`part-<generation>.parquet`) and
//! never rewritten. A pipeline step that changes the warehouse writes its new files, then
//! commits one new generation: `_manifest/<generation>.json`, written to a hidden file, flushed
//! and renamed (atomic). It lists, per table, the live files with their season, row count, size,
//! the range of event seqs whose effects they hold and the range of their lookup keys. What is
//! not in the newest manifest does not exist for a reader: files written by a step that never
//! committed are deleted at the next start, files a commit superseded move at once to
//! `_history/` (same relative path) and are deleted after a grace period, so that a query
//! planned on the generation before still finds them ([`crate::store`]).
//!
//! A reader takes the newest manifest that parses and whose files are all there with their
//! size ([`Manifest::readable`]); the pipeline takes the newest one and stops, naming it, when
//! it does not parse ([`Manifest::latest`]).

use crate::catalog::{Table, TABLES};
use crate::{Result, WarehouseError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Version of the manifest's format.
/// 2: the coded columns and the venue's labels (`labels`). A warehouse of an older format is
/// rebuilt from the log (`parterre pipeline rebuild`).
pub const FORMAT: u32 = 2;
/// Folder of the manifests, under the warehouse root.
pub const MANIFEST_DIR: &str = "_manifest";
/// Folder where superseded files wait out the grace period, under the warehouse root.
pub const HISTORY_DIR: &str = "_history";
/// How long a superseded file stays readable in `_history/` (longer than the longest query).
pub const DEFAULT_GRACE: Duration = Duration::from_secs(600);
/// Manifests kept whatever their age (the newest ones), so a reader can fall back on the one
/// before a damaged manifest.
const KEEP_MANIFESTS: usize = 3;

/// One live file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path under the warehouse root, `/`-separated: `fact_ticket/season=2026-2027/part-000000000042.parquet`.
    pub path: String,
    /// The season partition it belongs to.
    pub season: String,
    /// Rows in the file.
    pub rows: u64,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// The first and last event seqs whose effects the file holds.
    pub seqs: (i64, i64),
    /// Smallest and largest value of each of the table's lookup keys ([`Table::key_columns`]):
    /// a lookup by id reads only the files whose range holds it.
    #[serde(default)]
    pub keys: BTreeMap<String, (i64, i64)>,
}

impl FileEntry {
    /// Can the file hold a row whose `key` is `value`?
    pub fn may_hold(&self, key: &str, value: i64) -> bool {
        self.keys.get(key).is_some_and(|(lo, hi)| *lo <= value && value <= *hi)
    }
}

/// The live files of one table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableFiles {
    /// Rows over all files.
    pub rows: u64,
    /// First and last event seq held by any file (`None` for an empty table).
    pub seqs: Option<(i64, i64)>,
    /// The files.
    pub files: Vec<FileEntry>,
}

/// One committed generation of the warehouse.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// Number of this generation (1, 2, …; 0 is the empty warehouse before any commit).
    pub generation: u64,
    /// Last event whose effects the generation holds.
    pub last_seq: i64,
    /// When it was committed (RFC 3339, UTC).
    pub committed_at: String,
    /// The projection's reference data (seasons, halls, price categories…), a file under
    /// `_refs/`, if any: what the pipeline needs to project and no table holds.
    pub refs: Option<String>,
    /// Live files per table name.
    pub tables: BTreeMap<String, TableFiles>,
    /// The venue's own labels of coded columns, per label table (`price_category`): code →
    /// label ([`crate::codes`]; the closed lists' codes are fixed in the code).
    #[serde(default)]
    pub labels: BTreeMap<String, BTreeMap<i64, String>>,
}

fn io(what: &Path, e: impl std::fmt::Display) -> WarehouseError {
    WarehouseError::Io(format!("{} : {e}", what.display()))
}

/// `_manifest/<generation>.json` under `root`.
pub fn manifest_path(root: &Path, generation: u64) -> PathBuf {
    root.join(MANIFEST_DIR).join(format!("{generation:012}.json"))
}

/// Where a file of the warehouse (`path` under the root) lives now: in place, or in
/// `_history/` once a newer generation superseded it.
pub fn resolve(root: &Path, path: &str) -> PathBuf {
    let live = root.join(path);
    if live.exists() {
        live
    } else {
        root.join(HISTORY_DIR).join(path)
    }
}

/// The generations that have a manifest file, newest first.
fn generations(root: &Path) -> Vec<u64> {
    let mut out: Vec<u64> = std::fs::read_dir(root.join(MANIFEST_DIR))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json")?.parse().ok())
        .collect();
    out.sort_unstable_by(|a, b| b.cmp(a));
    out
}

/// The newest generation that has a manifest file (readable or not), from the folder's names
/// alone: what tells a reader that a newer generation was committed.
pub fn newest_generation(root: &Path) -> Option<u64> {
    generations(root).first().copied()
}

fn parse(path: &Path) -> Result<Manifest> {
    let text = std::fs::read(path).map_err(|e| io(path, e))?;
    let m: Manifest = serde_json::from_slice(&text).map_err(|e| io(path, format!("manifeste illisible : {e}")))?;
    if m.format != FORMAT {
        return Err(io(
            path,
            format!(
                "format de manifeste {} inconnu (attendu {FORMAT}) : reconstruisez l'entrepôt avec `parterre pipeline rebuild`",
                m.format
            ),
        ));
    }
    Ok(m)
}

/// Is the newest manifest of a format older than [`FORMAT`] (a warehouse to rebuild)?
pub fn outdated(root: &Path) -> bool {
    #[derive(Deserialize)]
    struct Head {
        format: u32,
    }
    generations(root)
        .first()
        .and_then(|g| std::fs::read(manifest_path(root, *g)).ok())
        .and_then(|b| serde_json::from_slice::<Head>(&b).ok())
        .is_some_and(|h| h.format < FORMAT)
}

impl Manifest {
    /// The newest manifest, for the pipeline: `None` when nothing was ever committed, an error
    /// naming the file when it cannot be read (the pipeline must not build on a guess).
    pub fn latest(root: &Path) -> Result<Option<Manifest>> {
        match generations(root).first() {
            None => Ok(None),
            Some(g) => parse(&manifest_path(root, *g)).map(Some),
        }
    }

    /// The newest manifest a reader can trust: it parses, and each of its files is there
    /// (in place or in `_history/`) with the size it lists. An unusable newer one is skipped
    /// with a warning; the empty manifest when none is usable.
    pub fn readable(root: &Path) -> Manifest {
        for g in generations(root) {
            let path = manifest_path(root, g);
            match parse(&path).and_then(|m| m.check_files(root).map(|()| m)) {
                Ok(m) => return m,
                Err(e) => tracing::warn!("entrepôt : génération {g} ignorée : {e}"),
            }
        }
        Manifest::empty()
    }

    /// The manifest of a warehouse where nothing was committed.
    pub fn empty() -> Manifest {
        Manifest {
            format: FORMAT,
            ..Default::default()
        }
    }

    /// Every file is present with its size.
    pub fn check_files(&self, root: &Path) -> Result<()> {
        for f in self.files() {
            // One look at each file where it most likely is (in place), `_history/` after.
            let live = root.join(&f.path);
            let (p, meta) = match std::fs::metadata(&live) {
                Ok(m) => (live, Ok(m)),
                Err(_) => {
                    let moved = root.join(HISTORY_DIR).join(&f.path);
                    let m = std::fs::metadata(&moved);
                    (moved, m)
                }
            };
            let len = meta.map_err(|e| io(&p, e))?.len();
            if len != f.bytes {
                return Err(io(&p, format!("{len} octets au lieu des {} du manifeste", f.bytes)));
            }
        }
        Ok(())
    }

    /// Every live file, all tables.
    pub fn files(&self) -> impl Iterator<Item = &FileEntry> {
        self.tables.values().flat_map(|t| t.files.iter())
    }

    /// The live files of `table`.
    pub fn table(&self, table: Table) -> &[FileEntry] {
        self.tables.get(table.name()).map(|t| t.files.as_slice()).unwrap_or(&[])
    }

    /// The live files of `table` in `season`.
    pub fn partition<'a>(&'a self, table: Table, season: &'a str) -> impl Iterator<Item = &'a FileEntry> + 'a {
        self.table(table).iter().filter(move |f| f.season == season)
    }

    /// The next generation, to be filled and committed: same files, generation + 1.
    pub fn next(&self) -> Manifest {
        Manifest {
            format: FORMAT,
            generation: self.generation + 1,
            ..self.clone()
        }
    }

    /// Replaces the files of `table` in `season` with `file` (none: the partition is gone).
    /// Returns the paths superseded.
    pub fn replace_partition(&mut self, table: Table, season: &str, file: Option<FileEntry>) -> Vec<String> {
        let t = self.tables.entry(table.name().to_string()).or_default();
        let (gone, kept): (Vec<FileEntry>, Vec<FileEntry>) = std::mem::take(&mut t.files).into_iter().partition(|f| f.season == season);
        t.files = kept;
        t.files.extend(file);
        gone.into_iter().map(|f| f.path).collect()
    }

    /// Adds `file` to `table` (append-only tables).
    pub fn add(&mut self, table: Table, file: FileEntry) {
        self.tables.entry(table.name().to_string()).or_default().files.push(file);
    }

    /// Replaces the files `paths` of `table` by `file` (a compaction, or a purge that left
    /// rows), or removes them (`None`). Returns the paths superseded.
    pub fn swap(&mut self, table: Table, paths: &[String], file: Option<FileEntry>) -> Vec<String> {
        let t = self.tables.entry(table.name().to_string()).or_default();
        t.files.retain(|f| !paths.contains(&f.path));
        t.files.extend(file);
        paths.to_vec()
    }

    /// Writes this generation's manifest: hidden file, flushed, renamed, folder flushed. Once
    /// this returns, readers opening the warehouse see exactly these files.
    pub fn commit(&mut self, root: &Path, last_seq: i64) -> Result<()> {
        self.last_seq = last_seq;
        self.committed_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        for t in self.tables.values_mut() {
            t.files.sort_by(|a, b| (&a.season, &a.path).cmp(&(&b.season, &b.path)));
            t.rows = t.files.iter().map(|f| f.rows).sum();
            t.seqs = t.files.iter().map(|f| f.seqs).reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)));
        }
        self.tables.retain(|_, t| !t.files.is_empty());
        let target = manifest_path(root, self.generation);
        let json = serde_json::to_vec_pretty(self).map_err(|e| io(&target, e))?;
        write_atomic(&target, &json)
    }
}

/// Writes `bytes` to `target` through a hidden file flushed and renamed, then flushes the folder.
pub fn write_atomic(target: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = File::create(&tmp).map_err(|e| io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| io(&tmp, e))?;
    f.sync_all().map_err(|e| io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, target).map_err(|e| io(target, e))?;
    sync_dir(dir)
}

/// Makes a rename or a removal in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, e))
}

/// Moves superseded files (paths under `root`) to `_history/`, dated now for the grace period.
pub fn retire(root: &Path, paths: &[String]) -> Result<()> {
    let mut dirs = std::collections::BTreeSet::new();
    for p in paths {
        let from = root.join(p);
        if !from.exists() {
            continue;
        }
        let to = root.join(HISTORY_DIR).join(p);
        let dir = to.parent().unwrap_or(root);
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        std::fs::rename(&from, &to).map_err(|e| io(&from, e))?;
        if let Ok(f) = File::options().write(true).open(&to) {
            let _ = f.set_modified(SystemTime::now());
        }
        dirs.insert(from.parent().unwrap_or(root).to_path_buf());
        dirs.insert(dir.to_path_buf());
    }
    for d in dirs {
        sync_dir(&d)?;
    }
    Ok(())
}

/// The generation in a file name `part-<generation>.parquet`.
pub fn file_generation(name: &str) -> Option<u64> {
    name.strip_prefix("part-")?.strip_suffix(".parquet")?.parse().ok()
}

/// Brings the folder in line with `current` (the newest manifest, at start-up): files of a
/// step that never committed (newer generation, or leftovers of writes) are deleted, files a
/// committed generation superseded but that are still in place move to `_history/`.
/// Returns how many files were deleted and moved.
pub fn settle(root: &Path, current: &Manifest) -> Result<(usize, usize)> {
    let live: std::collections::HashSet<&str> = current.files().map(|f| f.path.as_str()).collect();
    let (mut deleted, mut moved) = (0, 0);
    let mut retired = Vec::new();
    for t in TABLES {
        for season_dir in std::fs::read_dir(root.join(t.name())).into_iter().flatten().flatten() {
            let Some(season) = season_dir.file_name().to_str().map(str::to_string) else {
                continue;
            };
            for e in std::fs::read_dir(season_dir.path()).into_iter().flatten().flatten() {
                let Some(name) = e.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                let rel = format!("{}/{season}/{name}", t.name());
                if live.contains(rel.as_str()) {
                    continue;
                }
                match file_generation(&name) {
                    Some(g) if g <= current.generation => retired.push(rel),
                    _ => {
                        std::fs::remove_file(e.path()).map_err(|err| io(&e.path(), err))?;
                        deleted += 1;
                    }
                }
            }
        }
    }
    // Leftovers of manifest writes, and reference files of generations that never committed.
    for e in std::fs::read_dir(root.join(MANIFEST_DIR)).into_iter().flatten().flatten() {
        if e.file_name().to_string_lossy().starts_with('.') && std::fs::remove_file(e.path()).is_ok() {
            deleted += 1;
        }
    }
    for e in std::fs::read_dir(root.join(REFS_DIR)).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let generation = refs_generation(&name);
        if generation.is_none_or(|g| g > current.generation) && std::fs::remove_file(e.path()).is_ok() {
            deleted += 1;
        }
    }
    moved += retired.len();
    retire(root, &retired)?;
    Ok((deleted, moved))
}

/// Folder of the projection's reference data files, under the warehouse root.
pub const REFS_DIR: &str = "_refs";

/// `_refs/refs-<generation>.json`: the path (under the root) of the reference data written
/// by `generation`.
pub fn refs_path(generation: u64) -> String {
    format!("{REFS_DIR}/refs-{generation:012}.json")
}

fn refs_generation(name: &str) -> Option<u64> {
    name.strip_prefix("refs-")?.strip_suffix(".json")?.parse().ok()
}

/// Deletes what the grace period no longer protects: files in `_history/` moved there longer
/// than `grace` ago, manifests older than `grace` (the newest few always stay), reference
/// files older than the one the oldest kept manifest names. Returns the files deleted.
pub fn sweep(root: &Path, grace: Duration) -> usize {
    let now = SystemTime::now();
    let old = |p: &Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).unwrap_or_default() > grace)
    };
    let mut gone = 0;
    let mut stack = vec![root.join(HISTORY_DIR)];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if old(&p) && std::fs::remove_file(&p).is_ok() {
                gone += 1;
            }
        }
    }
    // A manifest names the reference data its own generation or an earlier one wrote, so the
    // manifests kept name no reference file older than the one the oldest of them names:
    // that one manifest is read, not all of them (after a catch-up there are hundreds).
    let mut kept = Vec::new();
    for (i, g) in generations(root).into_iter().enumerate() {
        let p = manifest_path(root, g);
        if i >= KEEP_MANIFESTS && old(&p) {
            if std::fs::remove_file(&p).is_ok() {
                gone += 1;
            }
        } else {
            kept.push(g);
        }
    }
    let floor = kept
        .last()
        .and_then(|g| parse(&manifest_path(root, *g)).ok())
        .and_then(|m| m.refs)
        .and_then(|r| refs_generation(r.strip_prefix(&format!("{REFS_DIR}/"))?));
    if let Some(floor) = floor {
        for e in std::fs::read_dir(root.join(REFS_DIR)).into_iter().flatten().flatten() {
            let older = refs_generation(&e.file_name().to_string_lossy()).is_some_and(|g| g < floor);
            if older && std::fs::remove_file(e.path()).is_ok() {
                gone += 1;
            }
        }
    }
    gone
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("parterre-manifest-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn entry(root: &Path, path: &str, season: &str, body: &[u8]) -> FileEntry {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, body).unwrap();
        FileEntry {
            path: path.into(),
            season: season.into(),
            rows: 1,
            bytes: body.len() as u64,
            seqs: (1, 1),
            keys: BTreeMap::from([("ticket_id".to_string(), (10, 20))]),
        }
    }

    #[test]
    fn a_reader_falls_back_on_the_last_generation_whose_files_are_all_there() {
        let root = scratch("fallback");
        let mut g1 = Manifest::empty().next();
        g1.replace_partition(
            Table::FactTicket,
            "2026-2027",
            Some(entry(
                &root,
                "fact_ticket/season=2026-2027/part-000000000001.parquet",
                "2026-2027",
                b"one",
            )),
        );
        g1.commit(&root, 5).unwrap();
        let mut g2 = g1.next();
        let gone = g2.replace_partition(
            Table::FactTicket,
            "2026-2027",
            Some(entry(
                &root,
                "fact_ticket/season=2026-2027/part-000000000002.parquet",
                "2026-2027",
                b"two!",
            )),
        );
        g2.commit(&root, 9).unwrap();
        retire(&root, &gone).unwrap();
        assert_eq!(Manifest::readable(&root).generation, 2);
        assert_eq!(Manifest::readable(&root).tables["fact_ticket"].rows, 1);
        assert!(root
            .join("_history/fact_ticket/season=2026-2027/part-000000000001.parquet")
            .exists());
        assert!(
            resolve(&root, &g1.table(Table::FactTicket)[0].path).exists(),
            "the superseded file is still found"
        );

        // Generation 2's file is truncated: readers answer from generation 1, the pipeline stops.
        std::fs::write(root.join("fact_ticket/season=2026-2027/part-000000000002.parquet"), b"tw").unwrap();
        assert_eq!(Manifest::readable(&root).generation, 1);
        std::fs::write(manifest_path(&root, 2), b"{ torn").unwrap();
        let e = Manifest::latest(&root).unwrap_err().to_string();
        assert!(e.contains("000000000002.json") && e.contains("illisible"), "{e}");
        assert_eq!(Manifest::readable(&root).generation, 1);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn settling_deletes_what_no_commit_published_and_retires_what_one_superseded() {
        let root = scratch("settle");
        let mut g1 = Manifest::empty().next();
        g1.replace_partition(
            Table::FactOrder,
            "2026-2027",
            Some(entry(
                &root,
                "fact_order/season=2026-2027/part-000000000001.parquet",
                "2026-2027",
                b"a",
            )),
        );
        g1.commit(&root, 1).unwrap();
        let mut g2 = g1.next();
        g2.replace_partition(
            Table::FactOrder,
            "2026-2027",
            Some(entry(
                &root,
                "fact_order/season=2026-2027/part-000000000002.parquet",
                "2026-2027",
                b"b",
            )),
        );
        g2.commit(&root, 2).unwrap();
        // A crash before the move to `_history/`, and a step 3 that wrote its file but never committed.
        entry(&root, "fact_order/season=2026-2027/part-000000000003.parquet", "2026-2027", b"c");
        std::fs::write(root.join("fact_order/season=2026-2027/.part-000000000003.parquet.tmp"), b"").unwrap();
        let current = Manifest::latest(&root).unwrap().unwrap();
        assert_eq!(settle(&root, &current).unwrap(), (2, 1));
        let left: Vec<String> = std::fs::read_dir(root.join("fact_order/season=2026-2027"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(left, vec!["part-000000000002.parquet".to_string()]);
        assert!(root.join("_history/fact_order/season=2026-2027/part-000000000001.parquet").exists());
        assert_eq!(sweep(&root, Duration::from_secs(600)), 0, "within the grace period nothing goes");
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(sweep(&root, Duration::from_millis(1)), 1, "past it, the superseded file goes");
        assert_eq!(generations(&root), vec![2, 1], "the newest manifests stay");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_sweep_keeps_the_reference_files_the_kept_manifests_can_name() {
        let root = scratch("refs");
        let mut m = Manifest::empty();
        for g in 1..=6u64 {
            m = m.next();
            // Reference data written by generations 1 and 3 only; the others carry it on.
            if g == 1 || g == 3 {
                let rel = refs_path(g);
                write_atomic(&root.join(&rel), b"{}").unwrap();
                m.refs = Some(rel);
            }
            m.commit(&root, g as i64).unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
        // Generations 4, 5 and 6 stay (the newest three); they all name refs 3.
        assert_eq!(sweep(&root, Duration::from_millis(1)), 3 + 1, "manifests 1-3 and refs 1 go");
        assert_eq!(generations(&root), vec![6, 5, 4]);
        assert!(root.join(refs_path(3)).exists());
        assert!(!root.join(refs_path(1)).exists());
        assert_eq!(Manifest::readable(&root).generation, 6);
        let _ = std::fs::remove_dir_all(&root);
    }
}
