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

/// Checks tenders against the amount due: known methods, positive amounts, exact total
/// (or, for an option, at most the total).
pub fn check_tenders(tenders: &[Tender], methods: &[PaymentMethod], due: Money, option: bool) -> Result<()> {
    let mut e = FieldErrors::new();
    for t in tenders {
        if !methods.iter().any(|m| m.code == t.method) {
            e.add("payments", format!("moyen de paiement inconnu : {}", t.method));
        }
        if t.amount.0 <= 0 {
            e.add("payments", "chaque règlement doit être positif");
        }
    }
    e.into_result()?;
    let total: i64 = tenders.iter().map(|t| t.amount.0).sum();
    if option {
        if total > due.0 {
            return Err(CoreError::invalid(
                "payments",
                format!(
                    "acompte ({}) supérieur au montant dû ({})",
                    Money(total).display_fr(),
                    due.display_fr()
                ),
            ));
        }
    } else if total != due.0 {
        return Err(CoreError::invalid(
            "payments",
            format!(
                "le total des règlements ({}) doit égaler le montant dû ({})",
                Money(total).display_fr(),
                due.display_fr()
            ),
        ));
    }
    Ok(())
}

/// Splits an amount TTC into (HT, VAT) for a rate in basis points, rounding the VAT to the
/// nearest cent (half away from zero).
pub fn split_vat(ttc: Money, rate_bp: i64) -> (Money, Money) {
    if rate_bp <= 0 {
        return (ttc, Money(0));
    }
    // vat = ttc * rate / (10000 + rate), rounded.
    let num = ttc.0 as i128 * rate_bp as i128;
    let den = 10_000i128 + rate_bp as i128;
    let vat = (num * 2 + den * num.signum()) / (den * 2);
    let vat = vat as i64;
    (Money(ttc.0 - vat), Money(vat))
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
                amount: Money(1000),
            },
            Tender {
                method: "card".into(),
                amount: Money(2300),
            },
        ];
        assert!(check_tenders(&t, &methods(), Money(3300), false).is_ok());
        let err = check_tenders(&t, &methods(), Money(3400), false).unwrap_err().to_string();
        assert!(err.contains("doit égaler"), "{err}");
        assert!(
            check_tenders(&t, &methods(), Money(3400), true).is_ok(),
            "an option may be partly paid"
        );
        let bad = vec![Tender {
            method: "bitcoin".into(),
            amount: Money(3300),
        }];
        assert!(check_tenders(&bad, &methods(), Money(3300), false)
            .unwrap_err()
            .to_string()
            .contains("inconnu"));
    }

    #[test]
    fn vat_is_derived_per_line() {
        assert_eq!(split_vat(Money(3300), 550), (Money(3128), Money(172)));
        assert_eq!(split_vat(Money(1000), 2000), (Money(833), Money(167)));
        assert_eq!(split_vat(Money(2200), 210), (Money(2155), Money(45)));
        assert_eq!(split_vat(Money(1200), 0), (Money(1200), Money(0)));
        let (ht, vat) = split_vat(Money(-3300), 550);
        assert_eq!((ht, vat), (Money(-3128), Money(-172)));
    }
}
