//! Bounded versions of the SQL functions whose output is not bounded by their input.
//!
//! The memory pool only sees what operators reserve (aggregates, sorts, joins); the batch a
//! scalar function returns is not accounted for. `repeat('x', 100000)` over 8,192 rows is an
//! 800 MB batch nobody asked the pool for, and `range(1, 1e9)` one of 8 GB: the process
//! aborts before any limit is reached. Each function here is DataFusion's own, wrapped so its
//! size argument is checked *before* it runs: at most [`MAX_VALUE_BYTES`] per text value,
//! [`MAX_LIST_LEN`] elements per list and [`MAX_LIST_ELEMENTS`] elements per batch. A refusal
//! is a `ResourcesExhausted` error, shown as "requête trop gourmande en mémoire".

use datafusion::arrow::array::{Array, ArrayRef, Int64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::datatypes::FieldRef;
use datafusion::common::{DataFusionError, ExprSchema, Result, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::execution::context::SessionContext;
use datafusion::logical_expr::interval_arithmetic::Interval;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::sort_properties::{ExprProperties, SortProperties};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};
use std::sync::Arc;

/// Longest text value `repeat`, `lpad` and `rpad` may build (bytes, or characters for the pads).
pub const MAX_VALUE_BYTES: i64 = 10_000;
/// Most elements in one list built by `array_repeat`, `array_resize`, `range`, `generate_series`.
pub const MAX_LIST_LEN: i64 = 100_000;
/// Most list elements one call may build over a whole batch.
pub const MAX_LIST_ELEMENTS: i64 = 2_000_000;

/// Which check a wrapped function gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Rule {
    /// `repeat(text, n)`: len(text) × n bytes.
    Repeat,
    /// `lpad/rpad(text, n [, fill])`: n characters.
    Pad,
    /// `array_repeat(x, n)`: n elements.
    ListCount,
    /// `array_resize(list, n [, v])`: n elements.
    ListResize,
    /// `range/generate_series([start,] stop [, step])`: (stop - start) / step elements.
    Range,
}

/// Replaces the growing functions of `ctx` by their bounded versions.
pub fn register(ctx: &SessionContext) {
    let state = ctx.state();
    for (name, rule) in [
        ("repeat", Rule::Repeat),
        ("lpad", Rule::Pad),
        ("rpad", Rule::Pad),
        ("array_repeat", Rule::ListCount),
        ("array_resize", Rule::ListResize),
        ("range", Rule::Range),
        ("generate_series", Rule::Range),
    ] {
        if let Some(inner) = state.scalar_functions().get(name) {
            ctx.register_udf(ScalarUDF::new_from_impl(Bounded {
                inner: inner.inner().clone(),
                rule,
            }));
        }
    }
}

fn refuse(what: String) -> DataFusionError {
    DataFusionError::ResourcesExhausted(what)
}

/// An integer argument: one value for every row, or one per row.
enum Ints {
    One(Option<i64>),
    Many(Int64Array),
}

impl Ints {
    fn of(v: &ColumnarValue) -> Result<Ints> {
        Ok(match v {
            ColumnarValue::Scalar(s) => match s.cast_to(&DataType::Int64)? {
                ScalarValue::Int64(n) => Ints::One(n),
                _ => Ints::One(None),
            },
            ColumnarValue::Array(a) => {
                let a = datafusion::arrow::compute::cast(a, &DataType::Int64)?;
                match a.as_any().downcast_ref::<Int64Array>() {
                    Some(a) => Ints::Many(a.clone()),
                    None => Ints::One(None),
                }
            }
        })
    }

    fn get(&self, i: usize) -> Option<i64> {
        match self {
            Ints::One(n) => *n,
            Ints::Many(a) if i < a.len() && a.is_valid(i) => Some(a.value(i)),
            Ints::Many(_) => None,
        }
    }

    /// Rows to look at: one when every argument is a single value.
    fn rows(all: &[&Ints], number_rows: usize) -> usize {
        if all.iter().all(|a| matches!(a, Ints::One(_))) {
            1
        } else {
            number_rows
        }
    }
}

/// Byte lengths of a text argument.
fn lengths(v: &ColumnarValue) -> Result<Ints> {
    Ok(match v {
        ColumnarValue::Scalar(s) => Ints::One(match s {
            ScalarValue::Utf8(Some(t)) | ScalarValue::Utf8View(Some(t)) | ScalarValue::LargeUtf8(Some(t)) => Some(t.len() as i64),
            _ => None,
        }),
        ColumnarValue::Array(a) => {
            let l: ArrayRef = datafusion::arrow::compute::kernels::length::length(a)?;
            Ints::of(&ColumnarValue::Array(l))?
        }
    })
}

fn is_integer(t: &DataType) -> bool {
    t.is_integer() || t.is_null()
}

impl Rule {
    fn check(self, name: &str, args: &ScalarFunctionArgs) -> Result<()> {
        let a = &args.args;
        match self {
            Rule::Repeat if a.len() == 2 => {
                let (len, n) = (lengths(&a[0])?, Ints::of(&a[1])?);
                for i in 0..Ints::rows(&[&len, &n], args.number_rows) {
                    let size = len.get(i).unwrap_or(0).saturating_mul(n.get(i).unwrap_or(0));
                    if size > MAX_VALUE_BYTES {
                        return Err(refuse(format!(
                            "{name} produirait une valeur de {size} octets (au plus {MAX_VALUE_BYTES} par valeur)"
                        )));
                    }
                }
            }
            Rule::Pad if a.len() >= 2 => {
                let n = Ints::of(&a[1])?;
                for i in 0..Ints::rows(&[&n], args.number_rows) {
                    let size = n.get(i).unwrap_or(0);
                    if size > MAX_VALUE_BYTES {
                        return Err(refuse(format!(
                            "{name} produirait une valeur de {size} caractères (au plus {MAX_VALUE_BYTES} par valeur)"
                        )));
                    }
                }
            }
            Rule::ListCount | Rule::ListResize if a.len() >= 2 => {
                let n = Ints::of(&a[1])?;
                let rows = if matches!(n, Ints::One(_)) {
                    args.number_rows.max(1)
                } else {
                    args.number_rows
                };
                list_sizes(name, (0..rows).map(|i| n.get(i).unwrap_or(0)))?;
            }
            Rule::Range if !a.is_empty() && a.len() <= 3 && args.arg_fields.iter().all(|f| is_integer(f.data_type())) => {
                let ints = a.iter().map(Ints::of).collect::<Result<Vec<_>>>()?;
                let refs: Vec<&Ints> = ints.iter().collect();
                let rows = if refs.iter().all(|a| matches!(a, Ints::One(_))) {
                    args.number_rows.max(1)
                } else {
                    args.number_rows
                };
                let count = |i: usize| -> i64 {
                    let (start, stop, step) = match ints.len() {
                        1 => (Some(0), ints[0].get(i), Some(1)),
                        2 => (ints[0].get(i), ints[1].get(i), Some(1)),
                        _ => (ints[0].get(i), ints[1].get(i), ints[2].get(i)),
                    };
                    match (start, stop, step) {
                        (Some(a), Some(b), Some(s)) if s != 0 => {
                            let span = (b as i128 - a as i128) / s as i128;
                            span.clamp(0, i64::MAX as i128) as i64
                        }
                        _ => 0,
                    }
                };
                list_sizes(name, (0..rows).map(count))?;
            }
            _ => {}
        }
        Ok(())
    }
}

fn list_sizes(name: &str, sizes: impl Iterator<Item = i64>) -> Result<()> {
    let mut total: i64 = 0;
    for n in sizes {
        if n > MAX_LIST_LEN {
            return Err(refuse(format!(
                "{name} produirait une liste de {n} éléments (au plus {MAX_LIST_LEN} par liste)"
            )));
        }
        total = total.saturating_add(n.max(0));
        if total > MAX_LIST_ELEMENTS {
            return Err(refuse(format!(
                "{name} produirait plus de {MAX_LIST_ELEMENTS} éléments de listes dans un même lot"
            )));
        }
    }
    Ok(())
}

/// A DataFusion function with a size check before each call; everything else is the
/// function's own.
#[derive(Debug)]
struct Bounded {
    inner: Arc<dyn ScalarUDFImpl>,
    rule: Rule,
}

impl PartialEq for Bounded {
    fn eq(&self, other: &Self) -> bool {
        self.rule == other.rule && self.inner.name() == other.inner.name()
    }
}
impl Eq for Bounded {}
impl std::hash::Hash for Bounded {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.inner.name().hash(state);
        self.rule.hash(state);
    }
}

impl ScalarUDFImpl for Bounded {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }
    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        self.inner.schema_name(args)
    }
    fn signature(&self) -> &Signature {
        self.inner.signature()
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }
    #[allow(deprecated)]
    fn is_nullable(&self, args: &[Expr], schema: &dyn ExprSchema) -> bool {
        self.inner.is_nullable(args, schema)
    }
    fn is_strict(&self) -> bool {
        self.inner.is_strict()
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        self.rule.check(self.inner.name(), &args)?;
        self.inner.invoke_with_args(args)
    }
    fn with_updated_config(&self, _config: &ConfigOptions) -> Option<ScalarUDF> {
        None
    }
    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        self.inner.simplify(args, info)
    }
    fn short_circuits(&self) -> bool {
        self.inner.short_circuits()
    }
    fn evaluate_bounds(&self, input: &[&Interval]) -> Result<Interval> {
        self.inner.evaluate_bounds(input)
    }
    fn propagate_constraints(&self, interval: &Interval, inputs: &[&Interval]) -> Result<Option<Vec<Interval>>> {
        self.inner.propagate_constraints(interval, inputs)
    }
    fn output_ordering(&self, inputs: &[ExprProperties]) -> Result<SortProperties> {
        self.inner.output_ordering(inputs)
    }
    fn preserves_lex_ordering(&self, inputs: &[ExprProperties]) -> Result<bool> {
        self.inner.preserves_lex_ordering(inputs)
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}
