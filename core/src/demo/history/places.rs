//! The plan of a simulated season: who buys what, when, and what happens afterwards; and
//! the pool of buyers with their postal codes around the venue.

use super::super::sales::Dice;
use crate::catalog::{Performance, PriceCategory, Product};
use crate::contacts::PayerInput;
use crate::sales::Channel;
use chrono::{DateTime, Duration, Utc};

/// Contacts in the pool.
pub const CONTACTS: u64 = 30_000;

/// One sale to make, and its follow-ups.
#[derive(Debug, Clone)]
pub struct Step {
    pub at: DateTime<Utc>,
    pub channel: Channel,
    pub buyer: u64,
    /// A formule and its chosen performances, or single tickets below.
    pub formule: Option<(i64, Vec<i64>)>,
    pub performance_id: i64,
    pub price_category_id: i64,
    pub quantity: i64,
    pub promo: Option<String>,
    pub method: &'static str,
    /// Taken as an option until then; settled (paid or lapsed) the day before.
    pub option_until: Option<DateTime<Utc>>,
    pub lapse: bool,
    pub exchange_at: Option<DateTime<Utc>>,
    pub exchange_to: Option<i64>,
    pub refund_at: Option<DateTime<Utc>>,
}

/// The season's steps, in time order.
pub struct Plan {
    pub steps: Vec<Step>,
}

fn unit(d: &mut Dice) -> f64 {
    (d.below(1_000_000) as f64) / 1_000_000.0
}

fn pick<T: Copy>(d: &mut Dice, weighted: &[(T, u64)]) -> T {
    let total: u64 = weighted.iter().map(|w| w.1).sum();
    let mut r = d.below(total);
    for (v, w) in weighted {
        if r < *w {
            return *v;
        }
        r -= w;
    }
    weighted[0].0
}

impl Plan {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        perfs: &[Performance],
        products: &[Product],
        cats: &[PriceCategory],
        opening: DateTime<Utc>,
        cutoff: DateTime<Utc>,
        codes: &[(String, DateTime<Utc>, DateTime<Utc>)],
        tickets: usize,
        dice: &mut Dice,
    ) -> Plan {
        let perfs: Vec<&Performance> = perfs.iter().filter(|p| !p.cancelled).collect();
        // Places each performance can still take in the plan (its general capacity, quotas
        // set aside): buyers go where there is room, as they do, instead of being refused.
        let mut left: std::collections::HashMap<i64, i64> = perfs
            .iter()
            .map(|p| (p.id, p.capacity - p.quotas.iter().map(|q| q.places).sum::<i64>()))
            .collect();
        let pick_perf = |d: &mut Dice, left: &std::collections::HashMap<i64, i64>, ok: &dyn Fn(&Performance) -> bool| {
            for _ in 0..40 {
                let p = perfs[d.below(perfs.len() as u64) as usize];
                let room = left.get(&p.id).copied().unwrap_or(0);
                // Accept in proportion to the room left, so big halls get more buyers.
                if room > 0 && ok(p) && d.below(1_200) < room as u64 {
                    return Some(p);
                }
            }
            None
        };
        let cat = |code: &str| cats.iter().find(|c| c.code == code).map(|c| c.id);
        let singles: Vec<(i64, u64)> = [("full", 50), ("reduced", 20), ("under30", 15), ("under12", 10), ("pass_culture", 5)]
            .iter()
            .filter_map(|(c, w)| cat(c).map(|id| (id, *w)))
            .collect();
        let formules: Vec<(i64, usize)> = products
            .iter()
            .filter(|p| p.kind == "formule" && p.active)
            .filter_map(|p| p.size.map(|s| (p.id, s as usize)))
            .filter(|(_, s)| *s >= 2)
            .collect();
        let mut steps = Vec::new();
        if perfs.is_empty() || singles.is_empty() {
            return Plan { steps };
        }
        let base = |d: &mut Dice, at: DateTime<Utc>| Step {
            at,
            channel: pick(d, &[(Channel::Web, 45), (Channel::Counter, 45), (Channel::Phone, 10)]),
            buyer: ((CONTACTS as f64) * unit(d).powf(1.6)) as u64,
            formule: None,
            performance_id: 0,
            price_category_id: singles[0].0,
            quantity: 1,
            promo: None,
            method: pick(d, &[("card", 60), ("cash", 15), ("cheque", 15), ("holiday_voucher", 10)]),
            option_until: None,
            lapse: false,
            exchange_at: None,
            exchange_to: None,
            refund_at: None,
        };
        // About 60 % of the places in formules, sold mostly at the opening of the season.
        let mut planned = 0usize;
        if !formules.is_empty() {
            while planned < tickets * 6 / 10 {
                let (product, size) = formules[dice.below(formules.len() as u64) as usize];
                planned += size;
                let days = (120.0 * unit(dice).powi(2)) as i64;
                let at = opening + Duration::days(days) + Duration::minutes(dice.below(9 * 60) as i64);
                if at > cutoff {
                    continue;
                }
                let mut chosen: Vec<i64> = Vec::new();
                let mut shows: Vec<i64> = Vec::new();
                for _ in 0..size * 4 {
                    let Some(p) = pick_perf(dice, &left, &|p| {
                        p.starts_at > at + Duration::days(1) && !shows.contains(&p.show_id)
                    }) else {
                        continue;
                    };
                    shows.push(p.show_id);
                    chosen.push(p.id);
                    if chosen.len() == size {
                        break;
                    }
                }
                if chosen.len() < size {
                    continue;
                }
                for id in &chosen {
                    *left.entry(*id).or_default() -= 1;
                }
                let mut s = base(dice, at);
                s.formule = Some((product, chosen));
                if dice.chance(2) {
                    s.refund_at = Some(at + Duration::days(1 + dice.below(20) as i64));
                }
                steps.push(s);
            }
        }
        // The rest as single tickets, bought in the weeks before each performance.
        let mut misses = 0;
        while planned < tickets && misses < 1_000 {
            let quantity = pick(dice, &[(1i64, 25), (2, 45), (3, 15), (4, 15)]);
            let Some(p) = pick_perf(dice, &left, &|p| left.get(&p.id).copied().unwrap_or(0) >= quantity) else {
                misses += 1;
                continue;
            };
            planned += quantity as usize;
            *left.entry(p.id).or_default() -= quantity;
            let before = Duration::days(1 + (80.0 * unit(dice).powi(2)) as i64) + Duration::minutes(dice.below(9 * 60) as i64);
            let at = (p.starts_at - before).max(opening + Duration::minutes(dice.below(600) as i64));
            if at > cutoff || at >= p.starts_at {
                continue;
            }
            let mut s = base(dice, at);
            s.performance_id = p.id;
            s.quantity = quantity;
            s.price_category_id = pick(dice, &singles);
            // A price that needs a proof is sold at the counter, never on the web.
            if s.channel == Channel::Web && cats.iter().any(|c| c.id == s.price_category_id && c.needs_proof) {
                s.channel = Channel::Counter;
            }
            let to_show = p.starts_at - at;
            if let Some((code, _, _)) = codes.iter().find(|(_, from, until)| *from <= at && at < *until) {
                if dice.chance(20) {
                    s.promo = Some(code.clone());
                }
            }
            if to_show > Duration::days(12) && dice.chance(4) {
                s.option_until = Some(at + Duration::days(8));
                s.lapse = dice.chance(30);
            } else if to_show > Duration::days(3) && dice.chance(2) {
                let others: Vec<&&Performance> = perfs
                    .iter()
                    .filter(|o| o.show_id == p.show_id && o.id != p.id && o.starts_at > at + Duration::days(2))
                    .collect();
                if !others.is_empty() {
                    s.exchange_to = Some(others[dice.below(others.len() as u64) as usize].id);
                    s.exchange_at = Some(at + Duration::days(1));
                }
            } else if to_show > Duration::days(3) && dice.chance(2) {
                s.refund_at = Some(at + Duration::days(1 + dice.below(2) as i64));
            }
            steps.push(s);
        }
        steps.retain(|s| s.refund_at.is_none_or(|r| r <= cutoff) && s.exchange_at.is_none_or(|r| r <= cutoff));
        steps.sort_by_key(|s| s.at);
        Plan { steps }
    }
}

const LAST: [&str; 40] = [
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefèvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Muller",
    "Lefèvre",
    "Faure",
    "André",
    "Mercier",
    "Blanc",
    "Guérin",
    "Boyer",
    "Garnier",
    "Chevalier",
    "François",
    "Legrand",
    "Gauthier",
    "Garcia",
];
const FIRST: [&str; 30] = [
    "Camille", "Léa", "Manon", "Chloé", "Inès", "Sarah", "Julie", "Emma", "Anne", "Claire", "Sophie", "Nathalie", "Isabelle", "Marie",
    "Louise", "Lucas", "Hugo", "Thomas", "Nicolas", "Julien", "Pierre", "Antoine", "Paul", "Philippe", "Alain", "Michel", "Karim", "Mehdi",
    "Yann", "Olivier",
];
/// Communes of Seine-et-Marne around the venue (postal code, name), nearest first.
const AROUND: [(&str, &str); 20] = [
    ("77000", "Melun"),
    ("77190", "Dammarie-les-Lys"),
    ("77176", "Savigny-le-Temple"),
    ("77380", "Combs-la-Ville"),
    ("77240", "Cesson"),
    ("77310", "Saint-Fargeau-Ponthierry"),
    ("77127", "Lieusaint"),
    ("77550", "Moissy-Cramayel"),
    ("77300", "Fontainebleau"),
    ("77100", "Meaux"),
    ("77500", "Chelles"),
    ("77340", "Pontault-Combault"),
    ("77200", "Torcy"),
    ("77186", "Noisiel"),
    ("77400", "Lagny-sur-Marne"),
    ("77160", "Provins"),
    ("77120", "Coulommiers"),
    ("77140", "Nemours"),
    ("77130", "Montereau-Fault-Yonne"),
    ("77700", "Serris"),
];
const ILE_DE_FRANCE: [(&str, &str); 8] = [
    ("91000", "Évry-Courcouronnes"),
    ("91100", "Corbeil-Essonnes"),
    ("94000", "Créteil"),
    ("93100", "Montreuil"),
    ("92100", "Boulogne-Billancourt"),
    ("78000", "Versailles"),
    ("95000", "Cergy"),
    ("94300", "Vincennes"),
];
const FRANCE: [(&str, &str); 8] = [
    ("45000", "Orléans"),
    ("89100", "Sens"),
    ("69003", "Lyon"),
    ("13001", "Marseille"),
    ("33000", "Bordeaux"),
    ("59000", "Lille"),
    ("44000", "Nantes"),
    ("67000", "Strasbourg"),
];

fn strip(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' | 'É' => 'e',
            'ç' => 'c',
            'à' => 'a',
            c => c,
        })
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase()
}

/// Contact `n` of the pool: always the same person (found again by email).
pub fn buyer(n: u64) -> PayerInput {
    let mut d = Dice::new(n.wrapping_mul(0xA24B_AED4_963E_E407) ^ 0x5EED);
    let last = LAST[d.below(LAST.len() as u64) as usize];
    let first = FIRST[d.below(FIRST.len() as u64) as usize];
    let r = d.below(100);
    let (postal_code, city) = if r < 55 {
        // Nearer communes weigh more.
        AROUND[((AROUND.len() as f64) * unit(&mut d).powi(2)) as usize]
    } else if r < 75 {
        let arr = 1 + d.below(20);
        return PayerInput {
            last_name: Some(last.into()),
            first_name: Some(first.into()),
            email: Some(format!("{}.{}.{n}@exemple.fr", strip(first), strip(last))),
            postal_code: Some(format!("750{arr:02}")),
            city: Some("Paris".into()),
            contact_id: None,
        };
    } else if r < 90 {
        ILE_DE_FRANCE[d.below(ILE_DE_FRANCE.len() as u64) as usize]
    } else {
        FRANCE[d.below(FRANCE.len() as u64) as usize]
    };
    PayerInput {
        contact_id: None,
        last_name: Some(last.into()),
        first_name: Some(first.into()),
        email: Some(format!("{}.{}.{n}@exemple.fr", strip(first), strip(last))),
        postal_code: Some(postal_code.into()),
        city: Some(city.into()),
    }
}
