//! Synthetic warehouses for the benchmark, in the same Parquet layout and types as the real
//! one: scale 1 is one venue over 3 seasons (65 shows, 200 performances and about 60,000
//! tickets a season, 30,000 contacts); scale N is a network of N such venues. Deterministic.

use crate::catalog::Table;
use crate::columns::{bools, decimals, ints, opt_ints, opt_texts, opt_times, texts, times};
use crate::manifest::Manifest;
use crate::write::write_file;
use crate::Result;
use datafusion::arrow::record_batch::RecordBatch;
use std::path::Path;

const SEASONS: i64 = 3;
const SHOWS: i64 = 65;
const PERFORMANCES: i64 = 200;
const CONTACTS: i64 = 30_000;
const CAPACITIES: [i64; 5] = [99, 220, 450, 843, 1_200];
const DISCIPLINES: [&str; 6] = ["theatre", "dance", "music", "circus", "puppetry", "multidisciplinary"];
const TIERS: [(&str, [i64; 4]); 5] = [
    ("A+", [3500, 3100, 2400, 1600]),
    ("A", [3300, 2700, 2400, 1600]),
    ("B", [2800, 2600, 2200, 1500]),
    ("C", [2200, 2000, 1700, 1400]),
    ("D", [1500, 1300, 1300, 1000]),
];
/// Single tickets' price categories, as the demo history sells them: code, share in percent
/// and the tier price used (Pass Culture pays the under-30 price). Formule tickets carry `full`
/// at the formule's price, as the core issues them.
const CATEGORIES: [(&str, u64, usize); 5] = [
    ("full", 50, 0),
    ("reduced", 20, 1),
    ("under30", 15, 2),
    ("under12", 10, 3),
    ("pass_culture", 5, 2),
];

/// The id of a price category of [`CATEGORIES`] (its position, from 1).
fn category_id(code: &str) -> i64 {
    CATEGORIES.iter().position(|(c, _, _)| *c == code).map_or(0, |p| p as i64 + 1)
}

fn category(dice: &mut Dice) -> (&'static str, usize) {
    let mut r = dice.below(100);
    for (code, share, price) in CATEGORIES {
        if r < share {
            return (code, price);
        }
        r -= share;
    }
    ("full", 0)
}
const CHANNELS: [&str; 3] = ["counter", "web", "phone"];

/// SplitMix64: repeatable dice.
struct Dice(u64);
impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What was generated.
#[derive(Debug, Clone, Copy, Default)]
pub struct SynthReport {
    /// Tickets written.
    pub tickets: u64,
    /// Contacts written.
    pub contacts: u64,
}

/// Microseconds of a UTC date at 20:00.
fn at(year: i32, day_of_season: i64) -> i64 {
    let start = chrono::NaiveDate::from_ymd_opt(year, 9, 15).unwrap_or_default();
    let d = start + chrono::Duration::days(day_of_season);
    d.and_hms_opt(18, 0, 0).unwrap_or_default().and_utc().timestamp_micros()
}

/// Writes a synthetic warehouse of `scale` venues into `root` (replacing what is there).
pub fn generate(root: &Path, scale: u32, mut progress: impl FnMut(u32, u32)) -> Result<SynthReport> {
    let mut report = SynthReport::default();
    let scale = scale.max(1) as i64;
    let total = (SEASONS * scale) as u32;
    // Ids are dense, from one sequence per table, as the core's database hands them out.
    let (mut ticket_id, mut order_id) = (0i64, 0i64);
    // One generation holds every file, committed at the end like a pipeline step.
    let mut manifest = Manifest::empty().next();
    let generation = manifest.generation;
    let mut put = |table: Table, season: &str, batch: &RecordBatch| -> Result<()> {
        if batch.num_rows() > 0 {
            let f = write_file(root, table, season, generation, (0, 0), batch)?;
            manifest.replace_partition(table, season, Some(f));
        }
        Ok(())
    };
    for season_k in 0..SEASONS {
        let year = 2023 + season_k as i32;
        let season = format!("{}-{}", year, year + 1);
        let mut shows = ShowCols::default();
        let mut perfs = PerfCols::default();
        let mut tickets = TicketCols::default();
        let mut contacts: (Vec<i64>, Vec<i64>) = Default::default();
        for v in 0..scale {
            progress((season_k * scale + v) as u32, total);
            let mut dice = Dice(0xC0FFEE ^ ((v as u64) << 20) ^ season_k as u64);
            let unit = season_k * scale + v;
            let base = 1 + unit * SHOWS;
            let perf_base = 1 + unit * PERFORMANCES;
            for i in 0..SHOWS {
                let tier = (i % 5) as usize;
                shows.push(
                    base + i,
                    format!("Spectacle {} ({})", i + 1, season),
                    DISCIPLINES[(i % 6) as usize],
                    TIERS[tier].0,
                    i % 6 == 0,
                    at(year, 0),
                );
            }
            for p in 0..PERFORMANCES {
                let show = base + (p * SHOWS / PERFORMANCES);
                let tier = ((show - base) % 5) as usize;
                let capacity = CAPACITIES[(p % 5) as usize];
                let starts = at(year, p * 270 / PERFORMANCES);
                perfs.push(perf_base + p, show, v * 10 + (p % 5), capacity, starts);
                // About 60,000 tickets a season: fill 45–100 %.
                let sold = capacity * (45 + dice.below(56) as i64) / 100;
                let mut left = sold;
                while left > 0 {
                    let party = (1 + dice.below(4) as i64).min(left);
                    order_id += 1;
                    let buyer = v * CONTACTS + 1 + (dice.below(CONTACTS as u64) * dice.below(CONTACTS as u64) / CONTACTS as u64) as i64;
                    let channel = CHANNELS[dice.below(3) as usize];
                    let formule = dice.below(100) < 60;
                    for _ in 0..party {
                        ticket_id += 1;
                        let (code, cat) = if formule { ("full", 0) } else { category(&mut dice) };
                        let price = TIERS[tier].1[cat] * if formule { 80 } else { 100 } / 100;
                        let r = dice.below(100);
                        let status = if r < 93 {
                            "valid"
                        } else if r < 98 {
                            "cancelled"
                        } else {
                            "exchanged"
                        };
                        tickets.push(TicketRow {
                            ticket_id,
                            order_id,
                            performance_id: perf_base + p,
                            starts_at: starts,
                            show_id: show,
                            hall_id: v * 10 + (p % 5),
                            price_category: code,
                            formule: formule.then_some("Formule 5 spectacles"),
                            channel,
                            buyer_id: buyer,
                            amount: price,
                            vat_bp: if (show - base) % 6 == 0 { 210 } else { 550 },
                            status,
                            issued_at: starts - (1 + dice.below(90) as i64) * 86_400_000_000,
                        });
                    }
                    left -= party;
                }
            }
            if season_k == 0 {
                for c in 1..=CONTACTS {
                    contacts.0.push(v * CONTACTS + c);
                    contacts.1.push(at(year, 0) - c * 1_000_000);
                }
            }
        }
        report.tickets += tickets.ticket_id.len() as u64;
        report.contacts += contacts.0.len() as u64;
        put(Table::DimShow, &season, &shows.batch()?)?;
        put(Table::DimPerformance, &season, &perfs.batch()?)?;
        put(Table::FactTicket, &season, &tickets.batch()?)?;
        if !contacts.0.is_empty() {
            let b = crate::codes::with_codes(
                Table::DimContact,
                vec![
                    ints(contacts.0.iter().copied()),
                    opt_texts(
                        contacts
                            .0
                            .iter()
                            .map(|c| Some(["77000", "77100", "75011", "93100", "77500"][(*c % 5) as usize])),
                    ),
                    opt_texts(std::iter::repeat_n(None, contacts.0.len())),
                    opt_texts(contacts.0.iter().map(|c| Some(["77", "77", "75", "93", "77"][(*c % 5) as usize]))),
                    times(contacts.1.into_iter()),
                ],
            )?;
            put(Table::DimContact, &season, &b)?;
        }
    }
    manifest.labels.insert(
        crate::codes::Dim::PriceCategory.key().to_string(),
        CATEGORIES.iter().map(|(c, _, _)| (category_id(c), c.to_string())).collect(),
    );
    manifest.commit(root, 0)?;
    progress(total, total);
    Ok(report)
}

#[derive(Default)]
struct ShowCols {
    id: Vec<i64>,
    name: Vec<String>,
    discipline: Vec<&'static str>,
    tier: Vec<&'static str>,
    creation: Vec<bool>,
    created: Vec<i64>,
}

impl ShowCols {
    fn push(&mut self, id: i64, name: String, discipline: &'static str, tier: &'static str, creation: bool, created: i64) {
        self.id.push(id);
        self.name.push(name);
        self.discipline.push(discipline);
        self.tier.push(tier);
        self.creation.push(creation);
        self.created.push(created);
    }
    fn batch(&self) -> Result<RecordBatch> {
        let n = self.id.len();
        crate::codes::with_codes(
            Table::DimShow,
            vec![
                ints(self.id.iter().copied()),
                texts(self.name.iter().map(String::as_str)),
                texts(self.discipline.iter().copied()),
                texts(std::iter::repeat_n("all", n)),
                texts(self.tier.iter().copied()),
                decimals(self.creation.iter().map(|c| if *c { 210 } else { 550 }), 5)?,
                bools(self.creation.iter().copied()),
                bools(std::iter::repeat_n(false, n)),
                times(self.created.iter().copied()),
            ],
        )
    }
}

#[derive(Default)]
struct PerfCols {
    id: Vec<i64>,
    show: Vec<i64>,
    hall: Vec<i64>,
    capacity: Vec<i64>,
    starts: Vec<i64>,
}

impl PerfCols {
    fn push(&mut self, id: i64, show: i64, hall: i64, capacity: i64, starts: i64) {
        self.id.push(id);
        self.show.push(show);
        self.hall.push(hall);
        self.capacity.push(capacity);
        self.starts.push(starts);
    }
    fn batch(&self) -> Result<RecordBatch> {
        let n = self.id.len();
        crate::codes::with_codes(
            Table::DimPerformance,
            vec![
                ints(self.id.iter().copied()),
                ints(self.show.iter().copied()),
                ints(self.hall.iter().copied()),
                opt_texts(std::iter::repeat_n(Some("Salle"), n)),
                opt_texts(std::iter::repeat_n(Some("Scène"), n)),
                ints(self.hall.iter().copied()),
                times(self.starts.iter().copied()),
                ints(self.capacity.iter().copied()),
                bools(std::iter::repeat_n(false, n)),
                ints(std::iter::repeat_n(0, n)),
                texts(std::iter::repeat_n("", n)),
            ],
        )
    }
}

struct TicketRow {
    ticket_id: i64,
    order_id: i64,
    performance_id: i64,
    starts_at: i64,
    show_id: i64,
    hall_id: i64,
    price_category: &'static str,
    formule: Option<&'static str>,
    channel: &'static str,
    buyer_id: i64,
    amount: i64,
    vat_bp: i64,
    status: &'static str,
    issued_at: i64,
}

#[derive(Default)]
struct TicketCols {
    ticket_id: Vec<i64>,
    rows: Vec<TicketRow>,
}

impl TicketCols {
    fn push(&mut self, r: TicketRow) {
        self.ticket_id.push(r.ticket_id);
        self.rows.push(r);
    }
    fn batch(&self) -> Result<RecordBatch> {
        let r = &self.rows;
        let n = r.len();
        let vat = |t: &TicketRow| {
            let num = t.amount as i128 * t.vat_bp as i128;
            let den = 10_000i128 + t.vat_bp as i128;
            ((num * 2 + den) / (den * 2)) as i64
        };
        let numbers: Vec<String> = r.iter().map(|t| format!("B{:010}", t.ticket_id)).collect();
        let orders: Vec<String> = r.iter().map(|t| format!("C{:010}", t.order_id)).collect();
        crate::codes::with_codes(
            Table::FactTicket,
            vec![
                ints(r.iter().map(|t| t.ticket_id)),
                texts(numbers.iter().map(String::as_str)),
                ints(r.iter().map(|t| t.order_id)),
                opt_texts(orders.iter().map(|s| Some(s.as_str()))),
                ints(r.iter().map(|t| t.performance_id)),
                opt_times(r.iter().map(|t| Some(t.starts_at))),
                opt_ints(r.iter().map(|t| Some(t.show_id))),
                opt_ints(r.iter().map(|t| Some(t.hall_id))),
                opt_ints(std::iter::repeat_n(None, n)),
                opt_ints(r.iter().map(|t| Some(category_id(t.price_category)))),
                opt_texts(r.iter().map(|t| Some(t.price_category))),
                texts(r.iter().map(|t| match (t.formule, t.price_category) {
                    (Some(_), _) => "formule",
                    (None, "full") => "full",
                    (None, "pass_culture") => "pass_culture",
                    _ => "reduced",
                })),
                opt_ints(r.iter().map(|t| t.formule.map(|_| 1))),
                opt_texts(r.iter().map(|t| t.formule)),
                opt_ints(std::iter::repeat_n(None, n)),
                opt_texts(std::iter::repeat_n(None, n)),
                opt_texts(std::iter::repeat_n(None, n)),
                texts(r.iter().map(|t| t.channel)),
                opt_ints(std::iter::repeat_n(Some(2), n)),
                opt_ints(r.iter().map(|t| Some(t.buyer_id))),
                opt_ints(std::iter::repeat_n(None, n)),
                decimals(r.iter().map(|t| t.amount), 12)?,
                decimals(r.iter().map(|t| t.amount - vat(t)), 12)?,
                decimals(r.iter().map(vat), 12)?,
                decimals(r.iter().map(|t| t.vat_bp), 5)?,
                texts(r.iter().map(|t| t.status)),
                times(r.iter().map(|t| t.issued_at)),
                opt_times(std::iter::repeat_n(None, n)),
                opt_times(r.iter().map(|t| (t.status == "cancelled").then_some(t.issued_at + 86_400_000_000))),
                opt_times(r.iter().map(|t| (t.status == "exchanged").then_some(t.issued_at + 86_400_000_000))),
                opt_ints(std::iter::repeat_n(None, n)),
            ],
        )
    }
}
