//! The catalogue: venues, halls and their plans, seasons, shows, performances,
//! price categories, the price grid by show category and the products sold beside tickets.
//!
//! Reference lists live here so the web forms, the API and the demo agree on one spelling:
//! show categories ([`Tier`]) and disciplines ([`Discipline`]) are closed enums; audiences,
//! quota families and product kinds are code lists.

pub mod performances;
pub mod plans;
pub mod prices;
pub mod seasons;
pub mod shows;
pub mod venues;

pub use performances::{Performance, PerformanceInput, PerformanceQuery, Quota};
pub use plans::{Seat, SeatSpec};
pub use prices::{GridCell, PriceCategory, Product, ProductInput};
pub use seasons::Season;
pub use shows::{Show, ShowInput, ShowPrice};
pub use venues::{HallLayout, Venue};

crate::code_enum! {
    /// Show categories of the price grid, most expensive first.
    pub enum Tier {
        /// A+.
        APlus = "A+" / "A+",
        /// A.
        A = "A" / "A",
        /// B.
        B = "B" / "B",
        /// C.
        C = "C" / "C",
        /// D.
        D = "D" / "D",
    }
}

crate::code_enum! {
    /// Disciplines, with their French labels.
    pub enum Discipline {
        /// Theatre.
        Theatre = "theatre" / "Théâtre",
        /// Music.
        Music = "music" / "Musique",
        /// Dance.
        Dance = "dance" / "Danse",
        /// Circus.
        Circus = "circus" / "Cirque",
        /// Puppetry.
        Puppetry = "puppetry" / "Marionnettes",
        /// Opera.
        Opera = "opera" / "Opéra",
        /// Stand-up and comedy.
        Humour = "humour" / "Humour",
        /// Several disciplines.
        Multidisciplinary = "multidisciplinary" / "Pluridisciplinaire",
    }
}

/// Audience categories of a show.
pub const AUDIENCES: &[(&str, &str)] = &[
    ("all", "Tout public"),
    ("young", "Jeune public"),
    ("school", "Scolaire"),
    ("festival", "Festival"),
];

/// Quota families.
pub const QUOTA_FAMILIES: &[(&str, &str)] = &[
    ("school", "Scolaires"),
    ("group", "Groupes"),
    ("company", "Compagnie"),
    ("invitation", "Invitations"),
    ("partner", "Partenaires"),
    ("press", "Presse"),
];

/// Product kinds (issue 3's contract).
pub const PRODUCT_KINDS: &[(&str, &str)] = &[
    ("formule", "Formule"),
    ("pass", "Pass"),
    ("card", "Carte"),
    ("annex", "Produit annexe"),
    ("gift_card", "Carte cadeau"),
    ("suspended", "Billet suspendu"),
];

/// The label of a code in one of the lists above (the code itself when unknown).
pub fn label_of<'a>(list: &'a [(&'a str, &'a str)], code: &'a str) -> &'a str {
    list.iter().find(|(c, _)| *c == code).map(|(_, l)| *l).unwrap_or(code)
}

/// True when `code` is in `list`.
pub fn is_in(list: &[(&str, &str)], code: &str) -> bool {
    list.iter().any(|(c, _)| *c == code)
}
