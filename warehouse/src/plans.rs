//! From SQL to a running plan, and the optimised plans a warehouse keeps for its generation.
//!
//! On the small tables the dashboards read, DataFusion spends more time planning a question
//! (parsing, analysis with the coded-column rewrite, some thirty optimiser rules) than
//! answering it. Dashboards ask the same SQL again and again, and a warehouse serves one
//! generation whose files never change, so the optimised logical plan of a statement is kept
//! ([`Plans`]) and the next identical statement goes straight to physical planning. A plan
//! that reads the clock or draws at random (`now()`, `current_date`, `random()`: any function
//! that is not immutable, whose value the optimiser would fold into the plan) is never kept.
//!
//! A statement of the one-partition session (small tables only, already in memory) also
//! keeps its physical plan, and each run executes a copy with its state reset
//! (`reset_plan_states`, what DataFusion's recursive queries use to run a plan again). That
//! session has no dynamic filters (the one state that reset does not cover); a plan that
//! holds one anyway, or a recursive query, is planned afresh every time.

use crate::{Result, WarehouseError};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::execution::context::{SQLOptions, SessionContext};
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, Volatility};
use datafusion::physical_expr::expressions::DynamicFilterPhysicalExpr;
use datafusion::physical_plan::execution_plan::reset_plan_states;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::sql::parser::Statement as DfStatement;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Statements kept per warehouse (dashboards and the report library ask a few dozen).
const KEPT: usize = 256;
/// Longest statement kept (a longer one is planned every time).
const KEPT_SQL_BYTES: usize = 16 * 1024;

/// A statement, optimised, ready for physical planning.
#[derive(Debug)]
pub struct Planned {
    /// The optimised logical plan.
    pub plan: LogicalPlan,
    /// Its output.
    pub schema: SchemaRef,
    /// Planned in the one-partition session.
    pub small: bool,
    /// Kept in [`Plans`] (then its physical plan is kept too, when it may be).
    kept: bool,
    /// The physical plan, once made, for a kept plan of the one-partition session.
    physical: OnceLock<Arc<dyn ExecutionPlan>>,
}

/// The optimised plans of one generation, by statement text and row limit.
#[derive(Debug, Default)]
pub struct Plans {
    kept: Mutex<HashMap<(String, Option<usize>), Arc<Planned>>>,
}

impl Plans {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, Option<usize>), Arc<Planned>>> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The plan kept for `sql` with `limit`.
    pub fn get(&self, sql: &str, limit: Option<usize>) -> Option<Arc<Planned>> {
        self.lock().get(&(sql.to_string(), limit)).cloned()
    }

    /// Keeps `planned` for `sql` with `limit` (all of them are dropped once [`KEPT`] are held).
    fn keep(&self, sql: &str, limit: Option<usize>, planned: Arc<Planned>) {
        let mut kept = self.lock();
        if kept.len() >= KEPT {
            kept.clear();
        }
        kept.insert((sql.to_string(), limit), planned);
    }

    /// Plans `statement` (the parsed `sql`) in `session`, with at most `limit` rows (none for
    /// EXPLAIN, whose plan must stay at the root), optimised; kept when it may be.
    pub async fn plan(
        &self,
        session: &SessionContext,
        small: bool,
        sql: &str,
        statement: DfStatement,
        limit: Option<usize>,
    ) -> Result<Arc<Planned>> {
        let state = session.state();
        let plan = state.statement_to_plan(statement).await?;
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false)
            .verify_plan(&plan)?;
        let explain = matches!(plan, LogicalPlan::Explain(_) | LogicalPlan::Analyze(_));
        let plan = match limit {
            Some(n) if !explain => LogicalPlanBuilder::from(plan).limit(0, Some(n))?.build()?,
            _ => plan,
        };
        let schema: SchemaRef = Arc::new(plan.schema().as_arrow().clone());
        let optimised = state.optimize(&plan)?;
        let kept = !explain && sql.len() <= KEPT_SQL_BYTES && timeless(&plan)?;
        let planned = Arc::new(Planned {
            plan: optimised,
            schema,
            small,
            kept,
            physical: OnceLock::new(),
        });
        if kept {
            self.keep(sql, limit, planned.clone());
        }
        Ok(planned)
    }
}

/// Does the plan's result depend only on the data (no clock, no random draw)?
pub fn timeless(plan: &LogicalPlan) -> Result<bool> {
    let mut timeless = true;
    plan.apply_with_subqueries(|node| {
        node.apply_expressions(|e| {
            e.apply(|e| {
                let fixed = match e {
                    Expr::ScalarFunction(f) => f.func.signature().volatility == Volatility::Immutable,
                    Expr::ScalarVariable(..) | Expr::Placeholder(_) => false,
                    _ => true,
                };
                timeless &= fixed;
                Ok(if fixed {
                    TreeNodeRecursion::Continue
                } else {
                    TreeNodeRecursion::Stop
                })
            })
        })
    })
    .map_err(WarehouseError::from)?;
    Ok(timeless)
}

/// Runs `planned` in `session`: physical planning (or a fresh copy of the physical plan
/// kept), then every batch.
pub async fn run(session: &SessionContext, planned: &Planned) -> Result<Vec<RecordBatch>> {
    let physical = match planned.physical.get() {
        Some(p) => reset_plan_states(p.clone())?,
        None => {
            let state = session.state();
            let p = state.query_planner().create_physical_plan(&planned.plan, &state).await?;
            if planned.kept && planned.small && rerunnable(&p) {
                let _ = planned.physical.set(p.clone());
                reset_plan_states(p)?
            } else {
                p
            }
        }
    };
    Ok(datafusion::physical_plan::collect(physical, session.task_ctx()).await?)
}

/// Can a copy of `plan` with its state reset run again? Not with a dynamic filter (filled
/// while it runs) nor a recursive query.
pub fn rerunnable(plan: &Arc<dyn ExecutionPlan>) -> bool {
    let mut ok = true;
    let _ = plan.apply(|node| {
        if matches!(node.name(), "RecursiveQueryExec" | "WorkTableExec") {
            ok = false;
            return Ok(TreeNodeRecursion::Stop);
        }
        node.apply_expressions(&mut |e| {
            e.apply(|e| {
                if e.is::<DynamicFilterPhysicalExpr>() {
                    ok = false;
                    return Ok(TreeNodeRecursion::Stop);
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    });
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn plan_of(sql: &str) -> LogicalPlan {
        let ctx = SessionContext::new();
        ctx.sql("CREATE TABLE t (a INT, d DATE) AS VALUES (1, DATE '2025-01-01')")
            .await
            .unwrap();
        ctx.state().create_logical_plan(sql).await.unwrap()
    }

    #[tokio::test]
    async fn plans_that_read_the_clock_or_draw_at_random_are_not_timeless() {
        for sql in [
            "SELECT a + 1, upper('x') FROM t WHERE d < DATE '2026-01-01'",
            "SELECT count(*) FROM t WHERE a IN (SELECT a FROM t WHERE a > 0)",
        ] {
            assert!(timeless(&plan_of(sql).await).unwrap(), "{sql}");
        }
        for sql in [
            "SELECT now()",
            "SELECT a FROM t WHERE d <= current_date",
            "SELECT random() FROM t",
            "SELECT count(*) FROM t WHERE a IN (SELECT a FROM t WHERE d < now())",
            "SELECT a FROM t WHERE EXISTS (SELECT 1 WHERE random() < 0.5)",
        ] {
            assert!(!timeless(&plan_of(sql).await).unwrap(), "{sql}");
        }
    }
}
