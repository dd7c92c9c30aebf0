//! Runtime SQL over both backends: `query(sql).bind(v)….fetch_all(executor)`.
//!
//! Why not sqlx's `Any` driver? On SQLite it hands every statement to a worker thread and
//! back, and a write transaction holding the single writer waited for the async scheduler
//! between its statements: the box office topped out at ~150 orders/s with the machine half
//! idle. Here SQLite runs through `rusqlite`, in place, on the calling thread: a statement
//! costs microseconds and a write transaction never yields while it holds the writer.
//! PostgreSQL runs through sqlx's native driver (real network I/O, real concurrency).
//!
//! One SQL text serves both databases: `$N` placeholders (SQLite reads `$1` as a named
//! parameter; it is mapped back to the N-th bound value), and the portable storage types
//! (integers, text). Bound values carry their type even when null, as PostgreSQL wants.

use crate::store::{Store, WriteTx};
use std::marker::PhantomData;

/// A database failure, from either backend.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite refused or failed.
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL (or its driver) refused or failed.
    #[error("{0}")]
    Postgres(#[from] sqlx::Error),
    /// `fetch_one` found nothing.
    #[error("aucune ligne trouvée")]
    RowNotFound,
    /// A column could not be read as the type asked for.
    #[error("colonne {column} : {message}")]
    Decode {
        /// Zero-based column index.
        column: usize,
        /// What went wrong.
        message: String,
    },
    /// The write transaction was already ended (by an earlier failure).
    #[error("transaction interrompue : plus aucune écriture possible")]
    Aborted,
    /// The statement refers to a parameter that was not bound.
    #[error("paramètre {0} sans valeur")]
    MissingParameter(String),
}

impl DbError {
    /// True when a unique (or primary-key) constraint refused the row.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            }
            DbError::Postgres(sqlx::Error::Database(db)) => db.is_unique_violation(),
            _ => false,
        }
    }
}

/// A bound value, typed even when null.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// Integer (also flags and cents).
    Int(Option<i64>),
    /// Floating point.
    Real(Option<f64>),
    /// Text.
    Text(Option<String>),
    /// Bytes.
    Blob(Option<Vec<u8>>),
}

/// Values that can be bound to a statement.
pub trait IntoArg {
    /// The value.
    fn into_arg(self) -> Arg;
    /// A null of this type.
    fn null() -> Arg;
}

macro_rules! int_arg {
    ($($t:ty),*) => {$(
        impl IntoArg for $t {
            fn into_arg(self) -> Arg { Arg::Int(Some(self as i64)) }
            fn null() -> Arg { Arg::Int(None) }
        }
        impl IntoArg for &$t {
            fn into_arg(self) -> Arg { Arg::Int(Some(*self as i64)) }
            fn null() -> Arg { Arg::Int(None) }
        }
    )*};
}
int_arg!(i64, i32, i16, u32, u16, u8, bool);

impl IntoArg for usize {
    fn into_arg(self) -> Arg {
        Arg::Int(i64::try_from(self).ok())
    }
    fn null() -> Arg {
        Arg::Int(None)
    }
}

impl IntoArg for f64 {
    fn into_arg(self) -> Arg {
        Arg::Real(Some(self))
    }
    fn null() -> Arg {
        Arg::Real(None)
    }
}

impl IntoArg for String {
    fn into_arg(self) -> Arg {
        Arg::Text(Some(self))
    }
    fn null() -> Arg {
        Arg::Text(None)
    }
}

impl IntoArg for &String {
    fn into_arg(self) -> Arg {
        Arg::Text(Some(self.clone()))
    }
    fn null() -> Arg {
        Arg::Text(None)
    }
}

impl IntoArg for &str {
    fn into_arg(self) -> Arg {
        Arg::Text(Some(self.to_string()))
    }
    fn null() -> Arg {
        Arg::Text(None)
    }
}

impl IntoArg for &&str {
    fn into_arg(self) -> Arg {
        Arg::Text(Some(self.to_string()))
    }
    fn null() -> Arg {
        Arg::Text(None)
    }
}

impl IntoArg for Vec<u8> {
    fn into_arg(self) -> Arg {
        Arg::Blob(Some(self))
    }
    fn null() -> Arg {
        Arg::Blob(None)
    }
}

impl IntoArg for &[u8] {
    fn into_arg(self) -> Arg {
        Arg::Blob(Some(self.to_vec()))
    }
    fn null() -> Arg {
        Arg::Blob(None)
    }
}

impl<T: IntoArg> IntoArg for Option<T> {
    fn into_arg(self) -> Arg {
        match self {
            Some(v) => v.into_arg(),
            None => T::null(),
        }
    }
    fn null() -> Arg {
        T::null()
    }
}

impl<T: IntoArg + Clone> IntoArg for &Option<T> {
    fn into_arg(self) -> Arg {
        self.clone().into_arg()
    }
    fn null() -> Arg {
        T::null()
    }
}

/// A value read from a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// Integer.
    Int(i64),
    /// Floating point.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl Cell {
    fn kind(&self) -> &'static str {
        match self {
            Cell::Null => "NULL",
            Cell::Int(_) => "un entier",
            Cell::Real(_) => "un réel",
            Cell::Text(_) => "du texte",
            Cell::Blob(_) => "des octets",
        }
    }
}

/// Rust types a cell can be read as.
pub trait FromCell: Sized {
    /// Reads the cell, or says why it cannot.
    fn from_cell(c: Cell) -> Result<Self, String>;
}

fn mismatch<T>(want: &str, c: &Cell) -> Result<T, String> {
    Err(format!("{want} attendu, {} trouvé", c.kind()))
}

impl FromCell for i64 {
    fn from_cell(c: Cell) -> Result<Self, String> {
        match c {
            Cell::Int(v) => Ok(v),
            other => mismatch("un entier", &other),
        }
    }
}

impl FromCell for i32 {
    fn from_cell(c: Cell) -> Result<Self, String> {
        let v = i64::from_cell(c)?;
        i32::try_from(v).map_err(|_| format!("entier hors limites : {v}"))
    }
}

impl FromCell for bool {
    fn from_cell(c: Cell) -> Result<Self, String> {
        Ok(i64::from_cell(c)? != 0)
    }
}

impl FromCell for f64 {
    fn from_cell(c: Cell) -> Result<Self, String> {
        match c {
            Cell::Real(v) => Ok(v),
            Cell::Int(v) => Ok(v as f64),
            other => mismatch("un réel", &other),
        }
    }
}

impl FromCell for String {
    fn from_cell(c: Cell) -> Result<Self, String> {
        match c {
            Cell::Text(v) => Ok(v),
            other => mismatch("du texte", &other),
        }
    }
}

impl FromCell for Vec<u8> {
    fn from_cell(c: Cell) -> Result<Self, String> {
        match c {
            Cell::Blob(v) => Ok(v),
            Cell::Text(v) => Ok(v.into_bytes()),
            other => mismatch("des octets", &other),
        }
    }
}

impl<T: FromCell> FromCell for Option<T> {
    fn from_cell(c: Cell) -> Result<Self, String> {
        match c {
            Cell::Null => Ok(None),
            other => T::from_cell(other).map(Some),
        }
    }
}

/// One row, its cells in column order.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Cell>);

impl Row {
    /// Column `i` read as `T`.
    pub fn try_get<T: FromCell>(&self, i: usize) -> Result<T, DbError> {
        let cell = self.0.get(i).cloned().ok_or_else(|| DbError::Decode {
            column: i,
            message: format!("la ligne n'a que {} colonne(s)", self.0.len()),
        })?;
        T::from_cell(cell).map_err(|message| DbError::Decode { column: i, message })
    }
    /// Number of columns.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when the row has no column.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What a row can be read into: [`Row`] itself, or a tuple of [`FromCell`] types.
pub trait FromRow: Sized {
    /// Reads the row.
    fn from_row(r: Row) -> Result<Self, DbError>;
}

impl FromRow for Row {
    fn from_row(r: Row) -> Result<Self, DbError> {
        Ok(r)
    }
}

macro_rules! tuple_row {
    ($n:expr; $($t:ident),+) => {
        impl<$($t: FromCell),+> FromRow for ($($t,)+) {
            fn from_row(r: Row) -> Result<Self, DbError> {
                if r.0.len() != $n {
                    return Err(DbError::Decode { column: r.0.len(), message: format!("{} colonne(s) attendue(s), {} lue(s)", $n, r.0.len()) });
                }
                let mut it = r.0.into_iter().enumerate();
                Ok(($({
                    let (i, c) = it.next().ok_or(DbError::RowNotFound)?;
                    $t::from_cell(c).map_err(|message| DbError::Decode { column: i, message })?
                },)+))
            }
        }
    };
}
tuple_row!(1; A);
tuple_row!(2; A, B);
tuple_row!(3; A, B, C);
tuple_row!(4; A, B, C, D);
tuple_row!(5; A, B, C, D, E);
tuple_row!(6; A, B, C, D, E, F);
tuple_row!(7; A, B, C, D, E, F, G);
tuple_row!(8; A, B, C, D, E, F, G, H);
tuple_row!(9; A, B, C, D, E, F, G, H, I);
tuple_row!(10; A, B, C, D, E, F, G, H, I, J);
tuple_row!(11; A, B, C, D, E, F, G, H, I, J, K);
tuple_row!(12; A, B, C, D, E, F, G, H, I, J, K, L);
tuple_row!(13; A, B, C, D, E, F, G, H, I, J, K, L, M);
tuple_row!(14; A, B, C, D, E, F, G, H, I, J, K, L, M, N);
tuple_row!(15; A, B, C, D, E, F, G, H, I, J, K, L, M, N, O);
tuple_row!(16; A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P);

/// Declares a struct read from a row by column order, with named fields (so code reads
/// `row.amount_cents`, not `row.8`):
/// `row_struct! { pub(crate) struct TicketRow { id: i64, number: String } }`.
#[macro_export]
macro_rules! row_struct {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),+ $(,)? }) => {
        $(#[$meta])*
        $vis struct $name { $($(#[$fmeta])* $fvis $field: $ty),+ }
        impl $crate::db::FromRow for $name {
            fn from_row(r: $crate::db::Row) -> Result<Self, $crate::db::DbError> {
                let names: &[&str] = &[$(stringify!($field)),+];
                if r.len() != names.len() {
                    return Err($crate::db::DbError::Decode {
                        column: r.len(),
                        message: format!("{} colonne(s) attendue(s) pour {}, {} lue(s)", names.len(), stringify!($name), r.len()),
                    });
                }
                let mut cells = r.0.into_iter().enumerate();
                Ok($name {
                    $($field: {
                        let (i, c) = cells.next().ok_or($crate::db::DbError::RowNotFound)?;
                        <$ty as $crate::db::FromCell>::from_cell(c).map_err(|message| $crate::db::DbError::Decode {
                            column: i,
                            message: format!("{}.{} : {message}", stringify!($name), stringify!($field)),
                        })?
                    }),+
                })
            }
        }
    };
}

/// Where a statement runs: the store's readers (autocommit) or a write transaction.
pub enum Exec<'c> {
    /// A reader connection of the store.
    Store(&'c Store),
    /// The write transaction.
    Tx(&'c mut WriteTx),
}

/// What `execute` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    rows_affected: u64,
}

impl Done {
    /// Rows inserted, updated or deleted.
    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

/// How many rows a caller wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// None: run it, count the changes.
    Nothing,
    /// The first row, if any.
    First,
    /// Every row.
    All,
}

/// What ran: rows (as asked) and rows affected.
#[derive(Debug, Default)]
pub(crate) struct Output {
    pub(crate) rows: Vec<Row>,
    pub(crate) affected: u64,
}

/// A statement with its bound values; `O` is what each row is read into.
#[must_use = "a query does nothing until executed or fetched"]
pub struct Query<'q, O> {
    sql: &'q str,
    args: Vec<Arg>,
    _out: PhantomData<fn() -> O>,
}

/// A statement whose rows are read as [`Row`].
pub fn query(sql: &str) -> Query<'_, Row> {
    Query {
        sql,
        args: Vec::new(),
        _out: PhantomData,
    }
}

/// A statement whose rows are read as `O` (usually a tuple).
pub fn query_as<O: FromRow>(sql: &str) -> Query<'_, O> {
    Query {
        sql,
        args: Vec::new(),
        _out: PhantomData,
    }
}

impl<'q, O: FromRow> Query<'q, O> {
    /// Binds the next `$N` value.
    pub fn bind(mut self, v: impl IntoArg) -> Self {
        self.args.push(v.into_arg());
        self
    }

    /// Runs the statement; reports the rows it changed.
    pub async fn execute(self, ex: Exec<'_>) -> Result<Done, DbError> {
        let out = crate::store::run(ex, self.sql, self.args, Want::Nothing).await?;
        Ok(Done {
            rows_affected: out.affected,
        })
    }

    /// Every row.
    pub async fn fetch_all(self, ex: Exec<'_>) -> Result<Vec<O>, DbError> {
        let out = crate::store::run(ex, self.sql, self.args, Want::All).await?;
        out.rows.into_iter().map(O::from_row).collect()
    }

    /// The first row, if any.
    pub async fn fetch_optional(self, ex: Exec<'_>) -> Result<Option<O>, DbError> {
        let out = crate::store::run(ex, self.sql, self.args, Want::First).await?;
        out.rows.into_iter().next().map(O::from_row).transpose()
    }

    /// The first row; [`DbError::RowNotFound`] when there is none.
    pub async fn fetch_one(self, ex: Exec<'_>) -> Result<O, DbError> {
        self.fetch_optional(ex).await?.ok_or(DbError::RowNotFound)
    }
}

/// SQLite: runs a statement in place on `conn`.
pub(crate) fn sqlite_run(conn: &rusqlite::Connection, sql: &str, args: &[Arg], want: Want) -> Result<Output, DbError> {
    use rusqlite::types::Null;
    let mut stmt = conn.prepare_cached(sql)?;
    for j in 1..=stmt.parameter_count() {
        let n = match stmt.parameter_name(j) {
            Some(name) => name
                .trim_start_matches(['$', '?', ':', '@'])
                .parse::<usize>()
                .map_err(|_| DbError::MissingParameter(name.to_string()))?,
            None => j,
        };
        let arg = args
            .get(n.wrapping_sub(1))
            .ok_or_else(|| DbError::MissingParameter(format!("${n}")))?;
        match arg {
            Arg::Int(Some(v)) => stmt.raw_bind_parameter(j, v)?,
            Arg::Real(Some(v)) => stmt.raw_bind_parameter(j, v)?,
            Arg::Text(Some(v)) => stmt.raw_bind_parameter(j, v.as_str())?,
            Arg::Blob(Some(v)) => stmt.raw_bind_parameter(j, v.as_slice())?,
            Arg::Int(None) | Arg::Real(None) | Arg::Text(None) | Arg::Blob(None) => stmt.raw_bind_parameter(j, Null)?,
        }
    }
    let readonly = stmt.readonly();
    let columns = stmt.column_count();
    let mut out = Output::default();
    {
        let mut rows = stmt.raw_query();
        while let Some(r) = rows.next()? {
            if want != Want::Nothing {
                let mut cells = Vec::with_capacity(columns);
                for i in 0..columns {
                    use rusqlite::types::ValueRef;
                    cells.push(match r.get_ref(i)? {
                        ValueRef::Null => Cell::Null,
                        ValueRef::Integer(v) => Cell::Int(v),
                        ValueRef::Real(v) => Cell::Real(v),
                        ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                        ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
                    });
                }
                out.rows.push(Row(cells));
            }
            // A read stops at its first row when only that is wanted; a write (RETURNING)
            // always runs to completion.
            if want == Want::First && readonly {
                break;
            }
        }
    }
    if !readonly {
        out.affected = conn.changes();
    }
    Ok(out)
}

/// PostgreSQL: the bound values as sqlx arguments.
fn pg_args(args: Vec<Arg>) -> Result<sqlx::postgres::PgArguments, DbError> {
    use sqlx::Arguments;
    let mut a = sqlx::postgres::PgArguments::default();
    for arg in args {
        let r = match arg {
            Arg::Int(v) => a.add(v),
            Arg::Real(v) => a.add(v),
            Arg::Text(v) => a.add(v),
            Arg::Blob(v) => a.add(v),
        };
        r.map_err(|e| DbError::Postgres(sqlx::Error::Encode(e)))?;
    }
    Ok(a)
}

/// PostgreSQL: one row as cells, by column type.
fn pg_row(r: &sqlx::postgres::PgRow) -> Result<Row, DbError> {
    use sqlx::{Column, Row as _, TypeInfo, ValueRef};
    let mut cells = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let raw = r.try_get_raw(i)?;
        if raw.is_null() {
            cells.push(Cell::Null);
            continue;
        }
        let cell = match col.type_info().name() {
            "INT8" => Cell::Int(r.try_get::<i64, _>(i)?),
            "INT4" => Cell::Int(r.try_get::<i32, _>(i)?.into()),
            "INT2" => Cell::Int(r.try_get::<i16, _>(i)?.into()),
            "BOOL" => Cell::Int(r.try_get::<bool, _>(i)?.into()),
            "FLOAT8" => Cell::Real(r.try_get::<f64, _>(i)?),
            "FLOAT4" => Cell::Real(r.try_get::<f32, _>(i)?.into()),
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "UNKNOWN" => Cell::Text(r.try_get::<String, _>(i)?),
            "BYTEA" => Cell::Blob(r.try_get::<Vec<u8>, _>(i)?),
            "VOID" => Cell::Null,
            other => {
                return Err(DbError::Decode {
                    column: i,
                    message: format!("type PostgreSQL non pris en charge : {other} (convertir en BIGINT ou TEXT)"),
                })
            }
        };
        cells.push(cell);
    }
    Ok(Row(cells))
}

/// PostgreSQL: runs a statement on any sqlx executor (pool or transaction).
pub(crate) async fn pg_run<'e, E>(e: E, sql: &str, args: Vec<Arg>, want: Want) -> Result<Output, DbError>
where
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
{
    let q = sqlx::query_with(sql, pg_args(args)?);
    let mut out = Output::default();
    match want {
        Want::Nothing => out.affected = q.execute(e).await?.rows_affected(),
        Want::First => {
            if let Some(r) = q.fetch_optional(e).await? {
                out.rows.push(pg_row(&r)?);
            }
        }
        Want::All => {
            for r in q.fetch_all(e).await? {
                out.rows.push(pg_row(&r)?);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem() -> rusqlite::Connection {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n INTEGER)")
            .unwrap();
        c
    }

    #[test]
    fn dollar_parameters_map_to_their_number_whatever_their_order() {
        let c = mem();
        let out = sqlite_run(
            &c,
            "INSERT INTO t (n, name) VALUES ($2, $1), ($2, $3) RETURNING id, name, n",
            &[Arg::Text(Some("b".into())), Arg::Int(Some(7)), Arg::Text(None)],
            Want::All,
        )
        .unwrap();
        assert_eq!(out.affected, 2);
        assert_eq!(out.rows[0].0, vec![Cell::Int(1), Cell::Text("b".into()), Cell::Int(7)]);
        assert_eq!(out.rows[1].0[1], Cell::Null);
        let (id, name, n): (i64, String, i64) = FromRow::from_row(out.rows[0].clone()).unwrap();
        assert_eq!((id, name.as_str(), n), (1, "b", 7));
        let missing = sqlite_run(&c, "SELECT $2", &[Arg::Int(Some(1))], Want::All).unwrap_err();
        assert!(matches!(missing, DbError::MissingParameter(_)), "{missing}");
    }

    #[test]
    fn unique_violations_are_recognised_and_types_checked() {
        let c = mem();
        let ins = |name: &str| {
            sqlite_run(
                &c,
                "INSERT INTO t (name) VALUES ($1)",
                &[Arg::Text(Some(name.into()))],
                Want::Nothing,
            )
        };
        assert_eq!(ins("a").unwrap().affected, 1);
        assert!(ins("a").unwrap_err().is_unique_violation());
        let out = sqlite_run(&c, "SELECT name, n FROM t", &[], Want::First).unwrap();
        let bad: Result<(i64, i64), _> = FromRow::from_row(out.rows[0].clone());
        assert!(bad.unwrap_err().to_string().contains("un entier attendu, du texte trouvé"));
        let good: (String, Option<i64>) = FromRow::from_row(out.rows[0].clone()).unwrap();
        assert_eq!(good, ("a".to_string(), None));
    }
}
