//! Shows with every field: create, edit, duplicate, archive, list, and their prices.

use super::{seasons, Discipline, Tier, AUDIENCES};
use crate::db;
use crate::error::{CoreError, FieldErrors, Result};
use crate::events::Event;
use crate::money::{vat_parse, Money};
use crate::store::{flag, Actor, Change, Store};
use crate::time;

/// A show.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Show {
    /// Id.
    pub id: i64,
    /// Season.
    pub season_id: i64,
    /// Title.
    pub name: String,
    /// Picture for the web (URL or path).
    pub picture_url: String,
    /// Duration in minutes.
    pub duration_minutes: i64,
    /// Discipline code.
    pub discipline: Discipline,
    /// Audience category code.
    pub audience: String,
    /// Minimum age.
    pub min_age: Option<i64>,
    /// Category of the price grid (A+ … D).
    pub tier: Tier,
    /// VAT in basis points.
    pub vat_rate_bp: i64,
    /// Web sale opening (UTC, storage format).
    pub web_sale_opens_at: Option<String>,
    /// Web sale closing.
    pub web_sale_closes_at: Option<String>,
    /// Usual hall.
    pub hall_id: Option<i64>,
    /// Numbered placement.
    pub numbered: bool,
    /// Prefix of ticket numbers.
    pub ticket_prefix: String,
    /// Accounting analytic code (10 characters at most).
    pub analytic_code: String,
    /// Artistic direction (director, conductor, choreographer…), for SIBIL.
    pub artistic_director: String,
    /// Company.
    pub company: String,
    /// Text for the web.
    pub description: String,
    /// A new creation (reduced VAT on its first 140 performances).
    pub is_creation: bool,
    /// Archived: hidden from the season, kept in the library.
    pub archived: bool,
    /// A template of the library.
    pub is_template: bool,
}

/// What a form or the API sends to create or edit a show.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShowInput {
    /// Season (the current one when absent).
    pub season_id: Option<i64>,
    /// Title.
    pub name: String,
    /// Picture.
    pub picture_url: String,
    /// Duration in minutes.
    pub duration_minutes: Option<i64>,
    /// Discipline code, checked with the other fields so every mistake is reported at once.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "theatre"))]
    pub discipline: String,
    /// Audience code (`all` when empty).
    pub audience: String,
    /// Minimum age.
    pub min_age: Option<i64>,
    /// Show category code, A+ … D (checked like the discipline).
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "A"))]
    pub tier: String,
    /// VAT rate as typed: `5.5` (default 5.5).
    pub vat_rate: Option<String>,
    /// Web sale opening: RFC 3339 or Paris time.
    pub web_sale_opens_at: Option<String>,
    /// Web sale closing.
    pub web_sale_closes_at: Option<String>,
    /// Usual hall.
    pub hall_id: Option<i64>,
    /// Numbered placement.
    pub numbered: bool,
    /// Ticket number prefix.
    pub ticket_prefix: String,
    /// Analytic code.
    pub analytic_code: String,
    /// Artistic direction.
    pub artistic_director: String,
    /// Company.
    pub company: String,
    /// Description.
    pub description: String,
    /// New creation.
    pub is_creation: bool,
    /// Archived.
    pub archived: bool,
    /// Template.
    pub is_template: bool,
}

/// A show's price in one category: the grid's, or the show's special price.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShowPrice {
    /// Price category.
    pub price_category_id: i64,
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Amount TTC.
    pub amount: Money,
    /// True when the show overrides the grid.
    pub special: bool,
}

fn opt_instant(field: &str, v: &Option<String>, e: &mut FieldErrors) -> Option<String> {
    match v.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => match time::parse_instant(s) {
            Some(t) => Some(time::to_db(t)),
            None => {
                e.add(field, "date et heure invalides (jj/mm/aaaa hh:mm)");
                None
            }
        },
    }
}

impl ShowInput {
    /// Checks every field; returns the show to store (id 0) or each field's error.
    pub fn validate(&self, season_id: i64) -> Result<Show> {
        let mut e = FieldErrors::new();
        let name = self.name.trim();
        if name.is_empty() {
            e.add("name", "le nom du spectacle est obligatoire");
        } else if name.chars().count() > 200 {
            e.add("name", "200 caractères au plus");
        }
        let duration = self.duration_minutes.unwrap_or(0);
        if !(1..=1440).contains(&duration) {
            e.add("duration_minutes", "durée en minutes obligatoire (entre 1 et 1440)");
        }
        let discipline = Discipline::parse(self.discipline.trim()).unwrap_or_else(|| {
            e.add("discipline", "choisissez une discipline");
            Discipline::Theatre
        });
        let audience = if self.audience.is_empty() { "all" } else { self.audience.as_str() };
        if !super::is_in(AUDIENCES, audience) {
            e.add("audience", "catégorie de public inconnue");
        }
        if let Some(age) = self.min_age {
            if !(0..=99).contains(&age) {
                e.add("min_age", "âge minimum entre 0 et 99");
            }
        }
        let tier = Tier::parse(self.tier.trim()).unwrap_or_else(|| {
            e.add("tier", "catégorie tarifaire A+, A, B, C ou D");
            Tier::A
        });
        let vat = match self.vat_rate.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => 550,
            Some(s) => vat_parse(s).unwrap_or_else(|| {
                e.add("vat_rate", "taux de TVA invalide (ex. 5,5)");
                0
            }),
        };
        let opens = opt_instant("web_sale_opens_at", &self.web_sale_opens_at, &mut e);
        let closes = opt_instant("web_sale_closes_at", &self.web_sale_closes_at, &mut e);
        if let (Some(o), Some(c)) = (&opens, &closes) {
            if o >= c {
                e.add("web_sale_closes_at", "la fermeture de la vente doit suivre son ouverture");
            }
        }
        let analytic = self.analytic_code.trim();
        if analytic.chars().count() > 10 {
            e.add("analytic_code", "code analytique : 10 caractères au plus");
        }
        if self.ticket_prefix.trim().chars().count() > 10 {
            e.add("ticket_prefix", "préfixe : 10 caractères au plus");
        }
        e.into_result()?;
        Ok(Show {
            id: 0,
            season_id,
            name: name.into(),
            picture_url: self.picture_url.trim().into(),
            duration_minutes: duration,
            discipline,
            audience: audience.into(),
            min_age: self.min_age,
            tier,
            vat_rate_bp: vat,
            web_sale_opens_at: opens,
            web_sale_closes_at: closes,
            hall_id: self.hall_id,
            numbered: self.numbered,
            ticket_prefix: self.ticket_prefix.trim().into(),
            analytic_code: analytic.into(),
            artistic_director: self.artistic_director.trim().into(),
            company: self.company.trim().into(),
            description: self.description.trim().into(),
            is_creation: self.is_creation,
            archived: self.archived,
            is_template: self.is_template,
        })
    }

    /// The input that would recreate `show` (for edit forms).
    pub fn from_show(show: &Show) -> Self {
        let paris = |s: &Option<String>| s.as_deref().and_then(time::from_db).map(time::input_paris);
        ShowInput {
            season_id: Some(show.season_id),
            name: show.name.clone(),
            picture_url: show.picture_url.clone(),
            duration_minutes: Some(show.duration_minutes),
            discipline: show.discipline.code().into(),
            audience: show.audience.clone(),
            min_age: show.min_age,
            tier: show.tier.code().into(),
            vat_rate: Some(crate::money::vat_display(show.vat_rate_bp).trim_end_matches(" %").to_string()),
            web_sale_opens_at: paris(&show.web_sale_opens_at),
            web_sale_closes_at: paris(&show.web_sale_closes_at),
            hall_id: show.hall_id,
            numbered: show.numbered,
            ticket_prefix: show.ticket_prefix.clone(),
            analytic_code: show.analytic_code.clone(),
            artistic_director: show.artistic_director.clone(),
            company: show.company.clone(),
            description: show.description.clone(),
            is_creation: show.is_creation,
            archived: show.archived,
            is_template: show.is_template,
        }
    }
}

async fn resolve_season(store: &Store, season_id: Option<i64>) -> Result<i64> {
    match season_id {
        Some(id) => Ok(seasons::get_season(store, id)
            .await
            .map_err(|_| CoreError::invalid("season_id", "saison inconnue"))?
            .id),
        None => seasons::season_for(store, time::today_paris())
            .await?
            .map(|s| s.id)
            .ok_or_else(|| CoreError::invalid("season_id", "aucune saison en cours : indiquez la saison")),
    }
}

async fn check_hall(store: &Store, hall_id: Option<i64>) -> Result<()> {
    if let Some(h) = hall_id {
        let found: Option<(i64,)> = db::query_as("SELECT id FROM halls WHERE id = $1")
            .bind(h)
            .fetch_optional(store.pool())
            .await?;
        if found.is_none() {
            return Err(CoreError::invalid("hall_id", "salle inconnue"));
        }
    }
    Ok(())
}

const COLUMNS: &str = "id, season_id, name, picture_url, duration_minutes, discipline, audience, min_age, tier, vat_rate_bp, \
    web_sale_opens_at, web_sale_closes_at, hall_id, numbered, ticket_prefix, analytic_code, artistic_director, company, \
    description, is_creation, archived, is_template";

fn from_row(r: &db::Row) -> Result<Show> {
    Ok(Show {
        id: r.try_get(0)?,
        season_id: r.try_get(1)?,
        name: r.try_get(2)?,
        picture_url: r.try_get(3)?,
        duration_minutes: r.try_get(4)?,
        discipline: r.try_get(5)?,
        audience: r.try_get(6)?,
        min_age: r.try_get(7)?,
        tier: r.try_get(8)?,
        vat_rate_bp: r.try_get(9)?,
        web_sale_opens_at: r.try_get(10)?,
        web_sale_closes_at: r.try_get(11)?,
        hall_id: r.try_get(12)?,
        numbered: flag(r.try_get(13)?),
        ticket_prefix: r.try_get(14)?,
        analytic_code: r.try_get(15)?,
        artistic_director: r.try_get(16)?,
        company: r.try_get(17)?,
        description: r.try_get(18)?,
        is_creation: flag(r.try_get(19)?),
        archived: flag(r.try_get(20)?),
        is_template: flag(r.try_get(21)?),
    })
}

/// Shows of a season (all seasons when `None`), by name.
pub async fn list_shows(store: &Store, season_id: Option<i64>, include_archived: bool) -> Result<Vec<Show>> {
    let rows = db::query(&format!(
        "SELECT {COLUMNS} FROM shows WHERE ($1 = 0 OR season_id = $2) AND ($3 = 1 OR archived = 0) ORDER BY name, id"
    ))
    .bind(season_id.unwrap_or(0))
    .bind(season_id.unwrap_or(0))
    .bind(include_archived as i64)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

/// One show.
pub async fn get_show(store: &Store, id: i64) -> Result<Show> {
    let memo_key = format!("show:{id}");
    if let Some(v) = store.memo().get::<Show>(&memo_key) {
        return Ok(v);
    }
    let value: Show = crate::memo::compute(async {
        let row = db::query(&format!("SELECT {COLUMNS} FROM shows WHERE id = $1"))
            .bind(id)
            .fetch_optional(store.pool())
            .await?;
        match row {
            Some(r) => from_row(&r),
            None => Err(CoreError::NotFound(format!("spectacle {id}"))),
        }
    })
    .await?;
    store.memo().put(&memo_key, value.clone());
    Ok(value)
}

async fn insert(tx: &mut crate::WriteTx, s: &Show) -> Result<i64> {
    let now = time::now_db();
    let (id,): (i64,) = db::query_as(
        "INSERT INTO shows (season_id, name, picture_url, duration_minutes, discipline, audience, min_age, tier, vat_rate_bp, \
         web_sale_opens_at, web_sale_closes_at, hall_id, numbered, ticket_prefix, analytic_code, artistic_director, company, \
         description, is_creation, archived, is_template, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23) RETURNING id",
    )
    .bind(s.season_id)
    .bind(&s.name)
    .bind(&s.picture_url)
    .bind(s.duration_minutes)
    .bind(s.discipline)
    .bind(&s.audience)
    .bind(s.min_age)
    .bind(s.tier)
    .bind(s.vat_rate_bp)
    .bind(&s.web_sale_opens_at)
    .bind(&s.web_sale_closes_at)
    .bind(s.hall_id)
    .bind(s.numbered as i64)
    .bind(&s.ticket_prefix)
    .bind(&s.analytic_code)
    .bind(&s.artistic_director)
    .bind(&s.company)
    .bind(&s.description)
    .bind(s.is_creation as i64)
    .bind(s.archived as i64)
    .bind(s.is_template as i64)
    .bind(&now)
    .bind(&now)
    .fetch_one(tx.conn())
    .await?;
    Ok(id)
}

fn created_event(s: &Show) -> Event {
    Event::ShowCreated {
        show_id: s.id,
        season_id: s.season_id,
        name: s.name.clone(),
        discipline: s.discipline,
        audience: s.audience.clone(),
        tier: s.tier,
        vat_rate_bp: s.vat_rate_bp,
        is_creation: s.is_creation,
    }
}

/// Creates a show.
pub async fn create_show(store: &Store, actor: &Actor, input: &ShowInput) -> Result<Show> {
    let season_id = resolve_season(store, input.season_id).await;
    let mut show = match (season_id, input.validate(0)) {
        (Ok(sid), Ok(show)) => Show { season_id: sid, ..show },
        (Err(CoreError::Invalid(mut a)), Err(CoreError::Invalid(b))) => {
            a.0.extend(b.0);
            return Err(CoreError::Invalid(a));
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    check_hall(store, show.hall_id).await?;
    let mut tx = store.write(actor).await?;
    show.id = insert(&mut tx, &show).await?;
    tx.record(Change::new("show.create", "show", show.id).after(&show), Some(created_event(&show)))
        .await?;
    tx.commit().await?;
    Ok(show)
}

/// Edits a show; the audit row keeps the values before and after.
pub async fn update_show(store: &Store, actor: &Actor, id: i64, input: &ShowInput) -> Result<Show> {
    let before = get_show(store, id).await?;
    let season_id = match input.season_id {
        Some(_) => resolve_season(store, input.season_id).await?,
        None => before.season_id,
    };
    let mut show = input.validate(season_id)?;
    show.id = id;
    check_hall(store, show.hall_id).await?;
    let mut tx = store.write(actor).await?;
    db::query(
        "UPDATE shows SET season_id = $1, name = $2, picture_url = $3, duration_minutes = $4, discipline = $5, audience = $6, \
         min_age = $7, tier = $8, vat_rate_bp = $9, web_sale_opens_at = $10, web_sale_closes_at = $11, hall_id = $12, numbered = $13, \
         ticket_prefix = $14, analytic_code = $15, artistic_director = $16, company = $17, description = $18, is_creation = $19, \
         archived = $20, is_template = $21, updated_at = $22 WHERE id = $23",
    )
    .bind(show.season_id)
    .bind(&show.name)
    .bind(&show.picture_url)
    .bind(show.duration_minutes)
    .bind(show.discipline)
    .bind(&show.audience)
    .bind(show.min_age)
    .bind(show.tier)
    .bind(show.vat_rate_bp)
    .bind(&show.web_sale_opens_at)
    .bind(&show.web_sale_closes_at)
    .bind(show.hall_id)
    .bind(show.numbered as i64)
    .bind(&show.ticket_prefix)
    .bind(&show.analytic_code)
    .bind(&show.artistic_director)
    .bind(&show.company)
    .bind(&show.description)
    .bind(show.is_creation as i64)
    .bind(show.archived as i64)
    .bind(show.is_template as i64)
    .bind(time::now_db())
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.record(
        Change::new("show.update", "show", id).before(&before).after(&show),
        Some(Event::ShowUpdated {
            show_id: id,
            name: show.name.clone(),
            discipline: show.discipline,
            tier: show.tier,
            archived: show.archived,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(show)
}

/// Duplicates a show (fields and special prices, not performances): « Nom (copie) ».
pub async fn duplicate_show(store: &Store, actor: &Actor, id: i64) -> Result<Show> {
    let source = get_show(store, id).await?;
    let mut copy = Show {
        name: format!("{} (copie)", source.name),
        is_template: false,
        archived: false,
        ..source.clone()
    };
    let mut tx = store.write(actor).await?;
    copy.id = insert(&mut tx, &copy).await?;
    db::query(
        "INSERT INTO show_prices (show_id, price_category_id, amount_cents) SELECT $1, price_category_id, amount_cents FROM show_prices WHERE show_id = $2",
    )
    .bind(copy.id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.record(Change::new("show.create", "show", copy.id).after(&copy), Some(created_event(&copy)))
        .await?;
    tx.record(
        Change::new("show.duplicate", "show", copy.id).after(&serde_json::json!({ "source_show_id": id })),
        Some(Event::ShowDuplicated {
            source_show_id: id,
            show_id: copy.id,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(copy)
}

/// Sets (or with `None`, removes) a show's special price in a category.
pub async fn set_show_price(store: &Store, actor: &Actor, show_id: i64, price_category_id: i64, amount: Option<Money>) -> Result<()> {
    get_show(store, show_id).await?;
    if matches!(amount, Some(m) if m.as_cents() < 0) {
        return Err(CoreError::invalid("amount", "un prix ne peut pas être négatif"));
    }
    let mut tx = store.write(actor).await?;
    db::query("DELETE FROM show_prices WHERE show_id = $1 AND price_category_id = $2")
        .bind(show_id)
        .bind(price_category_id)
        .execute(tx.conn())
        .await?;
    if let Some(m) = amount {
        db::query("INSERT INTO show_prices (show_id, price_category_id, amount_cents) VALUES ($1, $2, $3)")
            .bind(show_id)
            .bind(price_category_id)
            .bind(m.as_cents())
            .execute(tx.conn())
            .await?;
    }
    tx.record(
        Change::new("show.price", "show", show_id).after(&serde_json::json!({ "price_category_id": price_category_id, "amount": amount })),
        Some(Event::ShowPriceSet {
            show_id,
            price_category_id,
            amount_cents: amount.map(|m| m.as_cents()),
        }),
    )
    .await?;
    tx.commit().await
}

/// A show's prices: its special prices, else the grid of its season for its category.
pub async fn show_prices(store: &Store, show: &Show) -> Result<Vec<ShowPrice>> {
    let memo_key = format!("show_prices:{}", show.id);
    if let Some(v) = store.memo().get::<Vec<ShowPrice>>(&memo_key) {
        return Ok(v);
    }
    let value: Vec<ShowPrice> = crate::memo::compute(async {
        let cats = super::prices::list_price_categories(store).await?;
        let grid = super::prices::grid(store, show.season_id).await?;
        let special: Vec<(i64, i64)> = db::query_as("SELECT price_category_id, amount_cents FROM show_prices WHERE show_id = $1")
            .bind(show.id)
            .fetch_all(store.pool())
            .await?;
        Ok(cats
            .into_iter()
            .filter_map(|c| {
                let sp = special.iter().find(|(pc, _)| *pc == c.id).map(|(_, a)| Money::cents(*a));
                let gp = grid
                    .iter()
                    .find(|g| g.tier == show.tier && g.price_category_id == c.id)
                    .map(|g| g.amount);
                let amount = sp.or(gp)?;
                Some(ShowPrice {
                    price_category_id: c.id,
                    code: c.code,
                    name: c.name,
                    amount,
                    special: sp.is_some(),
                })
            })
            .collect())
    })
    .await?;
    store.memo().put(&memo_key, value.clone());
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> ShowInput {
        ShowInput {
            name: "Le Misanthrope".into(),
            duration_minutes: Some(120),
            discipline: "theatre".into(),
            tier: "A".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_show_gets_defaults() {
        let s = valid().validate(1).unwrap();
        assert_eq!(s.vat_rate_bp, 550);
        assert_eq!(s.audience, "all");
    }

    #[test]
    fn every_bad_field_is_reported_next_to_its_name() {
        let input = ShowInput {
            name: " ".into(),
            tier: "Z".into(),
            vat_rate: Some("cinq".into()),
            analytic_code: "ABCDEFGHIJK".into(),
            web_sale_opens_at: Some("2026-10-01T10:00".into()),
            web_sale_closes_at: Some("2026-09-01T10:00".into()),
            ..Default::default()
        };
        let CoreError::Invalid(e) = input.validate(1).unwrap_err() else {
            panic!()
        };
        for f in [
            "name",
            "duration_minutes",
            "discipline",
            "tier",
            "vat_rate",
            "analytic_code",
            "web_sale_closes_at",
        ] {
            assert!(e.get(f).is_some(), "no error for {f}: {e:?}");
        }
    }
}
