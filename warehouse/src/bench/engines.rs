//! The other engines of the benchmark: `benches/engines.py` runs DuckDB and Polars in a
//! process of its own, one query per request, so that `parterre bench warehouse` can time the
//! three engines alternately, query by query, in one run.

use crate::{Result, WarehouseError};
use serde::Deserialize;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// DuckDB and Polars, ready over the warehouse's files.
pub struct Engines {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

#[derive(Deserialize)]
struct Answer {
    ms: Option<f64>,
    rows: Option<Vec<Vec<String>>>,
    error: Option<String>,
}

fn io(e: impl std::fmt::Display) -> WarehouseError {
    WarehouseError::Io(format!("benches/engines.py : {e}"))
}

impl Engines {
    /// Starts `python3 script serve root` and waits until it has opened every table.
    pub fn start(script: &Path, root: &Path) -> Result<Engines> {
        let mut child = Command::new("python3")
            .arg(script)
            .arg("serve")
            .arg(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(io)?;
        let stdin = child.stdin.take().ok_or_else(|| io("pas d'entrée"))?;
        let stdout = BufReader::new(child.stdout.take().ok_or_else(|| io("pas de sortie"))?);
        let mut e = Engines { child, stdin, stdout };
        let mut ready = String::new();
        e.stdout.read_line(&mut ready).map_err(io)?;
        if !ready.contains("ready") {
            return Err(io(format!("démarrage manqué : {ready}")));
        }
        Ok(e)
    }

    /// Runs `sql` once on `engine` (`duckdb`, `polars`): its time in ms and its rows as text.
    pub fn run(&mut self, engine: &str, sql: &str) -> Result<(f64, Vec<Vec<String>>)> {
        let req = serde_json::json!({ "engine": engine, "sql": sql });
        writeln!(self.stdin, "{req}").map_err(io)?;
        self.stdin.flush().map_err(io)?;
        let mut line = String::new();
        self.stdout.read_line(&mut line).map_err(io)?;
        let a: Answer = serde_json::from_str(&line).map_err(|e| io(format!("réponse illisible ({e}) : {line}")))?;
        match (a.ms, a.rows, a.error) {
            (Some(ms), Some(rows), None) => Ok((ms, rows)),
            (_, _, Some(e)) => Err(WarehouseError::Sql(format!("{engine} : {e}"))),
            _ => Err(io(format!("réponse incomplète : {line}"))),
        }
    }
}

impl Drop for Engines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
