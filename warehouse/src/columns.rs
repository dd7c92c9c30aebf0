//! Arrow column builders for the warehouse's types: ids, text, flags, UTC instants in
//! microseconds, and cents as DECIMAL(p,2). Shared by the projection and the benchmark's
//! synthetic warehouses, so both write exactly the catalogue's types.

use datafusion::arrow::array::{ArrayRef, BooleanArray, Decimal128Array, Int64Array, StringArray, TimestampMicrosecondArray};
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
/// UTC instants (µs since the epoch).
pub fn times(v: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from_iter_values(v).with_timezone("UTC"))
}
/// Nullable UTC instants.
pub fn opt_times(v: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from_iter(v).with_timezone("UTC"))
}
/// Cents as DECIMAL(precision, 2) (a VAT rate in basis points is a DECIMAL(5,2) percentage).
pub fn decimals(v: impl Iterator<Item = i64>, precision: u8) -> crate::Result<ArrayRef> {
    Ok(Arc::new(
        Decimal128Array::from_iter_values(v.map(|c| c as i128)).with_precision_and_scale(precision, 2)?,
    ))
}
