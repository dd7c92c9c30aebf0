//! The rewrite that lets users group and filter on coded text at integer speed
//! ([`crate::codes`]): an analyzer rule `Warehouse` registers, run on every query after type
//! coercion and before the optimizer.
//!
//! - `GROUP BY channel` becomes `GROUP BY channel_code`, with a projection on top that puts
//!   the label back under the same name, type and qualifier (a `CASE` over the codes of the
//!   generation read: a handful of values, computed once per group).
//! - In a `WHERE`, `channel = 'web'`, `<>`, `IN (…)` and `NOT IN (…)` against text literals
//!   become the same comparison on the code; a label without a code compares with -1, which no
//!   row has: false where the text is not NULL, NULL where it is, as before.
//!
//! A column is rewritten only when it provably is the table's column: its lineage is followed
//! down through filters, sorts, limits, aliases, joins and plain column projections to the
//! table scan, and its code column must come along the same way. Anything else (an expression
//! of the column, a grouping set, a column computed by a subquery) is left as written.

use crate::catalog::Table;
use crate::codes::{Dictionary, Dim};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, Result as DfResult, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr::{Case, InList};
use datafusion::logical_expr::{Aggregate, BinaryExpr, Expr, Filter, LogicalPlan, Operator, Projection};
use datafusion::optimizer::AnalyzerRule;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The rule, with the label tables of the generation it serves.
#[derive(Debug)]
pub struct CodedColumns {
    dicts: BTreeMap<Dim, Dictionary>,
}

impl CodedColumns {
    /// The rule over these label tables.
    pub fn new(dicts: BTreeMap<Dim, Dictionary>) -> Self {
        CodedColumns { dicts }
    }

    /// The code column standing for `c` in `plan`'s output, and its label table, when `c`
    /// is a coded column of a table scan passed through unchanged.
    fn lineage(&self, plan: &LogicalPlan, c: &Column) -> Option<(Column, Dim)> {
        match plan {
            LogicalPlan::TableScan(s) => {
                if c.relation.as_ref() != Some(&s.table_name) {
                    return None;
                }
                let coded = Table::from_name(s.table_name.table())?
                    .coded()
                    .iter()
                    .find(|k| k.column == c.name)?;
                if self.dicts.get(&coded.dim).is_none_or(|d| d.entries.is_empty()) {
                    return None;
                }
                let code = Column::new(c.relation.clone(), coded.code_column);
                (s.projected_schema.has_column(c) && s.projected_schema.has_column(&code)).then_some((code, coded.dim))
            }
            LogicalPlan::Filter(f) => self.lineage(&f.input, c),
            LogicalPlan::Sort(s) => self.lineage(&s.input, c),
            LogicalPlan::Limit(l) => self.lineage(&l.input, c),
            LogicalPlan::SubqueryAlias(a) => {
                if c.relation.as_ref() != Some(&a.alias) {
                    return None;
                }
                let (q, _) = a.input.schema().qualified_field_with_unqualified_name(&c.name).ok()?;
                let (inner_code, dim) = self.lineage(&a.input, &Column::new(q.cloned(), &c.name))?;
                let code = Column::new(Some(a.alias.clone()), inner_code.name);
                a.schema.has_column(&code).then_some((code, dim))
            }
            LogicalPlan::Join(j) => {
                let side = if j.left.schema().has_column(c) {
                    &j.left
                } else if j.right.schema().has_column(c) {
                    &j.right
                } else {
                    return None;
                };
                let (code, dim) = self.lineage(side, c)?;
                j.schema.has_column(&code).then_some((code, dim))
            }
            LogicalPlan::Projection(p) => {
                let i = p.schema.index_of_column(c).ok()?;
                let Expr::Column(inner) = strip_alias(p.expr.get(i)?) else {
                    return None;
                };
                let (inner_code, dim) = self.lineage(&p.input, inner)?;
                p.expr.iter().enumerate().find_map(|(j, e)| match strip_alias(e) {
                    Expr::Column(x) if *x == inner_code => {
                        let (q, f) = p.schema.qualified_field(j);
                        Some((Column::new(q.cloned(), f.name()), dim))
                    }
                    _ => None,
                })
            }
            _ => None,
        }
    }

    /// `GROUP BY <coded>` → group on the code, labels put back above.
    fn aggregate(&self, a: &Aggregate) -> DfResult<Option<LogicalPlan>> {
        if a.group_expr.iter().any(|e| matches!(e, Expr::GroupingSet(_))) {
            return Ok(None);
        }
        let mut groups = Vec::with_capacity(a.group_expr.len());
        let mut coded: Vec<Option<Dim>> = Vec::with_capacity(a.group_expr.len());
        for e in &a.group_expr {
            match e {
                Expr::Column(c) => match self.lineage(&a.input, c) {
                    Some((code, dim)) => {
                        groups.push(Expr::Column(code));
                        coded.push(Some(dim));
                    }
                    None => {
                        groups.push(e.clone());
                        coded.push(None);
                    }
                },
                e => {
                    groups.push(e.clone());
                    coded.push(None);
                }
            }
        }
        if coded.iter().all(Option::is_none) {
            return Ok(None);
        }
        let inner = Aggregate::try_new(Arc::clone(&a.input), groups, a.aggr_expr.clone())?;
        let mut exprs = Vec::with_capacity(inner.schema.fields().len());
        for (i, (q, f)) in inner.schema.iter().enumerate() {
            let col = Expr::Column(Column::new(q.cloned(), f.name()));
            match coded.get(i).copied().flatten().and_then(|d| self.dicts.get(&d)) {
                Some(dict) => {
                    let (oq, of) = a.schema.qualified_field(i);
                    exprs.push(label(col, dict, of.data_type()).alias_qualified(oq.cloned(), of.name()));
                }
                None => exprs.push(col),
            }
        }
        let top = Projection::try_new(exprs, Arc::new(LogicalPlan::Aggregate(inner)))?;
        Ok(Some(LogicalPlan::Projection(top)))
    }

    /// A comparison of a coded column with text literals → the same on the code.
    fn comparison(&self, e: Expr, input: &LogicalPlan) -> Transformed<Expr> {
        match e {
            Expr::BinaryExpr(BinaryExpr { left, op, right }) if matches!(op, Operator::Eq | Operator::NotEq) => {
                let found = match (&*left, text(&right), &*right, text(&left)) {
                    (Expr::Column(c), Some(l), _, _) | (_, _, Expr::Column(c), Some(l)) => {
                        self.lineage(input, c).map(|(code, dim)| (code, self.code(dim, l)))
                    }
                    _ => None,
                };
                match found {
                    Some((code, value)) => Transformed::yes(Expr::BinaryExpr(BinaryExpr::new(
                        Box::new(Expr::Column(code)),
                        op,
                        Box::new(int(value)),
                    ))),
                    None => Transformed::no(Expr::BinaryExpr(BinaryExpr { left, op, right })),
                }
            }
            Expr::InList(InList { expr, list, negated }) => {
                let labels: Option<Vec<&str>> = list.iter().map(text).collect();
                let found = match (&*expr, labels) {
                    (Expr::Column(c), Some(labels)) if !labels.is_empty() => self
                        .lineage(input, c)
                        .map(|(code, dim)| (code, labels.iter().map(|l| int(self.code(dim, l))).collect::<Vec<_>>())),
                    _ => None,
                };
                match found {
                    Some((code, values)) => Transformed::yes(Expr::InList(InList::new(Box::new(Expr::Column(code)), values, negated))),
                    None => Transformed::no(Expr::InList(InList { expr, list, negated })),
                }
            }
            e => Transformed::no(e),
        }
    }

    /// The code of a label (-1, which no row has, for a label without one).
    fn code(&self, dim: Dim, label: &str) -> i64 {
        self.dicts.get(&dim).and_then(|d| d.code(label)).unwrap_or(-1)
    }

    fn rewrite(&self, plan: LogicalPlan) -> DfResult<Transformed<LogicalPlan>> {
        match plan {
            LogicalPlan::Aggregate(a) => match self.aggregate(&a)? {
                Some(p) => Ok(Transformed::yes(p)),
                None => Ok(Transformed::no(LogicalPlan::Aggregate(a))),
            },
            LogicalPlan::Filter(f) => {
                let input = Arc::clone(&f.input);
                let predicate = f.predicate.clone().transform_up(|e| Ok(self.comparison(e, &input)))?;
                if predicate.transformed {
                    Ok(Transformed::yes(LogicalPlan::Filter(Filter::try_new(predicate.data, input)?)))
                } else {
                    Ok(Transformed::no(LogicalPlan::Filter(f)))
                }
            }
            p => Ok(Transformed::no(p)),
        }
    }
}

impl AnalyzerRule for CodedColumns {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> DfResult<LogicalPlan> {
        let out = plan.transform_up_with_subqueries(|p| self.rewrite(p))?;
        if !out.transformed {
            return Ok(out.data);
        }
        // Nodes above a rewritten one kept the schema they were built with: rebuild them.
        Ok(out
            .data
            .transform_up_with_subqueries(|p| p.recompute_schema().map(Transformed::yes))?
            .data)
    }

    fn name(&self) -> &str {
        "parterre_coded_columns"
    }
}

fn strip_alias(e: &Expr) -> &Expr {
    match e {
        Expr::Alias(a) => strip_alias(&a.expr),
        e => e,
    }
}

/// The text of a string literal (cast to another string type or not).
fn text(e: &Expr) -> Option<&str> {
    match e {
        Expr::Literal(ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) | ScalarValue::LargeUtf8(Some(s)), _) => Some(s.as_str()),
        Expr::Cast(c) if is_text(c.field.data_type()) => text(&c.expr),
        Expr::TryCast(c) if is_text(c.field.data_type()) => text(&c.expr),
        _ => None,
    }
}

fn is_text(t: &datafusion::arrow::datatypes::DataType) -> bool {
    use datafusion::arrow::datatypes::DataType;
    matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
}

fn int(v: i64) -> Expr {
    Expr::Literal(ScalarValue::Int64(Some(v)), None)
}

/// `CASE code WHEN 1 THEN 'counter' … END`, in the text type of the column it stands for.
fn label(code: Expr, dict: &Dictionary, as_type: &datafusion::arrow::datatypes::DataType) -> Expr {
    use datafusion::arrow::datatypes::DataType;
    let text = |s: Option<String>| {
        Box::new(Expr::Literal(
            match as_type {
                DataType::Utf8 => ScalarValue::Utf8(s),
                DataType::LargeUtf8 => ScalarValue::LargeUtf8(s),
                _ => ScalarValue::Utf8View(s),
            },
            None,
        ))
    };
    Expr::Case(Case {
        expr: Some(Box::new(code)),
        when_then_expr: dict
            .entries
            .iter()
            .map(|(c, (l, _))| (Box::new(int(*c)), text(Some(l.clone()))))
            .collect(),
        else_expr: Some(text(None)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::{dictionaries, tests::filler, with_codes};
    use crate::columns::{opt_ints, opt_texts, texts};
    use datafusion::datasource::MemTable;
    use datafusion::prelude::SessionContext;

    /// A session with six tickets: two channels, a NULL price category, and the rule.
    async fn session() -> SessionContext {
        session_with(true).await
    }

    async fn session_with(rule: bool) -> SessionContext {
        let t = Table::FactTicket;
        let s = t.schema();
        let mut cols = filler(t, 6);
        let set = |cols: &mut Vec<datafusion::arrow::array::ArrayRef>, c: &str, a| cols[s.index_of(c).unwrap()] = a;
        set(
            &mut cols,
            "channel",
            texts(["web", "web", "counter", "web", "phone", "counter"].into_iter()),
        );
        set(
            &mut cols,
            "status",
            texts(["valid", "cancelled", "valid", "valid", "valid", "option"].into_iter()),
        );
        set(&mut cols, "price_family", texts(std::iter::repeat_n("full", 6)));
        set(
            &mut cols,
            "price_category_id",
            opt_ints([Some(1), Some(2), None, Some(1), None, Some(2)].into_iter()),
        );
        set(
            &mut cols,
            "price_category",
            opt_texts([Some("full"), Some("reduced"), None, Some("full"), None, Some("reduced")].into_iter()),
        );
        let batch = with_codes(t, cols).unwrap();
        let ctx = SessionContext::new();
        ctx.register_table(
            "fact_ticket",
            Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]]).unwrap()),
        )
        .unwrap();
        let labels = [(
            "price_category".to_string(),
            [(1, "full".to_string()), (2, "reduced".to_string())].into(),
        )]
        .into();
        if rule {
            ctx.add_analyzer_rule(Arc::new(CodedColumns::new(dictionaries(&labels))));
        }
        ctx
    }

    async fn rows(ctx: &SessionContext, sql: &str) -> Vec<String> {
        let b = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&b).unwrap().to_string();
        text.lines().map(str::to_string).collect()
    }

    #[tokio::test]
    async fn grouping_and_filters_use_the_code_and_answer_as_on_the_text() {
        let ctx = session().await;
        let plan = rows(
            &ctx,
            "EXPLAIN SELECT channel, count(*) FROM fact_ticket WHERE status = 'valid' GROUP BY channel",
        )
        .await;
        let plan = plan.join("\n");
        assert!(plan.contains("channel_code") && plan.contains("status_code"), "{plan}");
        assert!(
            !plan.contains("projection=[channel,") && !plan.contains("status@"),
            "text read for nothing: {plan}"
        );
        for (coded, text) in [
            (
                "SELECT channel, count(*) n FROM fact_ticket WHERE status = 'valid' GROUP BY channel ORDER BY channel",
                "SELECT channel || '' AS channel, count(*) n FROM fact_ticket WHERE status || '' = 'valid' GROUP BY channel || '' ORDER BY 1",
            ),
            (
                "SELECT price_category, count(*) n FROM fact_ticket GROUP BY price_category ORDER BY price_category NULLS FIRST",
                "SELECT price_category || '' AS price_category, count(*) n FROM fact_ticket GROUP BY 1 ORDER BY 1 NULLS FIRST",
            ),
            (
                "SELECT count(*) n FROM fact_ticket WHERE price_category NOT IN ('full', 'fax')",
                "SELECT count(*) n FROM fact_ticket WHERE price_category || '' NOT IN ('full', 'fax')",
            ),
            (
                "SELECT count(*) n FROM fact_ticket WHERE price_category <> 'fax' OR channel = 'fax'",
                "SELECT count(*) n FROM fact_ticket WHERE price_category || '' <> 'fax' OR channel || '' = 'fax'",
            ),
        ] {
            assert_eq!(rows(&ctx, coded).await, rows(&ctx, text).await, "{coded}");
        }
        let nulls = rows(
            &ctx,
            "SELECT price_category, count(*) n FROM fact_ticket GROUP BY price_category ORDER BY 1 NULLS FIRST",
        )
        .await;
        assert!(nulls[3].contains("|                | 2 |"), "the NULL group: {nulls:?}");
        assert_eq!(
            rows(&ctx, "SELECT count(*) n FROM fact_ticket WHERE price_category <> 'fax'").await[3],
            "| 4 |"
        );
    }

    /// Queries of every shape the rule meets or must leave alone answer exactly as without it
    /// (sorted rows, column names and types).
    #[tokio::test]
    async fn odd_queries_answer_as_without_the_rule() {
        let (with, without) = (session_with(true).await, session_with(false).await);
        for sql in [
            "SELECT channel, count(*) FROM fact_ticket GROUP BY ROLLUP(channel)",
            "SELECT DISTINCT channel FROM fact_ticket",
            "SELECT channel, row_number() OVER (PARTITION BY channel ORDER BY ticket_id) FROM fact_ticket",
            "SELECT channel FROM fact_ticket UNION SELECT status FROM fact_ticket",
            "SELECT (SELECT count(*) FROM fact_ticket f2 WHERE f2.channel = f.channel) AS n FROM fact_ticket f",
            "SELECT channel, count(*) FROM (SELECT upper(channel) AS channel FROM fact_ticket) GROUP BY channel",
            "WITH x AS (SELECT channel AS c, status FROM fact_ticket) SELECT c, count(*) FROM x WHERE status = 'valid' GROUP BY c",
            "SELECT a.channel, b.status, count(*) FROM fact_ticket a JOIN fact_ticket b ON a.ticket_id = b.ticket_id GROUP BY a.channel, b.status",
            "SELECT a.channel, count(*) FROM fact_ticket a LEFT JOIN fact_ticket b ON a.ticket_id = b.ticket_id + 100 GROUP BY a.channel",
            "SELECT channel, count(*) FROM fact_ticket WHERE channel IN (SELECT channel FROM fact_ticket WHERE status = 'valid') GROUP BY channel",
            "SELECT channel, status, count(*) FROM fact_ticket GROUP BY channel, status HAVING count(*) > 0",
            "SELECT channel, count(*) FROM fact_ticket GROUP BY channel ORDER BY count(*) DESC, channel LIMIT 1",
            "SELECT channel || '-' || status AS k, count(*) FROM fact_ticket GROUP BY k",
            "SELECT count(*) FROM fact_ticket WHERE NOT (channel = 'web')",
            "SELECT count(*) FROM fact_ticket WHERE channel = NULL",
            "SELECT count(*) FROM fact_ticket WHERE channel = price_category",
            "SELECT count(*) FROM fact_ticket WHERE 'web' <> channel AND status NOT IN ('valid')",
            "SELECT channel, count(DISTINCT status), max(status) FROM fact_ticket GROUP BY 1",
            "SELECT channel AS c, count(*) FROM fact_ticket GROUP BY channel ORDER BY c",
            "SELECT t.price_category, sum(t.amount_ttc) FROM (SELECT * FROM fact_ticket WHERE channel = 'web') t GROUP BY t.price_category",
            "SELECT * FROM (SELECT channel, count(*) AS n FROM fact_ticket GROUP BY channel) WHERE channel = 'web'",
        ] {
            let run = |ctx: &SessionContext| {
                let ctx = ctx.clone();
                async move {
                    let df = ctx.sql(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
                    let b = df.collect().await.unwrap_or_else(|e| panic!("{sql}: {e}"));
                    let schema: Vec<String> = b
                        .first()
                        .map(|b| b.schema().fields().iter().map(|f| format!("{} {}", f.name(), f.data_type())).collect())
                        .unwrap_or_default();
                    let mut rows = crate::query::text_rows(&b).unwrap();
                    rows.sort();
                    (schema, rows)
                }
            };
            assert_eq!(run(&with).await, run(&without).await, "{sql}");
        }
    }
}
