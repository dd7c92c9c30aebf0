//! Time conventions: stored as fixed-width UTC text, displayed in Europe/Paris.
//!
//! Both backends store `YYYY-MM-DDTHH:MM:SS.ffffffZ`, which sorts lexicographically in the
//! same order as time, so range filters work in SQL on SQLite and PostgreSQL alike.

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;

/// The venue's time zone.
pub const VENUE_TZ: chrono_tz::Tz = Paris;

/// Formats a UTC instant for storage.
pub fn to_db(t: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    // Written by hand: parsing the strftime pattern on every call was ~2 % of a sale's
    // instructions (several stamps per sale, some while holding the writer).
    if !(0..=9999).contains(&t.year()) {
        return t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    }
    let nanos = t.nanosecond();
    // A leap second is stored as :60, as chrono writes it.
    let second = t.second() + nanos / 1_000_000_000;
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        second,
        (nanos % 1_000_000_000) / 1_000
    )
}

/// Parses a stored instant; `None` if the text is not one of ours.
pub fn from_db(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

tokio::task_local! {
    /// The simulated present of the demo history (see [`at`]).
    static CLOCK: DateTime<Utc>;
}

/// The current instant: the real one, or the simulated one inside [`at`].
pub fn now() -> DateTime<Utc> {
    CLOCK.try_with(|t| *t).unwrap_or_else(|_| Utc::now())
}

/// Runs `f` as if it were `t`: every time the core reads inside `f` (records, events, sale
/// windows, expiries) is `t`. Only the demo history uses it, to sell past seasons through
/// the real rules; it affects the calling task only, never other requests.
pub async fn at<F: std::future::Future>(t: DateTime<Utc>, f: F) -> F::Output {
    CLOCK.scope(t, f).await
}

/// The current instant, formatted for storage.
pub fn now_db() -> String {
    to_db(now())
}

/// Formats a date for storage.
pub fn date_to_db(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Parses a stored or typed ISO date.
pub fn date_from_db(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// Interprets a wall-clock time in Paris. In the autumn overlap the earlier instant is taken;
/// a time inside the spring gap does not exist and gives `None`.
pub fn paris_to_utc(local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match VENUE_TZ.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, _) => Some(a.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

/// Parses what a user or a script may type for an instant: RFC 3339 with an offset
/// (`2026-10-03T18:30:00Z`), or a Paris wall-clock time (`2026-10-03T20:30`,
/// `2026-10-03 20:30`, `03/10/2026 20:30`).
pub fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%d/%m/%Y %H:%M",
        "%d/%m/%Y %Hh%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
            return paris_to_utc(naive);
        }
    }
    None
}

/// Paris display: `03/10/2026 20:30`.
pub fn display_paris(t: DateTime<Utc>) -> String {
    t.with_timezone(&VENUE_TZ).format("%d/%m/%Y %H:%M").to_string()
}

/// Value for an `<input type="datetime-local">` in Paris time: `2026-10-03T20:30`.
pub fn input_paris(t: DateTime<Utc>) -> String {
    t.with_timezone(&VENUE_TZ).format("%Y-%m-%dT%H:%M").to_string()
}

/// French date display: `03/10/2026`.
pub fn display_date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// The season (1 July – 30 June) containing `day`, as (start year, first day, last day).
pub fn season_of(day: NaiveDate) -> (i32, NaiveDate, NaiveDate) {
    let start_year = if day.month() >= 7 { day.year() } else { day.year() - 1 };
    let first = NaiveDate::from_ymd_opt(start_year, 7, 1).unwrap_or(day);
    let last = NaiveDate::from_ymd_opt(start_year + 1, 6, 30).unwrap_or(day);
    (start_year, first, last)
}

/// The season's name: `2026-2027`.
pub fn season_name(start_year: i32) -> String {
    format!("{}-{}", start_year, start_year + 1)
}

/// Today in Paris.
pub fn today_paris() -> NaiveDate {
    now().with_timezone(&VENUE_TZ).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_format_round_trips_and_sorts() {
        let a = parse_instant("2026-10-03T20:30").unwrap();
        let b = parse_instant("2026-12-03T20:30").unwrap();
        assert_eq!(from_db(&to_db(a)), Some(a));
        assert!(to_db(a) < to_db(b));
        // October is summer time (UTC+2), December winter time (UTC+1).
        assert_eq!(to_db(a), "2026-10-03T18:30:00.000000Z");
        assert_eq!(to_db(b), "2026-12-03T19:30:00.000000Z");
        assert_eq!(display_paris(b), "03/12/2026 20:30");
    }

    proptest::proptest! {
        /// The hand-written stamp is exactly what chrono's pattern wrote (rows stored before it
        /// compare and sort with new ones), years 0–9999 and beyond, leap seconds included.
        #[test]
        fn stored_stamp_is_chronos_pattern(secs in -70_000_000_000i64..300_000_000_000, nanos in 0u32..2_000_000_000) {
            if let Some(t) = DateTime::<Utc>::from_timestamp(secs, nanos) {
                proptest::prop_assert_eq!(to_db(t), t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
            }
        }
    }

    #[test]
    fn spring_gap_is_refused_and_french_format_accepted() {
        assert_eq!(parse_instant("2026-03-29T02:30"), None);
        assert_eq!(parse_instant("03/10/2026 20:30"), parse_instant("2026-10-03T18:30:00Z"));
    }

    #[test]
    fn seasons_run_july_to_june() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(season_of(d).0, 2026);
        let d = NaiveDate::from_ymd_opt(2027, 6, 30).unwrap();
        assert_eq!(season_name(season_of(d).0), "2026-2027");
        let d = NaiveDate::from_ymd_opt(2027, 7, 1).unwrap();
        assert_eq!(season_name(season_of(d).0), "2027-2028");
    }
}
