//! Closed lists of the domain (states, channels, tiers, disciplines) as enums.
//!
//! The bugs issue 10 fixed lived where a state was a string compared with a literal: a typo
//! compiles, an unknown value slips through. Each list here is one enum, written once with its
//! stored code and its French label; the `code_enum!` macro gives every enum the same behaviour:
//! - stored as its code (TEXT) on SQLite and PostgreSQL: binding writes the code, reading an
//!   unknown code is a decode error naming it, never a silent default;
//! - serialised as its code in JSON (API bodies, event payloads), so the wire format did not
//!   change when the strings became enums; an unknown code in a request is refused with a French
//!   message listing the accepted ones;
//! - documented in the OpenAPI document as a string enum of its codes, and a plain string in
//!   the Avro event schema (unchanged);
//! - `ALL`, `code()`, `label()` and `parse()` for forms and templates.

/// Declares a closed list: `code_enum! { /// doc  pub enum Name { /// doc  Variant = "code" / "Libellé", … } }`.
#[macro_export]
macro_rules! code_enum {
    ($(#[$m:meta])* $vis:vis enum $name:ident { $($(#[$vm:meta])* $var:ident = $code:literal / $label:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $($(#[$vm])* $var),+
        }

        impl $name {
            /// Every value, in the list's order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            /// The stored code.
            pub const fn code(self) -> &'static str {
                match self { $($name::$var => $code),+ }
            }

            /// The French label.
            pub const fn label(self) -> &'static str {
                match self { $($name::$var => $label),+ }
            }

            /// The value of a code, if it is one.
            pub fn parse(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$var),)+ _ => None }
            }

            /// The accepted codes, for error messages: `a, b, c`.
            pub fn codes() -> String {
                Self::ALL.iter().map(|v| v.code()).collect::<Vec<_>>().join(", ")
            }

            /// `(code, label)` pairs, for forms.
            pub fn pairs() -> Vec<(&'static str, &'static str)> {
                Self::ALL.iter().map(|v| (v.code(), v.label())).collect()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::codes::UnknownCode;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s).ok_or_else(|| $crate::codes::UnknownCode {
                    list: stringify!($name),
                    given: s.chars().take(40).collect(),
                    accepted: Self::codes(),
                })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl $crate::db::IntoArg for $name {
            fn into_arg(self) -> $crate::db::Arg {
                $crate::db::Arg::Text(Some(self.code().to_string()))
            }
            fn null() -> $crate::db::Arg {
                $crate::db::Arg::Text(None)
            }
        }

        impl $crate::db::IntoArg for &$name {
            fn into_arg(self) -> $crate::db::Arg {
                $crate::db::Arg::Text(Some(self.code().to_string()))
            }
            fn null() -> $crate::db::Arg {
                $crate::db::Arg::Text(None)
            }
        }

        impl $crate::db::FromCell for $name {
            fn from_cell(c: $crate::db::Cell) -> Result<Self, String> {
                let s = <String as $crate::db::FromCell>::from_cell(c)?;
                s.parse().map_err(|e: $crate::codes::UnknownCode| e.to_string())
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($code),+]))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        #[cfg(feature = "avro")]
        impl apache_avro::AvroSchemaComponent for $name {
            fn get_schema_in_ctxt(
                _: &mut std::collections::HashSet<apache_avro::schema::Name>,
                _: Option<&str>,
            ) -> apache_avro::Schema {
                apache_avro::Schema::String
            }
            fn get_record_fields_in_ctxt(
                _: &mut std::collections::HashSet<apache_avro::schema::Name>,
                _: Option<&str>,
            ) -> Option<Vec<apache_avro::schema::RecordField>> {
                None
            }
        }
    };
}

/// A code that is not in its list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("valeur inconnue « {given} » ({list}) ; valeurs acceptées : {accepted}")]
pub struct UnknownCode {
    /// The list's name.
    pub list: &'static str,
    /// What was given (first 40 characters).
    pub given: String,
    /// The accepted codes.
    pub accepted: String,
}

#[cfg(test)]
mod tests {
    use crate::db::{Arg, Cell, FromCell, IntoArg};

    crate::code_enum! {
        /// A test list.
        pub enum Colour { Red = "red" / "Rouge", DarkBlue = "dark_blue" / "Bleu foncé" }
    }

    #[test]
    fn codes_round_trip_through_json_and_cells() {
        assert_eq!(serde_json::to_string(&Colour::DarkBlue).unwrap(), "\"dark_blue\"");
        assert_eq!(serde_json::from_str::<Colour>("\"red\"").unwrap(), Colour::Red);
        assert_eq!(Colour::DarkBlue.into_arg(), Arg::Text(Some("dark_blue".into())));
        assert_eq!(Colour::from_cell(Cell::Text("red".into())).unwrap(), Colour::Red);
        assert_eq!(Colour::DarkBlue.label(), "Bleu foncé");
        assert_eq!(Colour::codes(), "red, dark_blue");
    }

    #[test]
    fn unknown_codes_are_refused_with_the_accepted_list() {
        let e = serde_json::from_str::<Colour>("\"Red\"").unwrap_err().to_string();
        assert!(e.contains("valeur inconnue « Red »") && e.contains("red, dark_blue"), "{e}");
        let e = Colour::from_cell(Cell::Text("green".into())).unwrap_err();
        assert!(e.contains("« green »"), "{e}");
        assert!(Colour::from_cell(Cell::Int(1)).is_err());
        let long = "x".repeat(1000);
        let e = long.parse::<Colour>().unwrap_err();
        assert_eq!(e.given.chars().count(), 40);
    }
}
