//! Payment methods (configurable by the venue) and the rules for tenders: split payments must
//! add up exactly to the amount due. VAT is derived per line with fixed rounding.

use crate::db;
use crate::error::{CoreError, FieldErrors, Result};
use crate::money::Money;
use crate::store::Store;

/// A payment method.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PaymentMethod {
    /// Code, e.g. `cash`.
    pub code: String,
    /// French name.
    pub name: String,
}

/// One tender of a payment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tender {
    /// Method code.
    pub method: String,
    /// Euros, e.g. `"12.50"`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub amount: Money,
}

/// Active payment methods.
pub async fn list_methods(store: &Store) -> Result<Vec<PaymentMethod>> {
    let memo_key = "payment_methods".to_string();
    if let Some(v) = store.memo().get::<Vec<PaymentMethod>>(&memo_key) {
        return Ok(v);
    }
    let value: Vec<PaymentMethod> = crate::memo::compute(async {
        let rows: Vec<(String, String)> = db::query_as("SELECT code, name FROM payment_methods WHERE active = 1 ORDER BY sort_order, code")
            .fetch_all(store.pool())
            .await?;
        Ok(rows.into_iter().map(|(code, name)| PaymentMethod { code, name }).collect())
    })
    .await?;
    store.memo().put(&memo_key, value.clone());
    Ok(value)
}

/// At most this many tenders in one payment (a counter splits between a few methods).
pub const MAX_TENDERS: usize = 20;

/// Checks tenders against the amount due: known methods, positive amounts within what a user
/// may enter, at most [`MAX_TENDERS`], exact total (or, for an option, at most the total).
/// Returns the total tendered.
pub fn check_tenders(tenders: &[Tender], methods: &[PaymentMethod], due: Money, option: bool) -> Result<Money> {
    let mut e = FieldErrors::new();
    if tenders.len() > MAX_TENDERS {
        e.add("payments", format!("{MAX_TENDERS} règlements au plus"));
        return Err(CoreError::Invalid(e));
    }
    for t in tenders {
        if !methods.iter().any(|m| m.code == t.method) {
            let shown: String = t.method.chars().take(40).collect();
            e.add("payments", format!("moyen de paiement inconnu : {shown}"));
        }
        if !t.amount.is_positive() {
            e.add("payments", "chaque règlement doit être positif");
        } else if !t.amount.within_entry_bounds() {
            e.add("payments", "un règlement ne peut dépasser 100 000 €");
        }
    }
    e.into_result()?;
    let total = Money::sum(tenders.iter().map(|t| t.amount))?;
    if option {
        if total > due {
            return Err(CoreError::invalid(
                "payments",
                format!("acompte ({}) supérieur au montant dû ({})", total.display_fr(), due.display_fr()),
            ));
        }
    } else if total != due {
        return Err(CoreError::invalid(
            "payments",
            format!(
                "le total des règlements ({}) doit égaler le montant dû ({})",
                total.display_fr(),
                due.display_fr()
            ),
        ));
    }
    Ok(total)
}

/// Splits an amount TTC into (HT, VAT) for a rate in basis points, rounding the VAT to the
/// nearest cent (half away from zero).
pub fn split_vat(ttc: Money, rate_bp: i64) -> (Money, Money) {
    if rate_bp <= 0 {
        return (ttc, Money::cents(0));
    }
    // vat = ttc * rate / (10000 + rate), rounded.
    // In i128, so no amount and rate can overflow; |vat| ≤ |ttc|, so both parts fit.
    let num = ttc.as_cents() as i128 * rate_bp.min(10_000) as i128;
    let den = 10_000i128 + rate_bp.min(10_000) as i128;
    let vat = (num * 2 + den * num.signum()) / (den * 2);
    let vat = Money::cents(i64::try_from(vat).unwrap_or(0));
    (Money::cents(ttc.as_cents() - vat.as_cents()), vat)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn methods() -> Vec<PaymentMethod> {
        ["cash", "card"]
            .iter()
            .map(|c| PaymentMethod {
                code: c.to_string(),
                name: c.to_string(),
            })
            .collect()
    }

    #[test]
    fn split_payments_must_add_up() {
        let t = vec![
            Tender {
                method: "cash".into(),
                amount: Money::cents(1000),
            },
            Tender {
                method: "card".into(),
                amount: Money::cents(2300),
            },
        ];
        assert!(check_tenders(&t, &methods(), Money::cents(3300), false).is_ok());
        let err = check_tenders(&t, &methods(), Money::cents(3400), false).unwrap_err().to_string();
        assert!(err.contains("doit égaler"), "{err}");
        assert!(
            check_tenders(&t, &methods(), Money::cents(3400), true).is_ok(),
            "an option may be partly paid"
        );
        let bad = vec![Tender {
            method: "bitcoin".into(),
            amount: Money::cents(3300),
        }];
        assert!(check_tenders(&bad, &methods(), Money::cents(3300), false)
            .unwrap_err()
            .to_string()
            .contains("inconnu"));
        let wrap = |a: i64| Tender {
            method: "card".into(),
            amount: Money::cents(a),
        };
        // The attack of issue 10: two huge tenders that wrap around to the amount due.
        let attack = vec![wrap(9_223_372_036_854_775_807), wrap(9_223_372_036_854_775_807), wrap(1502)];
        assert!(check_tenders(&attack, &methods(), Money::cents(1500), false).is_err());
        let many = vec![wrap(1); MAX_TENDERS + 1];
        assert!(check_tenders(&many, &methods(), Money::cents(21), false).is_err());
    }

    #[test]
    fn vat_is_derived_per_line() {
        assert_eq!(split_vat(Money::cents(3300), 550), (Money::cents(3128), Money::cents(172)));
        assert_eq!(split_vat(Money::cents(1000), 2000), (Money::cents(833), Money::cents(167)));
        assert_eq!(split_vat(Money::cents(2200), 210), (Money::cents(2155), Money::cents(45)));
        assert_eq!(split_vat(Money::cents(1200), 0), (Money::cents(1200), Money::cents(0)));
        let (ht, vat) = split_vat(Money::cents(-3300), 550);
        assert_eq!((ht, vat), (Money::cents(-3128), Money::cents(-172)));
    }
}
