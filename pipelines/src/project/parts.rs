//! The partitions a step works on, read from their files when first needed.
//!
//! Nothing stays in memory between steps: a step starts with no rows, and the first time an
//! event needs a partition (to add a row, or to find one by id) its live file is read whole
//! ([`Parts::load`]). Finding a row by id reads only the partitions whose file's key range
//! (kept in the manifest) can hold it. So a step's memory is the partitions it touches, and
//! start-up reads nothing. With no manifest (a rebuild) every partition starts empty.

use super::rows::Row;
use parterre_warehouse::manifest::Manifest;
use parterre_warehouse::write::read_file;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Where partitions are read from.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The warehouse folder.
    pub root: &'a Path,
    /// The generation the step starts from (`None`: a rebuild, from nothing).
    pub manifest: Option<&'a Manifest>,
}

/// One partition's rows, by id.
#[derive(Debug)]
pub struct Part<R> {
    /// The rows.
    pub rows: HashMap<i64, R>,
    /// Changed by this step.
    pub dirty: bool,
    /// First and last seq of the events that changed it in this step.
    pub seqs: Option<(i64, i64)>,
}

impl<R> Part<R> {
    /// Marks the partition changed by event `seq`.
    pub fn touch(&mut self, seq: i64) {
        self.dirty = true;
        self.seqs = Some(match self.seqs {
            None => (seq, seq),
            Some((a, b)) => (a.min(seq), b.max(seq)),
        });
    }
}

/// The loaded partitions of one table, by season.
#[derive(Debug)]
pub struct Parts<R> {
    /// Loaded partitions.
    pub loaded: BTreeMap<String, Part<R>>,
}

impl<R> Default for Parts<R> {
    fn default() -> Self {
        Parts { loaded: BTreeMap::new() }
    }
}

impl<R: Row> Parts<R> {
    /// The partition `season`, read from its file on first use (empty if it has none).
    pub fn load(&mut self, src: &Source<'_>, season: &str) -> parterre_warehouse::Result<&mut Part<R>> {
        use std::collections::btree_map::Entry;
        match self.loaded.entry(season.to_string()) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(v) => {
                let mut rows = HashMap::new();
                if let Some(m) = src.manifest {
                    for f in m.partition(R::TABLE, season) {
                        let batch = read_file(src.root, R::TABLE, f)?;
                        rows.extend(R::decode(&batch, season)?.into_iter().map(|r| (r.key(), r)));
                    }
                }
                Ok(v.insert(Part {
                    rows,
                    dirty: false,
                    seqs: None,
                }))
            }
        }
    }

    /// Loads every partition whose file may hold a row with `key` = `value`.
    pub fn load_holding(&mut self, src: &Source<'_>, key: &str, value: i64) -> parterre_warehouse::Result<()> {
        let Some(m) = src.manifest else { return Ok(()) };
        let seasons: Vec<String> = m
            .table(R::TABLE)
            .iter()
            .filter(|f| !self.loaded.contains_key(&f.season) && f.may_hold(key, value))
            .map(|f| f.season.clone())
            .collect();
        for s in seasons {
            self.load(src, &s)?;
        }
        Ok(())
    }

    /// The season of the row `id`, reading the partitions that may hold it.
    pub fn locate(&mut self, src: &Source<'_>, id: i64) -> parterre_warehouse::Result<Option<String>> {
        let found = |p: &Self| {
            p.loaded
                .iter()
                .find(|(_, part)| part.rows.contains_key(&id))
                .map(|(s, _)| s.clone())
        };
        if let Some(s) = found(self) {
            return Ok(Some(s));
        }
        self.load_holding(src, R::TABLE.key_columns()[0], id)?;
        Ok(found(self))
    }

    /// The row `id`, if it exists.
    pub fn get(&mut self, src: &Source<'_>, id: i64) -> parterre_warehouse::Result<Option<&R>> {
        Ok(match self.locate(src, id)? {
            Some(s) => self.loaded.get(&s).and_then(|p| p.rows.get(&id)),
            None => None,
        })
    }

    /// Changes the row `id` (if it exists) by event `seq`.
    pub fn update(&mut self, src: &Source<'_>, seq: i64, id: i64, change: impl FnOnce(&mut R)) -> parterre_warehouse::Result<()> {
        if let Some(s) = self.locate(src, id)? {
            if let Some(p) = self.loaded.get_mut(&s) {
                if let Some(r) = p.rows.get_mut(&id) {
                    change(r);
                    p.touch(seq);
                }
            }
        }
        Ok(())
    }

    /// Adds (or replaces) `row` in `season`, by event `seq`.
    pub fn insert(&mut self, src: &Source<'_>, seq: i64, season: &str, row: R) -> parterre_warehouse::Result<()> {
        let p = self.load(src, season)?;
        p.rows.insert(row.key(), row);
        p.touch(seq);
        Ok(())
    }

    /// The partitions this step changed.
    pub fn dirty(&self) -> impl Iterator<Item = (&String, &Part<R>)> {
        self.loaded.iter().filter(|(_, p)| p.dirty)
    }
}
