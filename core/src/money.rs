//! Money: integer cents in storage, `rust_decimal::Decimal` at the boundary, never floats.

use rust_decimal::Decimal;
use std::fmt;

/// An amount in euro cents. Serialised in JSON as a decimal string in euros (`"12.50"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(pub i64);

impl Money {
    /// From euros and cents in one integer.
    pub fn cents(c: i64) -> Self {
        Money(c)
    }
    /// Whole euros.
    pub fn euros(e: i64) -> Self {
        Money(e * 100)
    }
    /// As a decimal number of euros.
    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }
    /// From a decimal number of euros; refuses fractions of a cent.
    pub fn from_decimal(d: Decimal) -> Option<Self> {
        let scaled = d.checked_mul(Decimal::from(100))?;
        if scaled.fract() != Decimal::ZERO {
            return None;
        }
        i64::try_from(scaled).ok().map(Money)
    }
    /// Parses what a user types: `12`, `12.5`, `12,50`, `12,50 €`.
    pub fn parse(s: &str) -> Option<Self> {
        let cleaned: String = s
            .trim()
            .trim_end_matches('€')
            .trim()
            .replace(',', ".")
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{202f}')
            .collect();
        if cleaned.is_empty() {
            return None;
        }
        cleaned.parse::<Decimal>().ok().and_then(Money::from_decimal)
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
        Money::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("montant invalide : {text}")))
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
        assert_eq!(Money::parse("12,50 €"), Some(Money(1250)));
        assert_eq!(Money::parse("12"), Some(Money(1200)));
        assert_eq!(Money::parse("12.505"), None);
        assert_eq!(Money::parse("douze"), None);
    }

    #[test]
    fn displays_for_people_and_machines() {
        assert_eq!(Money(123450).display_fr(), "1\u{202f}234,50\u{a0}€");
        assert_eq!(Money(1250).to_string(), "12.50");
        assert_eq!(serde_json::to_string(&Money(3500)).unwrap(), "\"35.00\"");
        let m: Money = serde_json::from_str("\"7.5\"").unwrap();
        assert_eq!(m, Money(750));
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
