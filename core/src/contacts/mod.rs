//! Contacts: the people who buy and attend. The sales core needs only the payer of an order
//! (found by email or created); the CRM issue extends the record, starting with the
//! data-quality rules every write goes through ([`quality`]).

pub mod quality;

use crate::db;
use crate::error::{CoreError, FieldErrors, Result};
use crate::events::Event;
use crate::store::{Change, WriteTx};

/// A contact.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Contact {
    /// Id.
    pub id: i64,
    /// Last name, upper case.
    pub last_name: String,
    /// First name.
    pub first_name: String,
    /// Email, lower case.
    pub email: Option<String>,
}

/// Who pays: an existing contact, or a person to find by email or create.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PayerInput {
    /// An existing contact.
    pub contact_id: Option<i64>,
    /// Last name.
    pub last_name: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Postal code (French: 5 digits), when known.
    pub postal_code: Option<String>,
    /// City, when known.
    pub city: Option<String>,
}

/// A plausible email: something@domain.tld, no spaces.
pub fn email_ok(e: &str) -> bool {
    let Some((user, domain)) = e.split_once('@') else { return false };
    !user.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !e.contains(char::is_whitespace)
}

/// Resolves the payer inside a sale's transaction.
pub async fn resolve_payer(tx: &mut WriteTx, payer: &PayerInput) -> Result<Contact> {
    if let Some(id) = payer.contact_id {
        let row: Option<(String, String, Option<String>)> = db::query_as("SELECT last_name, first_name, email FROM contacts WHERE id = $1")
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
        let (last_name, first_name, email) = row.ok_or_else(|| CoreError::invalid("payer", format!("contact {id} introuvable")))?;
        return Ok(Contact {
            id,
            last_name,
            first_name,
            email,
        });
    }
    let mut e = FieldErrors::new();
    let last = payer.last_name.as_deref().map(str::trim).unwrap_or("").to_uppercase();
    let first = payer.first_name.as_deref().map(str::trim).unwrap_or("").to_string();
    let email = payer.email.as_deref().map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty());
    if last.is_empty() {
        e.add("payer.last_name", "nom de l'acheteur obligatoire");
    }
    if let Some(m) = &email {
        if !email_ok(m) {
            e.add("payer.email", format!("adresse électronique invalide : {m}"));
        }
    }
    let postal_code = payer.postal_code.as_deref().map(str::trim).unwrap_or("").to_string();
    let well_formed = postal_code.len() == 5 && postal_code.chars().all(|c| c.is_ascii_digit());
    if !postal_code.is_empty() && !well_formed {
        e.add("payer.postal_code", format!("code postal invalide : {postal_code} (5 chiffres)"));
    }
    let city = payer.city.as_deref().map(str::trim).unwrap_or("").to_string();
    e.into_result()?;
    if let Some(m) = &email {
        let found: Option<(i64, String, String)> =
            db::query_as("SELECT id, last_name, first_name FROM contacts WHERE email = $1 ORDER BY id LIMIT 1")
                .bind(m)
                .fetch_optional(tx.conn())
                .await?;
        if let Some((id, last_name, first_name)) = found {
            return Ok(Contact {
                id,
                last_name,
                first_name,
                email: Some(m.clone()),
            });
        }
    }
    let now = crate::time::now_db();
    let (id,): (i64,) = db::query_as(
        "INSERT INTO contacts (last_name, first_name, email, postal_code, city, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(&last)
    .bind(&first)
    .bind(&email)
    .bind(&postal_code)
    .bind(&city)
    .bind(&now)
    .bind(&now)
    .fetch_one(tx.conn())
    .await?;
    let c = Contact {
        id,
        last_name: last,
        first_name: first,
        email,
    };
    tx.record(
        // By id only: the name and email stay in `contacts`, where erasure reaches them.
        Change::new("contact.create", "contact", id).after(&serde_json::json!({ "id": id })),
        Some(Event::ContactCreated {
            contact_id: id,
            postal_code: Some(postal_code).filter(|p| !p.is_empty()),
            city: Some(city).filter(|c| !c.is_empty()),
        }),
    )
    .await?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    #[test]
    fn emails() {
        assert!(super::email_ok("marie@example.fr"));
        assert!(!super::email_ok("marie@example"));
        assert!(!super::email_ok("marie example@x.fr"));
    }
}
