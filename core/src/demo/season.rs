//! The demo season's programme: price grid, products, ~65 shows, ~200 performances.

use super::halls::DemoHalls;
use crate::catalog::{performances, prices, shows, PerformanceInput, ProductInput, Quota, Season, ShowInput};
use crate::catalog::{Discipline, Tier};
use crate::error::Result;
use crate::money::Money;
use crate::store::{Actor, Store};
use crate::time;
use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Price categories: code, name, needs proof, sort.
pub const PRICE_CATEGORIES: &[(&str, &str, bool)] = &[
    ("full", "Plein tarif", false),
    ("reduced", "Tarif réduit", true),
    ("under30", "Moins de 30 ans", true),
    ("under12", "Moins de 12 ans", true),
    ("pass_curiosite", "Tarif Pass Curiosité", false),
    ("pass_culture", "Pass Culture", true),
    ("school", "Scolaire", false),
    ("invitation", "Invitation", false),
];

/// grid: per show category, full / reduced / under 30 / under 12 in euros.
pub const GRID: &[(Tier, [i32; 4])] = &[
    (Tier::APlus, [35, 31, 24, 16]),
    (Tier::A, [33, 27, 24, 16]),
    (Tier::B, [28, 26, 22, 15]),
    (Tier::C, [22, 20, 17, 14]),
    (Tier::D, [15, 13, 13, 10]),
];

/// School price per show category, in euros.
const SCHOOL: [i32; 5] = [10, 10, 9, 8, 6];

/// Creates the price categories, the season's grid and its products (idempotent).
pub async fn ensure_prices(store: &Store, actor: &Actor, season_id: i64) -> Result<()> {
    let mut ids = Vec::new();
    for (i, (code, name, proof)) in PRICE_CATEGORIES.iter().enumerate() {
        ids.push(prices::ensure_price_category(store, actor, code, name, *proof, i as i64).await?);
    }
    let existing = prices::grid(store, season_id).await?;
    for (t, (tier, amounts)) in GRID.iter().enumerate() {
        // full, reduced, under30, under12, then Pass Curiosité = reduced, Pass Culture = under 30.
        let cells = [
            (ids[0], amounts[0]),
            (ids[1], amounts[1]),
            (ids[2], amounts[2]),
            (ids[3], amounts[3]),
            (ids[4], amounts[1]),
            (ids[5], amounts[2]),
            (ids[6], SCHOOL[t]),
            (ids[7], 0),
        ];
        for (pc, euros) in cells {
            if !existing.iter().any(|c| c.tier == *tier && c.price_category_id == pc) {
                prices::set_grid_price(store, actor, season_id, *tier, pc, Money::euros(euros)).await?;
            }
        }
    }
    let products: &[(&str, &str, &str, Option<i64>, Option<i32>, Option<i32>, i64)] = &[
        ("formule5", "Formule 5 spectacles", "formule", Some(5), None, None, 550),
        ("formule10", "Formule 10 spectacles", "formule", Some(10), None, None, 550),
        ("formule15", "Formule 15 spectacles", "formule", Some(15), None, None, 550),
        ("pass_curiosite", "Pass Curiosité", "pass", None, Some(12), Some(8), 550),
        ("pass_festival", "Pass festival", "pass", None, Some(40), Some(30), 550),
        ("carte_famille", "Carte famille", "card", None, Some(15), None, 550),
        ("billet_suspendu", "Billet suspendu", "suspended", None, Some(12), None, 550),
        ("panier_repas", "Panier repas", "annex", None, Some(14), None, 1000),
        ("garde_enfants", "Garde d'enfants", "annex", None, Some(5), None, 2000),
        ("atelier", "Atelier", "annex", None, Some(10), None, 550),
        ("carte_cadeau", "Carte cadeau", "gift_card", None, None, None, 0),
    ];
    for (code, name, kind, size, price, reduced, vat) in products {
        let input = ProductInput {
            code: code.to_string(),
            name: name.to_string(),
            kind: kind.to_string(),
            size: *size,
            price: price.map(Money::euros),
            reduced_price: reduced.map(Money::euros),
            vat_rate_bp: *vat,
        };
        prices::ensure_product(store, actor, season_id, &input).await?;
    }
    Ok(())
}

const TITLE_A: [&str; 13] = [
    "Les Nuits",
    "Le Chant",
    "La Traversée",
    "Les Veilleurs",
    "L'Ombre",
    "Le Bal",
    "La Tempête",
    "Les Oiseaux",
    "Le Voyage",
    "La Fugue",
    "Les Géants",
    "Le Silence",
    "La Marche",
];
const TITLE_B: [&str; 5] = ["du Nord", "des Vagues", "sans fin", "de la ville", "à l'envers"];
const DIRECTORS: [&str; 10] = [
    "Claire Lemoine",
    "Julien Barrault",
    "Amina Diallo",
    "Pierre Vasseur",
    "Léa Marchetti",
    "Hugo Fontaine",
    "Nadia Benali",
    "Thomas Girard",
    "Sofia Almeida",
    "Mathieu Roche",
];
const DISCIPLINE_CYCLE: [Discipline; 20] = {
    use Discipline::*;
    [
        Theatre,
        Music,
        Theatre,
        Dance,
        Theatre,
        Music,
        Circus,
        Theatre,
        Dance,
        Puppetry,
        Theatre,
        Music,
        Humour,
        Theatre,
        Dance,
        Multidisciplinary,
        Theatre,
        Music,
        Opera,
        Puppetry,
    ]
};

/// Number of shows in the demo season.
pub const SHOWS: usize = 65;
/// Number of performances in the demo season.
pub const PERFORMANCES: usize = 200;

/// Performances per show: 2, 3, 4 in turn, topped up to exactly [`PERFORMANCES`].
pub fn performance_counts() -> Vec<usize> {
    let mut counts: Vec<usize> = (0..SHOWS).map(|i| 2 + i % 3).collect();
    let mut i = 0;
    while counts.iter().sum::<usize>() < PERFORMANCES {
        if counts[i] < 5 {
            counts[i] += 1;
        }
        i = (i + 7) % SHOWS;
    }
    counts
}

fn tier_for(i: usize) -> Tier {
    match i % 13 {
        0 => Tier::APlus,
        1 | 5 | 9 => Tier::A,
        2 | 6 | 10 | 12 => Tier::B,
        3 | 7 | 11 => Tier::C,
        _ => Tier::D,
    }
}

/// Creates the season's shows and performances.
pub async fn create_programme(store: &Store, actor: &Actor, season: &Season, halls: &DemoHalls) -> Result<()> {
    let counts = performance_counts();
    let start_year = season.starts_on.year();
    let sale_opens = format!("{start_year:04}-06-20T10:00", start_year = start_year);
    let first_day = NaiveDate::from_ymd_opt(start_year, 9, 15).unwrap_or(season.starts_on);
    let last_day = NaiveDate::from_ymd_opt(start_year + 1, 6, 20).unwrap_or(season.ends_on);
    let mut busy: std::collections::HashMap<i64, NaiveDate> = std::collections::HashMap::new();
    let mut circus_outside = 0;
    for (i, count) in counts.iter().enumerate() {
        let discipline = DISCIPLINE_CYCLE[i % DISCIPLINE_CYCLE.len()];
        let tier = tier_for(i);
        let audience = if i % 9 == 4 {
            "young"
        } else if i == 20 || i == 47 {
            "school"
        } else if i % 16 == 15 {
            "festival"
        } else {
            "all"
        };
        let layout = if discipline == Discipline::Circus && circus_outside < 3 {
            circus_outside += 1;
            halls.chapiteau
        } else if i == 33 {
            halls.partner
        } else if audience == "young" || audience == "school" || tier == Tier::D {
            halls.gonzalez
        } else if tier == Tier::APlus || tier == Tier::A {
            halls.grande_numbered
        } else if discipline == Discipline::Music && tier == Tier::C {
            halls.bb_standing
        } else if tier == Tier::C {
            halls.bb_bifrontal
        } else if i % 2 == 0 {
            halls.bb_frontal
        } else {
            halls.grande_numbered
        };
        let hall_key = match layout {
            l if l == halls.bb_frontal || l == halls.bb_bifrontal || l == halls.bb_standing => halls.bb_frontal,
            l => l,
        };
        let numbered = layout == halls.grande_numbered || layout == halls.bb_frontal;
        let name = format!("{} {}", TITLE_A[i % 13], TITLE_B[i % 5]);
        let input = ShowInput {
            season_id: Some(season.id),
            name: name.clone(),
            picture_url: String::new(),
            duration_minutes: Some(60 + ((i * 17) % 10) as i64 * 10),
            discipline: discipline.code().into(),
            audience: audience.into(),
            min_age: match audience {
                "young" | "school" => Some(6),
                _ if i % 4 == 0 => Some(12),
                _ => None,
            },
            tier: tier.code().into(),
            vat_rate: Some(if i % 6 == 0 { "2.1" } else { "5.5" }.into()),
            web_sale_opens_at: Some(sale_opens.clone()),
            web_sale_closes_at: None,
            hall_id: Some(crate::catalog::venues::get_layout(store, layout).await?.hall_id),
            numbered,
            ticket_prefix: format!("S{:02}", i + 1),
            analytic_code: format!("SP{:02}{:03}", start_year % 100, i + 1),
            artistic_director: DIRECTORS[i % DIRECTORS.len()].into(),
            company: format!(
                "Compagnie {}",
                ["des Halles", "du Héron", "Lunaire", "Fil Rouge", "L'Entre-deux"][i % 5]
            ),
            description: format!(
                "{name} : une pièce de la saison {}, accessible dès {} ans.",
                season.name,
                if audience == "young" { 6 } else { 12 }
            ),
            is_creation: i % 6 == 0,
            archived: false,
            is_template: false,
        };
        let show = shows::create_show(store, actor, &input).await?;
        // Dates: spread over September–June, each hall used by one show at a time.
        let planned = first_day + Duration::days((i as i64 * 270) / SHOWS as i64);
        let free = busy.get(&hall_key).copied().unwrap_or(first_day);
        let mut day = planned.max(free);
        if day + Duration::days(*count as i64) > last_day {
            day = planned;
        }
        for k in 0..*count {
            let date = day + Duration::days(k as i64);
            let (h, m) = if audience == "school" {
                if k % 2 == 0 {
                    (10, 0)
                } else {
                    (14, 30)
                }
            } else if date.weekday() == Weekday::Sun {
                (16, 0)
            } else {
                (20, 0)
            };
            let local = date.and_hms_opt(h, m, 0).unwrap_or_default();
            let starts = time::paris_to_utc(local).map(time::to_db).unwrap_or_default();
            let capacity = crate::catalog::venues::get_layout(store, layout).await?.capacity;
            let mut quotas = vec![Quota {
                family: "invitation".into(),
                places: (capacity / 25).max(2),
            }];
            if audience == "school" {
                quotas.push(Quota {
                    family: "school".into(),
                    places: capacity * 8 / 10,
                });
            } else if capacity >= 300 {
                quotas.push(Quota {
                    family: "company".into(),
                    places: 10,
                });
                quotas.push(Quota {
                    family: "group".into(),
                    places: capacity / 20,
                });
            }
            let input = PerformanceInput {
                show_id: Some(show.id),
                layout_id: Some(layout),
                hall_id: None,
                starts_at: starts,
                web_sale_opens_at: Some(sale_opens.clone()),
                web_sale_closes_at: None,
                cancelled: false,
                quotas: Some(quotas),
            };
            performances::create_performance(store, actor, &input).await?;
        }
        busy.insert(hall_key, day + Duration::days(*count as i64));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_200_performances_over_65_shows() {
        let c = performance_counts();
        assert_eq!(c.len(), SHOWS);
        assert_eq!(c.iter().sum::<usize>(), PERFORMANCES);
        assert!(c.iter().all(|n| (2..=5).contains(n)));
    }

    #[test]
    fn titles_are_unique() {
        let mut t: Vec<String> = (0..SHOWS).map(|i| format!("{} {}", TITLE_A[i % 13], TITLE_B[i % 5])).collect();
        t.sort();
        t.dedup();
        assert_eq!(t.len(), SHOWS);
    }
}
