//! Arrow column builders for the warehouse's types: ids, text, flags, UTC instants in
//! microseconds, and cents as DECIMAL(p,2). Shared by the projection and the benchmark's
//! synthetic warehouses, so both write exactly the catalogue's types.

use datafusion::arrow::array::{ArrayRef, BooleanArray, Date32Array, Decimal128Array, Int64Array, StringArray, TimestampMicrosecondArray};
use std::sync::Arc;

/// Non-null integers.
pub fn ints(v: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(v))
}
/// Nullable integers.
pub fn opt_ints(v: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(Int64Array::from_iter(v))
}
/// Non-null text.
pub fn texts<'a>(v: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(v))
}
/// Nullable text.
pub fn opt_texts<'a>(v: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(StringArray::from_iter(v))
}
/// Flags.
pub fn bools(v: impl Iterator<Item = bool>) -> ArrayRef {
    Arc::new(BooleanArray::from_iter(v.map(Some)))
}
/// Calendar days (days since 1970-01-01).
pub fn days(v: impl Iterator<Item = i32>) -> ArrayRef {
    Arc::new(Date32Array::from_iter_values(v))
}
/// UTC instants (µs since the epoch).
pub fn times(v: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from_iter_values(v).with_timezone("UTC"))
}
/// Nullable UTC instants.
pub fn opt_times(v: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from_iter(v).with_timezone("UTC"))
}
/// Cents as DECIMAL(precision, 2) (a VAT rate in basis points is a DECIMAL(5,2) percentage).
/// A value with more digits than `precision` is refused: Parquet would store it, and every
/// reader would then see garbage.
pub fn decimals(v: impl Iterator<Item = i64>, precision: u8) -> crate::Result<ArrayRef> {
    let a = Decimal128Array::from_iter_values(v.map(|c| c as i128)).with_precision_and_scale(precision, 2)?;
    let max = max_cents(precision);
    if let Some(bad) = a.values().iter().find(|c| c.unsigned_abs() > max as u128) {
        return Err(crate::WarehouseError::OutOfRange {
            column: format!("DECIMAL({precision},2)"),
            detail: format!("{} (au plus {} en valeur absolue)", cents_text(*bad), cents_text(max as i128)),
        });
    }
    Ok(Arc::new(a))
}

/// The largest amount in cents a DECIMAL(precision, 2) holds (999,999,999,999 for 12).
pub fn max_cents(precision: u8) -> i64 {
    10i64.checked_pow(u32::from(precision.min(18))).map(|p| p - 1).unwrap_or(i64::MAX)
}

/// Does `cents` fit a DECIMAL(precision, 2)?
pub fn fits(cents: i64, precision: u8) -> bool {
    cents.unsigned_abs() <= max_cents(precision) as u64
}

fn cents_text(c: i128) -> String {
    let sign = if c < 0 { "-" } else { "" };
    let a = c.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_beyond_decimal_12_2_is_refused() {
        assert!(decimals([999_999_999_999, -999_999_999_999].into_iter(), 12).is_ok());
        let e = decimals([1, 9_000_000_000_000_000].into_iter(), 12).unwrap_err().to_string();
        assert!(e.contains("90000000000000.00"), "{e}");
        assert!(
            decimals([100_000].into_iter(), 5).is_err(),
            "a VAT rate of 1000 % does not fit DECIMAL(5,2)"
        );
        assert!(fits(999_999_999_999, 12) && !fits(1_000_000_000_000, 12) && !fits(i64::MIN, 12));
    }
}
