//! French calendar facts for the warehouse's date dimension, `dim_date`.
//!
//! Attendance at a venue follows the French calendar more than the civil one, so each day of
//! `dim_date` carries: its weekday (in French) and whether it is a weekend, the French
//! national public holiday it is (metropolitan France), the school holiday of zone C it falls
//! in (academies of Paris, Créteil, Versailles, Montpellier and Toulouse), and its season,
//! which runs from 1 July to 30 June like [`parterre_warehouse::catalog::season_name`].
//!
//! Everything here is a pure function of the date: no I/O, no database. Public holidays are
//! computed (Easter by the Gregorian computus); school holidays come from a static table of
//! the ministry's calendars, which only covers [`SCHOOL_CALENDAR_RANGE`]: outside it
//! [`school_holiday_zone_c`] says `None` and [`school_calendar_known`] says `false`, so that
//! "no holiday" and "not known" can be told apart.

use chrono::{Datelike, NaiveDate, Weekday};

/// Easter Sunday of `year` (Gregorian computus, the anonymous or Meeus/Jones/Butcher
/// algorithm); `None` before 1583, when the Gregorian calendar was not yet in use.
pub fn easter(year: i32) -> Option<NaiveDate> {
    if year < 1583 {
        return None;
    }
    let (a, b, c) = (year % 19, year / 100, year % 100);
    let (d, e) = (b / 4, b % 4);
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let (i, k) = (c / 4, c % 4);
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let n = h + l - 7 * m + 114;
    NaiveDate::from_ymd_opt(year, u32::try_from(n / 31).ok()?, u32::try_from(n % 31 + 1).ok()?)
}

/// The French national public holiday (jour férié, metropolitan France: the 11 of the Code du
/// travail, art. L3133-1) falling on `d`, by its French name. Alsace-Moselle's extra days
/// (Vendredi saint, 26 December) are not included. Should a movable feast fall on a fixed one
/// (Ascension on 1 May, as in 2008), the fixed one's name is given.
pub fn public_holiday(d: NaiveDate) -> Option<&'static str> {
    let fixed = match (d.month(), d.day()) {
        (1, 1) => Some("Jour de l'an"),
        (5, 1) => Some("Fête du Travail"),
        (5, 8) => Some("Victoire 1945"),
        (7, 14) => Some("Fête nationale"),
        (8, 15) => Some("Assomption"),
        (11, 1) => Some("Toussaint"),
        (11, 11) => Some("Armistice"),
        (12, 25) => Some("Noël"),
        _ => None,
    };
    fixed.or_else(|| match d.signed_duration_since(easter(d.year())?).num_days() {
        1 => Some("Lundi de Pâques"),
        39 => Some("Ascension"),
        50 => Some("Lundi de Pentecôte"),
        _ => None,
    })
}

const TOUSSAINT: &str = "Vacances de la Toussaint";
const NOEL: &str = "Vacances de Noël";
const HIVER: &str = "Vacances d'hiver";
const PRINTEMPS: &str = "Vacances de printemps";
const ETE: &str = "Vacances d'été";

/// First and last school years (by the year they start in) of the zone C table: 2018-2019 to
/// 2027-2028. The table also holds the summer of 2018 (end of 2017-2018), so that the whole
/// season 2018-2019, from 1 July 2018, is covered.
pub const SCHOOL_CALENDAR_RANGE: (i32, i32) = (2018, 2027);

/// School years starting in this year or later are provisional in the table: 2026-2027 was
/// checked against secondary sources only, 2027-2028 is estimated.
pub const SCHOOL_CALENDAR_PROVISIONAL_FROM: i32 = 2026;

type Ymd = (i32, u32, u32);

/// School holidays of zone C, from the ministère de l'Éducation nationale's calendars, in
/// order: (name, first day, last day), both inclusive.
///
/// The official texts give "fin des cours: samedi X" and "reprise des cours: lundi Y": classes
/// end on X after class (on the Friday evening for pupils without Saturday classes, that is
/// nearly all of them) and resume on the morning of Y. Here a period runs from the first day
/// without class for a pupil with no Saturday class to the day before classes resume: from
/// X when X is a Saturday, from the day after X otherwise (summers 2021 and 2022 began after
/// class on a Tuesday and a Thursday), to Y − 1. Summer runs to the day before the rentrée.
/// Bridges (pont de l'Ascension) and local changes by a rector are not holidays here.
const ZONE_C: &[(&str, Ymd, Ymd)] = &[
    // 2017-2018 (only its summer): fin des cours samedi 7 juillet, rentrée lundi 3 septembre.
    (ETE, (2018, 7, 7), (2018, 9, 2)),
    // 2018-2019.
    (TOUSSAINT, (2018, 10, 20), (2018, 11, 4)),
    (NOEL, (2018, 12, 22), (2019, 1, 6)),
    (HIVER, (2019, 2, 23), (2019, 3, 10)),
    (PRINTEMPS, (2019, 4, 20), (2019, 5, 5)),
    (ETE, (2019, 7, 6), (2019, 9, 1)),
    // 2019-2020 (the closures of the spring 2020 lockdown were not holidays).
    (TOUSSAINT, (2019, 10, 19), (2019, 11, 3)),
    (NOEL, (2019, 12, 21), (2020, 1, 5)),
    (HIVER, (2020, 2, 8), (2020, 2, 23)),
    (PRINTEMPS, (2020, 4, 4), (2020, 4, 19)),
    (ETE, (2020, 7, 4), (2020, 8, 31)),
    // 2020-2021. Spring: set for all zones at 10–26 April by the government on 31 March
    // 2021 (lockdown), instead of 17 April–3 May for zone C.
    (TOUSSAINT, (2020, 10, 17), (2020, 11, 1)),
    (NOEL, (2020, 12, 19), (2021, 1, 3)),
    (HIVER, (2021, 2, 13), (2021, 2, 28)),
    (PRINTEMPS, (2021, 4, 10), (2021, 4, 25)),
    (ETE, (2021, 7, 7), (2021, 9, 1)),
    // 2021-2022.
    (TOUSSAINT, (2021, 10, 23), (2021, 11, 7)),
    (NOEL, (2021, 12, 18), (2022, 1, 2)),
    (HIVER, (2022, 2, 19), (2022, 3, 6)),
    (PRINTEMPS, (2022, 4, 23), (2022, 5, 8)),
    (ETE, (2022, 7, 8), (2022, 8, 31)),
    // 2022-2023 (Noël and printemps resumed on a Tuesday).
    (TOUSSAINT, (2022, 10, 22), (2022, 11, 6)),
    (NOEL, (2022, 12, 17), (2023, 1, 2)),
    (HIVER, (2023, 2, 18), (2023, 3, 5)),
    (PRINTEMPS, (2023, 4, 22), (2023, 5, 8)),
    (ETE, (2023, 7, 8), (2023, 9, 3)),
    // 2023-2024.
    (TOUSSAINT, (2023, 10, 21), (2023, 11, 5)),
    (NOEL, (2023, 12, 23), (2024, 1, 7)),
    (HIVER, (2024, 2, 10), (2024, 2, 25)),
    (PRINTEMPS, (2024, 4, 6), (2024, 4, 21)),
    (ETE, (2024, 7, 6), (2024, 9, 1)),
    // 2024-2025.
    (TOUSSAINT, (2024, 10, 19), (2024, 11, 3)),
    (NOEL, (2024, 12, 21), (2025, 1, 5)),
    (HIVER, (2025, 2, 15), (2025, 3, 2)),
    (PRINTEMPS, (2025, 4, 12), (2025, 4, 27)),
    (ETE, (2025, 7, 5), (2025, 8, 31)),
    // 2025-2026.
    (TOUSSAINT, (2025, 10, 18), (2025, 11, 2)),
    (NOEL, (2025, 12, 20), (2026, 1, 4)),
    (HIVER, (2026, 2, 21), (2026, 3, 8)),
    (PRINTEMPS, (2026, 4, 18), (2026, 5, 3)),
    (ETE, (2026, 7, 4), (2026, 8, 31)),
    // 2026-2027 — PROVISIONAL: dates as announced, checked against secondary sources only,
    // not against the arrêté; rentrée mercredi 1 septembre 2027.
    (TOUSSAINT, (2026, 10, 17), (2026, 11, 1)),
    (NOEL, (2026, 12, 19), (2027, 1, 3)),
    (HIVER, (2027, 2, 6), (2027, 2, 21)),
    (PRINTEMPS, (2027, 4, 3), (2027, 4, 18)),
    (ETE, (2027, 7, 3), (2027, 8, 31)),
    // 2027-2028 — PROVISIONAL, ESTIMATED: no official calendar known; dates follow the usual
    // rules (two weeks around 1 November and Christmas, zone rotation for winter and spring,
    // rentrée 2028 assumed on lundi 4 septembre). Replace once the arrêté is published.
    (TOUSSAINT, (2027, 10, 23), (2027, 11, 7)),
    (NOEL, (2027, 12, 18), (2028, 1, 2)),
    (HIVER, (2028, 2, 12), (2028, 2, 27)),
    (PRINTEMPS, (2028, 4, 15), (2028, 5, 1)),
    (ETE, (2028, 7, 8), (2028, 9, 3)),
];

fn ymd((y, m, d): Ymd) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

/// The periods of [`ZONE_C`] as dates.
fn zone_c_periods() -> impl Iterator<Item = (&'static str, NaiveDate, NaiveDate)> {
    ZONE_C
        .iter()
        .filter_map(|&(name, first, last)| Some((name, ymd(first)?, ymd(last)?)))
}

/// The zone C school holiday period containing `d` ("Vacances de la Toussaint", "Vacances de
/// Noël", "Vacances d'hiver", "Vacances de printemps", "Vacances d'été"); `None` on a school
/// day, a weekend between school weeks, or a date the table does not cover (see
/// [`school_calendar_known`]).
pub fn school_holiday_zone_c(d: NaiveDate) -> Option<&'static str> {
    zone_c_periods()
        .find(|&(_, first, last)| first <= d && d <= last)
        .map(|(name, _, _)| name)
}

/// Whether the zone C table covers `d`: from 1 July of the first school year of
/// [`SCHOOL_CALENDAR_RANGE`] to the last day of the last summer holidays in the table.
pub fn school_calendar_known(d: NaiveDate) -> bool {
    let first = NaiveDate::from_ymd_opt(SCHOOL_CALENDAR_RANGE.0, 7, 1);
    let last = ZONE_C.last().and_then(|&(_, _, last)| ymd(last));
    matches!((first, last), (Some(f), Some(l)) if f <= d && d <= l)
}

/// First day of the season of `d`: the 1 July on or before it (`NaiveDate::MIN` for dates
/// before the first representable 1 July).
pub fn season_start(d: NaiveDate) -> NaiveDate {
    let year = if d.month() >= 7 { d.year() } else { d.year() - 1 };
    NaiveDate::from_ymd_opt(year, 7, 1).unwrap_or(NaiveDate::MIN)
}

/// Every day of the season starting in `start_year`: 1 July `start_year` to 30 June
/// `start_year + 1`, in order (365 or 366 days; none if out of chrono's range).
pub fn season_days(start_year: i32) -> impl Iterator<Item = NaiveDate> {
    let first = NaiveDate::from_ymd_opt(start_year, 7, 1);
    let last = start_year.checked_add(1).and_then(|y| NaiveDate::from_ymd_opt(y, 6, 30));
    first
        .zip(last)
        .into_iter()
        .flat_map(|(first, last)| first.iter_days().take_while(move |d| *d <= last))
}

/// The French name of the weekday of `d`, in lower case as written in French ("lundi" to
/// "dimanche").
pub fn weekday_fr(d: NaiveDate) -> &'static str {
    match d.weekday() {
        Weekday::Mon => "lundi",
        Weekday::Tue => "mardi",
        Weekday::Wed => "mercredi",
        Weekday::Thu => "jeudi",
        Weekday::Fri => "vendredi",
        Weekday::Sat => "samedi",
        Weekday::Sun => "dimanche",
    }
}

/// Whether `d` is a Saturday or a Sunday.
pub fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn easter_sundays() {
        assert_eq!(easter(2024), Some(day(2024, 3, 31)));
        assert_eq!(easter(2025), Some(day(2025, 4, 20)));
        assert_eq!(easter(2026), Some(day(2026, 4, 5)));
        assert_eq!(easter(2027), Some(day(2027, 3, 28)));
        assert_eq!(easter(1582), None);
    }

    #[test]
    fn movable_holidays_2026() {
        assert_eq!(public_holiday(day(2026, 4, 6)), Some("Lundi de Pâques"));
        assert_eq!(public_holiday(day(2026, 5, 14)), Some("Ascension"));
        assert_eq!(public_holiday(day(2026, 5, 25)), Some("Lundi de Pentecôte"));
        assert_eq!(
            public_holiday(day(2026, 4, 5)),
            None,
            "Easter Sunday is not a jour férié of its own"
        );
    }

    #[test]
    fn fete_nationale() {
        assert_eq!(public_holiday(day(2026, 7, 14)), Some("Fête nationale"));
        assert_eq!(public_holiday(day(2026, 7, 13)), None);
    }

    #[test]
    fn eleven_distinct_holidays_each_year() {
        for year in 2019..=2030 {
            let names: Vec<_> = day(year, 1, 1)
                .iter_days()
                .take_while(|d| d.year() == year)
                .filter_map(public_holiday)
                .collect();
            assert_eq!(names.len(), 11, "{year}: {names:?}");
            assert_eq!(names.iter().collect::<BTreeSet<_>>().len(), 11, "{year}: {names:?}");
        }
    }

    #[test]
    fn school_holidays_zone_c() {
        assert_eq!(school_holiday_zone_c(day(2025, 12, 25)), Some("Vacances de Noël"));
        assert_eq!(school_holiday_zone_c(day(2026, 2, 23)), Some("Vacances d'hiver"));
        assert_eq!(school_holiday_zone_c(day(2026, 2, 21)), Some("Vacances d'hiver"));
        assert_eq!(school_holiday_zone_c(day(2026, 3, 8)), Some("Vacances d'hiver"));
        assert_eq!(school_holiday_zone_c(day(2026, 2, 20)), None);
        assert_eq!(school_holiday_zone_c(day(2026, 3, 9)), None);
        assert_eq!(school_holiday_zone_c(day(2026, 1, 15)), None);
        assert_eq!(school_holiday_zone_c(day(2026, 8, 1)), Some("Vacances d'été"));
        assert_eq!(school_holiday_zone_c(day(2026, 9, 1)), None, "rentrée");
        assert_eq!(school_holiday_zone_c(day(2021, 4, 20)), Some("Vacances de printemps"));
    }

    #[test]
    fn school_calendar_range() {
        assert!(school_calendar_known(day(2018, 7, 1)));
        assert!(school_calendar_known(day(2028, 6, 30)));
        assert!(!school_calendar_known(day(2018, 6, 30)));
        assert!(!school_calendar_known(day(2030, 1, 15)));
        assert_eq!(school_holiday_zone_c(day(2017, 12, 25)), None);
        let toussaints: Vec<_> = zone_c_periods().filter(|p| p.0 == TOUSSAINT).map(|p| p.1.year()).collect();
        assert_eq!(toussaints.first(), Some(&SCHOOL_CALENDAR_RANGE.0));
        assert_eq!(toussaints.last(), Some(&SCHOOL_CALENDAR_RANGE.1));
    }

    #[test]
    fn periods_are_well_formed() {
        let periods: Vec<_> = zone_c_periods().collect();
        assert_eq!(periods.len(), ZONE_C.len(), "every date of the table exists");
        for &(name, first, last) in &periods {
            assert!(first <= last, "{name} {first}");
            let resume = last.succ_opt().unwrap();
            assert!(!is_weekend(resume), "{name} {first}: classes resume on a {}", weekday_fr(resume));
            if name != ETE {
                assert_eq!(first.weekday(), Weekday::Sat, "{name} {first}");
                assert!((15..=16).contains(&(last - first).num_days()), "{name} {first}");
            }
        }
        for w in periods.windows(2) {
            assert!(w[0].2 < w[1].1, "{} {} overlaps {} {}", w[0].0, w[0].1, w[1].0, w[1].1);
        }
        let cycle = [TOUSSAINT, NOEL, HIVER, PRINTEMPS, ETE];
        for (i, p) in periods.iter().enumerate() {
            assert_eq!(p.0, cycle[(i + 4) % 5], "{} {}", p.0, p.1);
        }
    }

    #[test]
    fn seasons() {
        assert_eq!(season_start(day(2026, 6, 30)), day(2025, 7, 1));
        assert_eq!(season_start(day(2026, 7, 1)), day(2026, 7, 1));
        let days: Vec<_> = season_days(2026).collect();
        assert_eq!(days.len(), 365);
        assert_eq!((days[0], days[364]), (day(2026, 7, 1), day(2027, 6, 30)));
        assert_eq!(season_days(2027).count(), 366, "2028 is a leap year");
        assert!(season_days(2027).all(|d| season_start(d) == day(2027, 7, 1)));
    }

    #[test]
    fn weekdays() {
        assert_eq!(weekday_fr(day(2026, 1, 15)), "jeudi");
        assert_eq!(weekday_fr(day(2026, 7, 14)), "mardi");
        assert!(is_weekend(day(2026, 2, 21)) && is_weekend(day(2026, 2, 22)));
        assert!(!is_weekend(day(2026, 2, 23)));
    }
}
