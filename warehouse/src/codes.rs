//! Coded dimensions: the low-cardinality text columns of the tables (channel, status, price
//! family, price category, discipline, tier, audience) are also stored as small integer codes
//! (`channel_code`…), with label tables (`dim_channel`, `dim_status`…). DataFusion groups text
//! one hash probe per row; on integers it is as fast as DuckDB. Users keep writing natural SQL:
//! [`crate::rewrite`] turns grouping and filtering on the text into the code and puts the label
//! back on the output.
//!
//! A code stands for exactly one label, and a label has exactly one code (a NULL label has a
//! NULL code): that is what makes the rewrite give the same results. The closed lists have their
//! codes here (the position in the list, from 1; a new label goes at the end, never in between,
//! so that files already written keep their meaning). Price categories are the venue's own: their
//! code is the category's id, and their labels travel in each manifest generation.

use crate::catalog::Table;
use crate::{Result, WarehouseError};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::Int64Type;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A closed list of labels: (label as stored, French name).
pub type Labels = &'static [(&'static str, &'static str)];

/// Sale channels.
pub const CHANNEL: Labels = &[("counter", "Guichet"), ("phone", "Téléphone"), ("web", "Web")];
/// Statuses of tickets, orders and carts (one list for all: `cancelled` is one code).
pub const STATUS: Labels = &[
    ("valid", "Valide"),
    ("option", "Option"),
    ("invitation", "Invitation"),
    ("cancelled", "Annulé"),
    ("exchanged", "Échangé"),
    ("confirmed", "Confirmée"),
    ("held", "Dans un panier"),
    ("quota", "Contingent"),
    ("blocked", "Bloqué"),
    ("available", "Disponible"),
    ("sold", "Vendu"),
    ("open", "Ouvert"),
    ("ordered", "Commandé"),
    ("expired", "Expiré"),
];
/// Price families (R-11.4: formules, Pass Culture, cards, reduced, school…).
pub const PRICE_FAMILY: Labels = &[
    ("full", "Plein tarif"),
    ("reduced", "Tarif réduit"),
    ("school", "Scolaire"),
    ("invitation", "Invitation"),
    ("formule", "Formule"),
    ("pass", "Pass"),
    ("card", "Carte"),
    ("pass_culture", "Pass Culture"),
    ("product", "Autre produit"),
];
/// Disciplines.
pub const DISCIPLINE: Labels = &[
    ("theatre", "Théâtre"),
    ("music", "Musique"),
    ("dance", "Danse"),
    ("circus", "Cirque"),
    ("puppetry", "Marionnettes"),
    ("opera", "Opéra"),
    ("humour", "Humour"),
    ("multidisciplinary", "Pluridisciplinaire"),
];
/// Show categories of the price grid.
pub const TIER: Labels = &[("A+", "A+"), ("A", "A"), ("B", "B"), ("C", "C"), ("D", "D")];
/// Audiences of a show.
pub const AUDIENCE: Labels = &[
    ("all", "Tout public"),
    ("young", "Jeune public"),
    ("school", "Scolaire"),
    ("festival", "Festival"),
];

/// A label table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dim {
    /// `dim_channel`.
    Channel,
    /// `dim_status`.
    Status,
    /// `dim_price_family`.
    PriceFamily,
    /// `dim_price_category` (the venue's categories: code = id).
    PriceCategory,
    /// `dim_discipline`.
    Discipline,
    /// `dim_tier`.
    Tier,
    /// `dim_audience`.
    Audience,
}

/// Every label table.
pub const DIMS: [Dim; 7] = [
    Dim::Channel,
    Dim::Status,
    Dim::PriceFamily,
    Dim::PriceCategory,
    Dim::Discipline,
    Dim::Tier,
    Dim::Audience,
];

impl Dim {
    /// Its key in the manifest's labels, and its table's name without `dim_`.
    pub fn key(self) -> &'static str {
        match self {
            Dim::Channel => "channel",
            Dim::Status => "status",
            Dim::PriceFamily => "price_family",
            Dim::PriceCategory => "price_category",
            Dim::Discipline => "discipline",
            Dim::Tier => "tier",
            Dim::Audience => "audience",
        }
    }

    /// The label table's name in SQL.
    pub fn table_name(self) -> String {
        format!("dim_{}", self.key())
    }

    /// The closed list, `None` for the venue's own labels.
    pub fn closed(self) -> Option<Labels> {
        match self {
            Dim::Channel => Some(CHANNEL),
            Dim::Status => Some(STATUS),
            Dim::PriceFamily => Some(PRICE_FAMILY),
            Dim::PriceCategory => None,
            Dim::Discipline => Some(DISCIPLINE),
            Dim::Tier => Some(TIER),
            Dim::Audience => Some(AUDIENCE),
        }
    }

    /// The code of a label of a closed list.
    pub fn code(self, label: &str) -> Option<i64> {
        let pos = self.closed()?.iter().position(|(l, _)| *l == label)?;
        i64::try_from(pos).ok().map(|p| p + 1)
    }
}

/// A text column stored with its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coded {
    /// The text column.
    pub column: &'static str,
    /// Its code column.
    pub code_column: &'static str,
    /// The label table.
    pub dim: Dim,
    /// For the venue's own labels: the id column the code is taken from.
    pub id_column: Option<&'static str>,
}

const fn coded(column: &'static str, code_column: &'static str, dim: Dim) -> Coded {
    Coded {
        column,
        code_column,
        dim,
        id_column: None,
    }
}

impl Table {
    /// The coded columns of the table (their code columns end its schema, in this order).
    pub fn coded(self) -> &'static [Coded] {
        const TICKET: &[Coded] = &[
            coded("channel", "channel_code", Dim::Channel),
            coded("status", "status_code", Dim::Status),
            coded("price_family", "price_family_code", Dim::PriceFamily),
            Coded {
                column: "price_category",
                code_column: "price_category_code",
                dim: Dim::PriceCategory,
                id_column: Some("price_category_id"),
            },
        ];
        const ORDER: &[Coded] = &[
            coded("channel", "channel_code", Dim::Channel),
            coded("status", "status_code", Dim::Status),
        ];
        const SHOW: &[Coded] = &[
            coded("discipline", "discipline_code", Dim::Discipline),
            coded("tier", "tier_code", Dim::Tier),
            coded("audience", "audience_code", Dim::Audience),
        ];
        const SALES: &[Coded] = &[
            coded("channel", "channel_code", Dim::Channel),
            coded("status", "status_code", Dim::Status),
            coded("price_family", "price_family_code", Dim::PriceFamily),
        ];
        match self {
            Table::FactTicket => TICKET,
            Table::FactOrder | Table::FactCart => ORDER,
            Table::DimShow => SHOW,
            Table::AggSales | Table::AggSalesDay => SALES,
            _ => &[],
        }
    }
}

/// Builds a batch of `table` from its columns without the code columns, computing these.
/// A label of a closed list that has no code is refused, naming it: it would break the rewrite.
pub fn with_codes(table: Table, mut cols: Vec<ArrayRef>) -> Result<RecordBatch> {
    let schema = table.schema();
    for c in table.coded() {
        let text_at = schema.index_of(c.column)?;
        let text = cols
            .get(text_at)
            .ok_or_else(|| WarehouseError::Io(format!("{} : colonne {} absente", table.name(), c.column)))?
            .clone();
        let codes: Int64Array = match c.id_column {
            Some(id) => {
                let ids = cols
                    .get(schema.index_of(id)?)
                    .ok_or_else(|| WarehouseError::Io(format!("{} : colonne {id} absente", table.name())))?
                    .as_primitive_opt::<Int64Type>()
                    .ok_or_else(|| WarehouseError::Io(format!("{} : {id} n'est pas un entier", table.name())))?
                    .clone();
                if let Some(i) = (0..text.len()).find(|i| text.is_valid(*i) && ids.is_null(*i)) {
                    return Err(WarehouseError::OutOfRange {
                        column: format!("{}.{}", table.name(), c.column),
                        detail: format!("ligne {i} : un libellé sans {id}"),
                    });
                }
                (0..text.len()).map(|i| text.is_valid(i).then(|| ids.value(i))).collect()
            }
            None => {
                let labels = text
                    .as_string_opt::<i32>()
                    .ok_or_else(|| WarehouseError::Io(format!("{} : {} n'est pas du texte", table.name(), c.column)))?;
                let mut out = Vec::with_capacity(labels.len());
                for v in labels.iter() {
                    out.push(match v {
                        None => None,
                        Some(l) => Some(c.dim.code(l).ok_or_else(|| WarehouseError::OutOfRange {
                            column: format!("{}.{}", table.name(), c.column),
                            detail: format!("« {l} » n'a pas de code dans {}", c.dim.table_name()),
                        })?),
                    });
                }
                Int64Array::from(out)
            }
        };
        cols.push(Arc::new(codes));
    }
    Ok(RecordBatch::try_new(schema, cols)?)
}

/// One label table: code → (label, French name).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dictionary {
    /// The entries, by code.
    pub entries: BTreeMap<i64, (String, Option<String>)>,
    by_label: HashMap<String, i64>,
}

impl Dictionary {
    fn from_entries(entries: BTreeMap<i64, (String, Option<String>)>) -> Self {
        let by_label = entries.iter().map(|(c, (l, _))| (l.clone(), *c)).collect();
        Dictionary { entries, by_label }
    }

    /// The code of `label`, if it has one.
    pub fn code(&self, label: &str) -> Option<i64> {
        self.by_label.get(label).copied()
    }
}

/// The label tables of one generation: the closed lists, and the venue's labels the manifest
/// carries (`labels`: dim key → code → label).
pub fn dictionaries(labels: &BTreeMap<String, BTreeMap<i64, String>>) -> BTreeMap<Dim, Dictionary> {
    DIMS.iter()
        .map(|d| {
            let entries = match d.closed() {
                Some(list) => (1..)
                    .zip(list.iter())
                    .map(|(c, (l, n))| (c, (l.to_string(), Some(n.to_string()))))
                    .collect(),
                None => labels
                    .get(d.key())
                    .map(|m| m.iter().map(|(c, l)| (*c, (l.clone(), None))).collect())
                    .unwrap_or_default(),
            };
            (*d, Dictionary::from_entries(entries))
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::columns::{ints, opt_ints, opt_texts};
    use std::collections::HashSet;

    #[test]
    fn every_closed_list_has_distinct_labels_and_codes_from_one() {
        for d in DIMS {
            let Some(list) = d.closed() else { continue };
            let labels: HashSet<_> = list.iter().map(|(l, _)| l).collect();
            assert_eq!(labels.len(), list.len(), "{d:?} repeats a label");
            assert_eq!(d.code(list[0].0), Some(1));
        }
        assert_eq!(Dim::Channel.code("web"), Some(3));
        assert_eq!(Dim::Channel.code("fax"), None);
    }

    /// Columns of `t` without its codes, `n` rows of defaults.
    pub(crate) fn filler(t: Table, n: usize) -> Vec<ArrayRef> {
        use datafusion::arrow::datatypes::DataType;
        let s = t.schema();
        s.fields()
            .iter()
            .take(s.fields().len() - t.coded().len())
            .map(|f| match (f.is_nullable(), f.data_type()) {
                (true, dt) => datafusion::arrow::array::new_null_array(dt, n),
                (false, DataType::Utf8) => crate::columns::texts(std::iter::repeat_n("", n)),
                (false, DataType::Boolean) => crate::columns::bools(std::iter::repeat_n(false, n)),
                (false, DataType::Timestamp(..)) => crate::columns::times(std::iter::repeat_n(0, n)),
                (false, DataType::Decimal128(p, _)) => crate::columns::decimals(std::iter::repeat_n(0, n), *p).unwrap(),
                (false, _) => ints(std::iter::repeat_n(0, n)),
            })
            .collect()
    }

    #[test]
    fn codes_follow_labels_and_nulls_stay_null() {
        let order = Table::FactOrder.schema();
        let mut cols = filler(Table::FactOrder, 2);
        let ch = order.index_of("channel").unwrap();
        cols[ch] = crate::columns::texts(["web", "counter"].into_iter());
        let st = order.index_of("status").unwrap();
        cols[st] = crate::columns::texts(["confirmed", "cancelled"].into_iter());
        let b = with_codes(Table::FactOrder, cols.clone()).unwrap();
        let codes = b.column_by_name("channel_code").unwrap().as_primitive::<Int64Type>();
        assert_eq!((codes.value(0), codes.value(1)), (3, 1));
        cols[ch] = crate::columns::texts(["web", "fax"].into_iter());
        let e = with_codes(Table::FactOrder, cols).unwrap_err().to_string();
        assert!(e.contains("« fax »") && e.contains("dim_channel"), "{e}");

        // A price category's code is its id, NULL when its label is unknown.
        let t = Table::FactTicket.schema();
        let mut cols = filler(Table::FactTicket, 2);
        for (c, v) in [("channel", "web"), ("status", "valid"), ("price_family", "full")] {
            cols[t.index_of(c).unwrap()] = crate::columns::texts(std::iter::repeat_n(v, 2));
        }
        cols[t.index_of("price_category_id").unwrap()] = opt_ints([Some(7), Some(8)].into_iter());
        cols[t.index_of("price_category").unwrap()] = opt_texts([Some("reduced"), None].into_iter());
        let b = with_codes(Table::FactTicket, cols).unwrap();
        let pc = b.column_by_name("price_category_code").unwrap().as_primitive::<Int64Type>();
        assert_eq!((pc.is_valid(0), pc.value(0), pc.is_null(1)), (true, 7, true));
    }
}
