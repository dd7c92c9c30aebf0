//! The Avro event log: append-only segments under `DATA/events/`, the replayable truth.
//!
//! Each segment is an Avro object container file (`segment-000001.avro`, Snappy blocks) of
//! [`EventRecord`]s whose schema is derived from `core::events::Event`. The drain appends one
//! block per batch, flushes it to disk, then records in `drain.json` (written aside and
//! renamed) how long the segment is and the last outbox seq it holds. That file is the
//! checkpoint: on start, bytes past the recorded length are a batch whose checkpoint never
//! made it (a crash), and are cut off; the outbox still has those rows, so the next drain
//! writes them again. Nothing is lost, nothing is written twice.

use crate::{PipelineError, Result};
use apache_avro::{AvroSchema, Codec, Reader, Schema, Writer};
use parterre_core::events::{Event, EventEnvelope};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A segment is closed and a new one started past this size.
pub const SEGMENT_BYTES: u64 = 64 << 20;

/// One event of the log: the outbox row as it was drained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "parterre.events", doc = "One event of the Parterre event log (an outbox row).")]
pub struct EventRecord {
    /// Outbox sequence number: the order of the log.
    pub seq: i64,
    /// Unique id of the event (UUID).
    pub event_id: String,
    /// When it happened: UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    pub occurred_at: String,
    /// The actor by id: `user:ID` or `system` (the login in segments before schema 3).
    pub actor: String,
    /// The actor's user id.
    pub actor_id: Option<i64>,
    /// Version of the event schema it was written with.
    pub schema_version: i32,
    /// The fact itself.
    pub event: Event,
}

impl EventRecord {
    /// The log record of an outbox row.
    pub fn from_outbox(seq: i64, env: EventEnvelope) -> Self {
        EventRecord {
            seq,
            event_id: env.event_id,
            occurred_at: env.occurred_at,
            actor: actor_reference(env.actor_id),
            actor_id: env.actor_id,
            schema_version: env.schema_version as i32,
            event: env.event,
        }
    }
}

/// How the log names an actor: `user:ID`, or `system` (never the login, which outbox rows
/// written before schema 3 still carried).
pub fn actor_reference(actor_id: Option<i64>) -> String {
    match actor_id {
        Some(id) => format!("user:{id}"),
        None => "system".into(),
    }
}

/// The log's Avro schema (derived once).
pub fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(EventRecord::get_schema)
}

/// Where the drain stands: written after every appended batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Number of the segment being written (0 before the first event).
    pub segment: u32,
    /// Bytes of that segment that hold complete, flushed batches.
    pub length: u64,
    /// Last outbox seq in the log.
    pub last_seq: i64,
    /// Events in the log, all segments.
    pub events: u64,
    /// Time of the last event in the log (storage format), if any.
    pub last_occurred_at: Option<String>,
    /// When the log reached which seq (real time, storage format; one mark per
    /// [`MARK_EVERY`] at most): what the outbox retention counts from.
    #[serde(default)]
    pub marks: Vec<(String, i64)>,
}

/// Spacing of the checkpoint's time marks.
pub const MARK_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// File name of segment `n`.
pub fn segment_name(n: u32) -> String {
    format!("segment-{n:06}.avro")
}

/// The sync marker of a segment, derived from its name so that appending needs no state.
fn marker(name: &str) -> [u8; 16] {
    let digest = Sha256::digest(format!("parterre-events/{name}").as_bytes());
    let mut m = [0u8; 16];
    m.copy_from_slice(&digest[..16]);
    m
}

fn io(path: &Path, e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Io(format!("{} : {e}", path.display()))
}

/// Writes `value` as JSON to `path` atomically (aside, flushed, renamed, folder flushed).
pub(crate) fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("checkpoint")
    ));
    let text = serde_json::to_vec_pretty(value).map_err(|e| io(path, e))?;
    std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
    crate::crash_point();
    File::open(&tmp).and_then(|f| f.sync_all()).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, e))
}

/// Reads a JSON checkpoint (`None` when absent).
pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| PipelineError::Corrupt {
            file: path.display().to_string(),
            offset: 0,
            reason: format!("point de reprise illisible : {e}"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path, e)),
    }
}

/// The event log folder, open for appending (one writer: the pipeline holds its lock).
#[derive(Debug)]
pub struct EventLog {
    dir: PathBuf,
    checkpoint: Checkpoint,
}

impl EventLog {
    /// The log's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The checkpoint file.
    pub fn checkpoint_path(dir: &Path) -> PathBuf {
        dir.join("drain.json")
    }

    /// Reads the checkpoint without opening the log for writing.
    pub fn read_checkpoint(dir: &Path) -> Result<Checkpoint> {
        Ok(read_json(&Self::checkpoint_path(dir))?.unwrap_or_default())
    }

    /// Opens the log at `dir`, cutting off what a crash left past the checkpoint.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let checkpoint = Self::read_checkpoint(dir)?;
        // Segments after the checkpoint's were started by a batch that never completed.
        for n in segments(dir)? {
            if n > checkpoint.segment {
                let p = dir.join(segment_name(n));
                std::fs::remove_file(&p).map_err(|e| io(&p, e))?;
            }
        }
        if checkpoint.segment > 0 {
            let path = dir.join(segment_name(checkpoint.segment));
            let len = std::fs::metadata(&path).map_err(|e| io(&path, e))?.len();
            if len < checkpoint.length {
                return Err(PipelineError::Corrupt {
                    file: path.display().to_string(),
                    offset: len,
                    reason: format!("segment tronqué : {len} octets sur les {} enregistrés", checkpoint.length),
                });
            }
            if len > checkpoint.length {
                tracing::warn!(
                    "{} : {} octets d'un lot interrompu retirés (il sera réécrit depuis l'outbox)",
                    path.display(),
                    len - checkpoint.length
                );
                let f = OpenOptions::new().write(true).open(&path).map_err(|e| io(&path, e))?;
                f.set_len(checkpoint.length).map_err(|e| io(&path, e))?;
                f.sync_all().map_err(|e| io(&path, e))?;
            }
        }
        Ok(EventLog {
            dir: dir.to_path_buf(),
            checkpoint,
        })
    }

    /// Where the log stands.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// Appends `records` (in seq order, all after the checkpoint) as one block, flushes it to
    /// disk and moves the checkpoint past it.
    pub fn append(&mut self, records: &[EventRecord]) -> Result<()> {
        let Some(last) = records.last() else { return Ok(()) };
        if records[0].seq <= self.checkpoint.last_seq {
            return Err(PipelineError::Io(format!(
                "événement {} déjà dans le journal (dernier : {})",
                records[0].seq, self.checkpoint.last_seq
            )));
        }
        let mut ck = self.checkpoint.clone();
        if ck.segment == 0 || ck.length >= SEGMENT_BYTES {
            ck.segment += 1;
            ck.length = 0;
        }
        let name = segment_name(ck.segment);
        let path = self.dir.join(&name);
        let mut file = OpenOptions::new().create(true).append(true).open(&path).map_err(|e| io(&path, e))?;
        let fresh = ck.length == 0;
        if fresh {
            file.set_len(0).map_err(|e| io(&path, e))?;
        }
        let mut w = Writer::builder()
            .schema(schema())
            .writer(&mut file)
            .codec(Codec::Snappy)
            .marker(marker(&name))
            .has_header(!fresh)
            .build()
            .map_err(|e| io(&path, e))?;
        for r in records {
            w.append_ser(r).map_err(|e| io(&path, e))?;
        }
        w.flush().map_err(|e| io(&path, e))?;
        drop(w);
        crate::crash_point();
        file.sync_data().map_err(|e| io(&path, e))?;
        crate::crash_point();
        let length = file.seek(SeekFrom::End(0)).map_err(|e| io(&path, e))?;
        if fresh {
            File::open(&self.dir).and_then(|d| d.sync_all()).map_err(|e| io(&self.dir, e))?;
        }
        ck.length = length;
        ck.last_seq = last.seq;
        ck.events += records.len() as u64;
        ck.last_occurred_at = Some(last.occurred_at.clone());
        let now = chrono::Utc::now();
        let due = ck
            .marks
            .last()
            .and_then(|(t, _)| parterre_core::time::from_db(t))
            .is_none_or(|t| now.signed_duration_since(t).to_std().unwrap_or_default() >= MARK_EVERY);
        if due {
            ck.marks.push((parterre_core::time::to_db(now), last.seq));
            if ck.marks.len() > 2_000 {
                ck.marks.remove(0);
            }
        }
        write_json_atomic(&Self::checkpoint_path(&self.dir), &ck)?;
        self.checkpoint = ck;
        Ok(())
    }
}

/// Segment numbers present in `dir`, in order.
pub fn segments(dir: &Path) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io(dir, e)),
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(n) = name
            .to_str()
            .and_then(|n| n.strip_prefix("segment-"))
            .and_then(|n| n.strip_suffix(".avro"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        out.push(n);
    }
    out.sort_unstable();
    Ok(out)
}

/// Counts the bytes a reader has consumed, to name where a bad block starts.
struct Counting<R> {
    inner: R,
    read: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// The seq of a segment's first event (`None` if it cannot be read: the caller then reads from
/// further back, where the damage is reported).
fn first_seq(path: &Path) -> Option<i64> {
    let file = File::open(path).ok()?;
    let mut reader = Reader::builder(BufReader::new(file)).build().ok()?;
    let value = reader.next()?.ok()?;
    apache_avro::from_value::<EventRecord>(&value).ok().map(|r| r.seq)
}

/// Reads every event of the log up to the checkpoint, in order, calling `each` on those with
/// seq > `after`. A damaged or truncated segment stops the reading with its name and the
/// offset of the block that could not be read; nothing after it is delivered.
pub fn replay(dir: &Path, checkpoint: &Checkpoint, after: i64, mut each: impl FnMut(EventRecord) -> Result<()>) -> Result<u64> {
    let mut delivered = 0u64;
    let mut expected_seq = None::<i64>;
    // Segments wholly at or before `after` are not read: catching up after a crash costs the
    // events missed, not the history.
    let start = (2..=checkpoint.segment)
        .rev()
        .find(|n| first_seq(&dir.join(segment_name(*n))).is_some_and(|first| first <= after.saturating_add(1)))
        .unwrap_or(1);
    for n in start..=checkpoint.segment {
        let path = dir.join(segment_name(n));
        let file = File::open(&path).map_err(|e| PipelineError::Corrupt {
            file: path.display().to_string(),
            offset: 0,
            reason: format!("segment manquant : {e}"),
        })?;
        let len = file.metadata().map_err(|e| io(&path, e))?.len();
        let limit = if n == checkpoint.segment { checkpoint.length } else { len };
        if len < limit {
            return Err(PipelineError::Corrupt {
                file: path.display().to_string(),
                offset: len,
                reason: format!("segment tronqué : {len} octets sur les {limit} enregistrés"),
            });
        }
        let count = std::rc::Rc::new(std::cell::Cell::new(0u64));
        let counting = Counting {
            inner: BufReader::new(file.take(limit)),
            read: count.clone(),
        };
        let corrupt = |offset: u64, e: &dyn std::fmt::Display| PipelineError::Corrupt {
            file: path.display().to_string(),
            offset,
            reason: e.to_string(),
        };
        // Read with the segment's own schema and map fields by name: fields an older schema
        // had and this one dropped are not read, fields it lacks are `None`. (Avro schema
        // resolution against the current schema would match each `data` record to the first
        // union branch whose fields it covers, which a smaller variant can be for another's.)
        let reader = Reader::builder(counting).build().map_err(|e| corrupt(0, &e))?;
        let mut block_start = 0u64;
        for value in reader {
            let value = value.map_err(|e| corrupt(block_start, &e))?;
            let rec: EventRecord = apache_avro::from_value(&value).map_err(|e| corrupt(block_start, &e))?;
            if let Some(prev) = expected_seq {
                if rec.seq <= prev {
                    return Err(corrupt(block_start, &format!("séquence {} après {}", rec.seq, prev)));
                }
            }
            expected_seq = Some(rec.seq);
            block_start = count.get();
            if rec.seq > after {
                delivered += 1;
                each(rec)?;
            }
        }
    }
    Ok(delivered)
}
