//! What the API returns: JSON shapes with their OpenAPI schemas.

use parterre_core::catalog::{self, HallLayout, Performance, Product, Season, Show, ShowPrice};
use parterre_core::{money, time};
use serde::Serialize;
use utoipa::ToSchema;

/// An error: `error` and `reason` carry the same French message; `fields` maps each invalid
/// field to its message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Message.
    pub error: String,
    /// Same message (clients may read either).
    pub reason: String,
    /// Per-field messages, on 422.
    #[schema(value_type = Option<Object>)]
    pub fields: Option<serde_json::Value>,
}

/// One layout of one hall.
#[derive(Debug, Serialize, ToSchema)]
pub struct HallDto {
    /// Hall id.
    pub id: i64,
    /// Hall name.
    pub name: String,
    /// Layout name (a hall may have several: one entry each).
    pub layout: String,
    /// Layout id (what performances reference).
    pub layout_id: i64,
    /// Venue name.
    pub venue: String,
    /// Numbered seats or free placement.
    pub numbered: bool,
    /// Places.
    pub capacity: i64,
    /// Wheelchair places.
    pub pmr_places: i64,
    /// A template plan with variable capacity (circus tent, off-site).
    pub template: bool,
}

impl From<HallLayout> for HallDto {
    fn from(h: HallLayout) -> Self {
        HallDto {
            id: h.hall_id,
            name: h.hall_name,
            layout: h.layout_name,
            layout_id: h.layout_id,
            venue: h.venue_name,
            numbered: h.numbered,
            capacity: h.capacity,
            pmr_places: h.pmr_places,
            template: h.is_template,
        }
    }
}

/// A season.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeasonDto {
    /// Id.
    pub id: i64,
    /// `2026-2027`.
    pub name: String,
    /// `2026-07-01`.
    pub starts_on: String,
    /// `2027-06-30`.
    pub ends_on: String,
    /// Contains today.
    pub current: bool,
}

impl SeasonDto {
    /// From a season, given today.
    pub fn new(s: Season, today: chrono::NaiveDate) -> Self {
        SeasonDto {
            id: s.id,
            current: s.contains(today),
            name: s.name,
            starts_on: time::date_to_db(s.starts_on),
            ends_on: time::date_to_db(s.ends_on),
        }
    }
}

/// A show's price in one category.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceDto {
    /// Price category id.
    pub price_category_id: i64,
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Euros, e.g. `"33.00"`.
    #[schema(value_type = String, example = "33.00")]
    pub amount: parterre_core::Money,
    /// A special price of this show (else the season's grid).
    pub special: bool,
}

impl From<ShowPrice> for PriceDto {
    fn from(p: ShowPrice) -> Self {
        PriceDto {
            price_category_id: p.price_category_id,
            code: p.code,
            name: p.name,
            amount: p.amount,
            special: p.special,
        }
    }
}

fn rfc3339(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .and_then(time::from_db)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// A show, with every field. Its fields round-trip: a `GET` body can be sent back as `PUT`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShowDto {
    /// Id.
    pub id: i64,
    /// Season id.
    pub season_id: i64,
    /// Title.
    pub name: String,
    /// Picture for the web.
    pub picture_url: String,
    /// Minutes.
    pub duration_minutes: i64,
    /// Discipline.
    pub discipline: parterre_core::catalog::Discipline,
    /// all | young | school | festival.
    pub audience: String,
    /// Minimum age.
    pub min_age: Option<i64>,
    /// Show category of the price grid.
    pub tier: parterre_core::catalog::Tier,
    /// VAT rate in percent, e.g. `"5.5"`.
    pub vat_rate: String,
    /// Web sale opening, RFC 3339 UTC.
    pub web_sale_opens_at: Option<String>,
    /// Web sale closing.
    pub web_sale_closes_at: Option<String>,
    /// Usual hall.
    pub hall_id: Option<i64>,
    /// Numbered placement.
    pub numbered: bool,
    /// Ticket number prefix.
    pub ticket_prefix: String,
    /// Accounting analytic code (≤ 10 characters).
    pub analytic_code: String,
    /// Artistic direction.
    pub artistic_director: String,
    /// Company.
    pub company: String,
    /// Presentation text.
    pub description: String,
    /// New creation.
    pub is_creation: bool,
    /// Archived.
    pub archived: bool,
    /// Library template.
    pub is_template: bool,
    /// Prices by category (grid or special).
    pub prices: Vec<PriceDto>,
}

impl ShowDto {
    /// From a show and its prices.
    pub fn new(s: Show, prices: Vec<ShowPrice>) -> Self {
        ShowDto {
            id: s.id,
            season_id: s.season_id,
            vat_rate: rust_decimal::Decimal::new(s.vat_rate_bp, 2).normalize().to_string(),
            web_sale_opens_at: rfc3339(&s.web_sale_opens_at),
            web_sale_closes_at: rfc3339(&s.web_sale_closes_at),
            name: s.name,
            picture_url: s.picture_url,
            duration_minutes: s.duration_minutes,
            discipline: s.discipline,
            audience: s.audience,
            min_age: s.min_age,
            tier: s.tier,
            hall_id: s.hall_id,
            numbered: s.numbered,
            ticket_prefix: s.ticket_prefix,
            analytic_code: s.analytic_code,
            artistic_director: s.artistic_director,
            company: s.company,
            description: s.description,
            is_creation: s.is_creation,
            archived: s.archived,
            is_template: s.is_template,
            prices: prices.into_iter().map(PriceDto::from).collect(),
        }
    }
}

/// A quota.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaDto {
    /// school | group | company | invitation | partner | press.
    pub family: String,
    /// Places.
    pub places: i64,
}

/// A performance.
#[derive(Debug, Serialize, ToSchema)]
pub struct PerformanceDto {
    /// Id.
    pub id: i64,
    /// Show.
    pub show_id: i64,
    /// Show title.
    pub show_name: String,
    /// Season id.
    pub season_id: i64,
    /// Hall.
    pub hall_id: i64,
    /// Hall name.
    pub hall_name: String,
    /// Layout.
    pub layout_id: i64,
    /// Layout name.
    pub layout_name: String,
    /// Numbered placement.
    pub numbered: bool,
    /// Places.
    pub capacity: i64,
    /// Start, RFC 3339 UTC.
    pub starts_at: String,
    /// Web sale opening.
    pub web_sale_opens_at: Option<String>,
    /// Web sale closing.
    pub web_sale_closes_at: Option<String>,
    /// On sale on the web now.
    pub on_sale: bool,
    /// Cancelled.
    pub cancelled: bool,
    /// Quotas.
    pub quotas: Vec<QuotaDto>,
}

impl From<Performance> for PerformanceDto {
    fn from(p: Performance) -> Self {
        let fmt = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        PerformanceDto {
            on_sale: p.on_sale_at(chrono::Utc::now()),
            id: p.id,
            show_id: p.show_id,
            show_name: p.show_name,
            season_id: p.season_id,
            hall_id: p.hall_id,
            hall_name: p.hall_name,
            layout_id: p.layout_id,
            layout_name: p.layout_name,
            numbered: p.numbered,
            capacity: p.capacity,
            starts_at: fmt(p.starts_at),
            web_sale_opens_at: p.web_sale_opens_at.map(fmt),
            web_sale_closes_at: p.web_sale_closes_at.map(fmt),
            cancelled: p.cancelled,
            quotas: p
                .quotas
                .into_iter()
                .map(|q| QuotaDto {
                    family: q.family,
                    places: q.places,
                })
                .collect(),
        }
    }
}

/// A seat of a plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeatDto {
    /// Id.
    pub id: i64,
    /// Row label.
    pub row: String,
    /// Number in the row.
    pub number: i64,
    /// impair | pair.
    pub side: String,
    /// Zone.
    pub zone: String,
    /// Wheelchair place.
    pub pmr: bool,
    /// Drawing x.
    pub x: i64,
    /// Drawing y.
    pub y: i64,
}

/// The plan of a performance's hall layout.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanDto {
    /// Performance.
    pub performance_id: i64,
    /// Hall.
    pub hall_id: i64,
    /// Layout.
    pub layout_id: i64,
    /// Numbered placement.
    pub numbered: bool,
    /// Places.
    pub capacity: i64,
    /// Wheelchair places.
    pub pmr_places: i64,
    /// Seats (empty for free placement).
    pub seats: Vec<SeatDto>,
}

/// A price category.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceCategoryDto {
    /// Id.
    pub id: i64,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// A proof must be checked before an e-ticket is issued.
    pub needs_proof: bool,
}

impl From<catalog::PriceCategory> for PriceCategoryDto {
    fn from(c: catalog::PriceCategory) -> Self {
        PriceCategoryDto {
            id: c.id,
            code: c.code,
            name: c.name,
            needs_proof: c.needs_proof,
        }
    }
}

/// A product.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductDto {
    /// Id.
    pub id: i64,
    /// Season id.
    pub season_id: i64,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// formule | pass | card | annex | gift_card | suspended.
    pub kind: String,
    /// Shows in a formule.
    pub size: Option<i64>,
    /// Price in euros (none: priced per show, or free amount).
    #[schema(value_type = Option<String>, example = "12.00")]
    pub price: Option<parterre_core::Money>,
    /// Reduced price.
    #[schema(value_type = Option<String>)]
    pub reduced_price: Option<parterre_core::Money>,
    /// VAT rate in percent.
    pub vat_rate: String,
}

impl From<Product> for ProductDto {
    fn from(p: Product) -> Self {
        ProductDto {
            id: p.id,
            season_id: p.season_id,
            code: p.code,
            name: p.name,
            kind: p.kind,
            size: p.size,
            price: p.price,
            reduced_price: p.reduced_price,
            vat_rate: money::vat_display(p.vat_rate_bp).trim_end_matches(" %").replace(',', "."),
        }
    }
}
