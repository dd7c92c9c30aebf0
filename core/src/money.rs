//! Money: integer cents in storage, `rust_decimal::Decimal` at the boundary, never floats.
//!
//! Arithmetic is checked only: a sum, difference or product that leaves the range is an
//! [`Overflow`] (a 422 for the user), never a wrap-around. Amounts typed or sent by users are
//! bounded where they enter ([`MAX_ENTRY`], 100 000 € per amount), so every later sum of them
//! fits easily; the checks are the second net.

use rust_decimal::Decimal;
use std::fmt;

/// An amount in euro cents. Serialised in JSON as a decimal string in euros (`"12.50"`).
/// The cents are private: amounts are combined only through the checked operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

/// The largest amount a user may enter (a price, a tender, a refund, a gift card): 100 000 €.
pub const MAX_ENTRY: Money = Money(10_000_000);

/// An amount that does not fit: refused, never wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("montant hors limites : le calcul dépasse ce qu'un montant peut valoir")]
pub struct Overflow;

impl From<Overflow> for crate::error::CoreError {
    fn from(e: Overflow) -> Self {
        crate::error::CoreError::invalid("amount", e.to_string())
    }
}

impl Money {
    /// Nothing.
    pub const ZERO: Money = Money(0);

    /// From a number of cents (as stored).
    pub const fn cents(c: i64) -> Self {
        Money(c)
    }
    /// Whole euros (an `i32`, so the product always fits).
    pub const fn euros(e: i32) -> Self {
        Money(e as i64 * 100)
    }
    /// The number of cents (for storage and events).
    pub const fn as_cents(self) -> i64 {
        self.0
    }
    /// True above zero.
    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }
    /// True below zero.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }
    /// `self + other`, or [`Overflow`].
    pub fn checked_add(self, other: Money) -> Result<Money, Overflow> {
        self.0.checked_add(other.0).map(Money).ok_or(Overflow)
    }
    /// `self - other`, or [`Overflow`].
    pub fn checked_sub(self, other: Money) -> Result<Money, Overflow> {
        self.0.checked_sub(other.0).map(Money).ok_or(Overflow)
    }
    /// `self × quantity`, or [`Overflow`].
    pub fn checked_mul(self, quantity: i64) -> Result<Money, Overflow> {
        self.0.checked_mul(quantity).map(Money).ok_or(Overflow)
    }
    /// `-self`, or [`Overflow`].
    pub fn checked_neg(self) -> Result<Money, Overflow> {
        self.0.checked_neg().map(Money).ok_or(Overflow)
    }
    /// `self × percent / 100`, rounded half up, or [`Overflow`].
    pub fn checked_percent(self, percent: i64) -> Result<Money, Overflow> {
        let v = (self.0 as i128 * percent as i128 + 50).div_euclid(100);
        i64::try_from(v).map(Money).map_err(|_| Overflow)
    }
    /// The sum of `amounts`, or [`Overflow`] as soon as it leaves the range.
    pub fn sum<I: IntoIterator<Item = Money>>(amounts: I) -> Result<Money, Overflow> {
        amounts.into_iter().try_fold(Money::ZERO, Money::checked_add)
    }
    /// True when a user may enter this amount: at most [`MAX_ENTRY`] either way.
    pub fn within_entry_bounds(self) -> bool {
        self.0.checked_abs().is_some_and(|a| a <= MAX_ENTRY.0)
    }
    /// As a decimal number of euros.
    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }
    /// From a decimal number of euros; refuses fractions of a cent and amounts beyond `i64`.
    pub fn from_decimal(d: Decimal) -> Option<Self> {
        let scaled = d.checked_mul(Decimal::from(100))?;
        if scaled.fract() != Decimal::ZERO {
            return None;
        }
        i64::try_from(scaled).ok().map(Money)
    }
    /// Parses what a user types: `12`, `12.5`, `12,50`, `12,50 €`. Amounts beyond
    /// [`MAX_ENTRY`] either way are refused like any other bad input.
    pub fn parse(s: &str) -> Option<Self> {
        let cleaned: String = s
            .trim()
            .trim_end_matches('€')
            .trim()
            .replace(',', ".")
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{202f}')
            .collect();
        if cleaned.is_empty() || cleaned.len() > 32 {
            return None;
        }
        cleaned
            .parse::<Decimal>()
            .ok()
            .and_then(Money::from_decimal)
            .filter(|m| m.within_entry_bounds())
    }
    /// French display: `1 234,50 €`.
    pub fn display_fr(self) -> String {
        let neg = self.0 < 0;
        let abs = self.0.unsigned_abs();
        let euros = (abs / 100).to_string();
        let mut grouped = String::new();
        for (i, ch) in euros.chars().enumerate() {
            if i > 0 && (euros.len() - i).is_multiple_of(3) {
                grouped.push('\u{202f}');
            }
            grouped.push(ch);
        }
        format!("{}{},{:02}\u{a0}€", if neg { "-" } else { "" }, grouped, abs % 100)
    }
}

impl crate::db::FromCell for Money {
    /// Stored amounts are integer cents.
    fn from_cell(c: crate::db::Cell) -> Result<Self, String> {
        <i64 as crate::db::FromCell>::from_cell(c).map(Money)
    }
}

impl fmt::Display for Money {
    /// Machine display in euros with two decimals: `12.50`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_decimal())
    }
}

impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            N(serde_json::Number),
        }
        let text = match Raw::deserialize(d)? {
            Raw::S(s) => s,
            Raw::N(n) => n.to_string(),
        };
        let shown: String = text.chars().take(40).collect();
        Money::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("montant invalide : {shown} (en euros, au centime près, 100 000 € au plus)")))
    }
}

/// A VAT rate in basis points (550 = 5.5 %), displayed the French way.
pub fn vat_display(bp: i64) -> String {
    let d = Decimal::new(bp, 2).normalize();
    format!("{} %", d.to_string().replace('.', ","))
}

/// Parses a VAT rate typed as `5.5`, `5,5` or `5,5 %` into basis points.
pub fn vat_parse(s: &str) -> Option<i64> {
    let cleaned = s.trim().trim_end_matches('%').trim().replace(',', ".");
    let d: Decimal = cleaned.parse().ok()?;
    let bp = d.checked_mul(Decimal::from(100))?;
    if bp.fract() != Decimal::ZERO || bp < Decimal::ZERO || bp > Decimal::from(10_000) {
        return None;
    }
    i64::try_from(bp).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_french_amounts() {
        assert_eq!(Money::parse("12,50 €"), Some(Money::cents(1250)));
        assert_eq!(Money::parse("12"), Some(Money(1200)));
        assert_eq!(Money::parse("12.505"), None);
        assert_eq!(Money::parse("douze"), None);
        assert_eq!(Money::parse("100000"), Some(MAX_ENTRY));
        assert_eq!(Money::parse("100000.01"), None, "beyond what anyone may enter");
        assert_eq!(Money::parse("92233720368547758.07"), None);
        assert!(serde_json::from_str::<Money>("\"92233720368547758.07\"").is_err());
        assert!(serde_json::from_str::<Money>("1e300").is_err());
    }

    #[test]
    fn arithmetic_refuses_to_wrap() {
        let big = Money::cents(i64::MAX);
        assert_eq!(big.checked_add(Money::cents(1)), Err(Overflow));
        assert_eq!(Money::cents(i64::MIN).checked_sub(Money::cents(1)), Err(Overflow));
        assert_eq!(Money::cents(i64::MIN).checked_neg(), Err(Overflow));
        assert_eq!(Money::cents(1500).checked_mul(i64::MAX), Err(Overflow));
        assert_eq!(Money::sum([big, big, Money::cents(1502)]), Err(Overflow));
        assert_eq!(Money::sum([Money::cents(1000), Money::cents(500)]), Ok(Money::cents(1500)));
        assert_eq!(Money::cents(2200).checked_percent(15), Ok(Money::cents(330)));
        assert_eq!(Money::cents(1999).checked_percent(50), Ok(Money::cents(1000)));
        let e: crate::CoreError = Overflow.into();
        assert!(matches!(e, crate::CoreError::Invalid(_)), "an overflow is the user's 422");
    }

    #[test]
    fn displays_for_people_and_machines() {
        assert_eq!(Money::cents(123450).display_fr(), "1\u{202f}234,50\u{a0}€");
        assert_eq!(Money::cents(1250).to_string(), "12.50");
        assert_eq!(serde_json::to_string(&Money::cents(3500)).unwrap(), "\"35.00\"");
        let m: Money = serde_json::from_str("\"7.5\"").unwrap();
        assert_eq!(m, Money::cents(750));
    }

    #[test]
    fn vat_rates() {
        assert_eq!(vat_parse("5,5 %"), Some(550));
        assert_eq!(vat_parse("2.1"), Some(210));
        assert_eq!(vat_display(550), "5,5 %");
        assert_eq!(vat_display(2000), "20 %");
        assert_eq!(vat_parse("150"), None);
    }
}
