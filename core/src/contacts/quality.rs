//! Data quality on every write of a contact: what a person types at the counter, in a
//! sign-up form or in an imported file becomes one stored form, or a plain-French message
//! naming what is wrong. Plain functions, no database: the store, the import and the API call
//! them and report the messages next to the field (`422 {errors: {field: message}}`).
//!
//! - Names: spaces collapsed; last names in capitals (accents kept), first names with a capital
//!   at each part (`jean-pierre` → `Jean-Pierre`).
//! - Emails: trimmed, lower-cased, checked (one `@`, a domain with a dot, no spaces).
//! - Phones: stored E.164 (`+33612345678`), shown E.123 (`06 12 34 56 78` in France,
//!   `+41 44 668 18 00` abroad); a French number may be typed in any usual way.
//! - Postal lines: the six lines of NF Z 10-011 for mailings, 38 characters at most each, the
//!   last three in unaccented capitals without punctuation; a line too long is refused, never
//!   cut.

use crate::error::FieldErrors;
use phonenumber::{country, Mode, PhoneNumber};

/// Characters a name may hold at most.
pub const NAME_MAX: usize = 100;
/// Characters an email may hold at most (RFC 5321: 254).
pub const EMAIL_MAX: usize = 254;
/// Characters per postal line (NF Z 10-011).
pub const POSTAL_LINE_MAX: usize = 38;
/// Characters a phone number may be typed with at most.
const PHONE_INPUT_MAX: usize = 40;

/// Why a value was refused, in words for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Nothing but spaces.
    #[error("à renseigner")]
    Empty,
    /// Longer than allowed.
    #[error("trop long ({0} caractères au plus)")]
    TooLong(usize),
    /// Not an email address.
    #[error("adresse électronique invalide : « {0} »")]
    Email(String),
    /// Not a phone number.
    #[error("numéro de téléphone invalide : « {0} »")]
    Phone(String),
    /// Not a French postal code.
    #[error("code postal invalide : « {0} » (5 chiffres)")]
    PostalCode(String),
    /// A postal line longer than the norm allows.
    #[error("ligne d'adresse trop longue pour la poste ({len} caractères, {max} au plus) : « {line} »")]
    PostalLine {
        /// The line as it would be printed.
        line: String,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// More address lines than the norm allows.
    #[error("adresse trop longue pour la poste : {0} lignes, 6 au plus")]
    PostalLines(usize),
}

/// Spaces trimmed and collapsed; control characters dropped.
fn tidy(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn bounded(s: String, max: usize) -> Result<String, Refused> {
    if s.is_empty() {
        Err(Refused::Empty)
    } else if s.chars().count() > max {
        Err(Refused::TooLong(max))
    } else {
        Ok(s)
    }
}

/// A last name as stored: capitals, accents kept (`de la Tour` → `DE LA TOUR`).
pub fn last_name(s: &str) -> Result<String, Refused> {
    bounded(tidy(s).to_uppercase(), NAME_MAX)
}

/// A first name as stored: a capital at the start of each part, the rest in small letters
/// (`JEAN-PIERRE` → `Jean-Pierre`, `marie claire` → `Marie Claire`, `d'arc` → `D'Arc`).
pub fn first_name(s: &str) -> Result<String, Refused> {
    let mut out = String::new();
    let mut start = true;
    for c in tidy(s).chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start = matches!(c, ' ' | '-' | '\'' | '’');
    }
    bounded(out, NAME_MAX)
}

/// An email as stored: trimmed and lower-cased, or refused.
pub fn email(s: &str) -> Result<String, Refused> {
    let e = s.trim().to_lowercase();
    if e.is_empty() {
        return Err(Refused::Empty);
    }
    if e.chars().count() > EMAIL_MAX {
        return Err(Refused::TooLong(EMAIL_MAX));
    }
    let bad = || Refused::Email(shown(s));
    let (user, domain) = e.split_once('@').ok_or_else(bad)?;
    let labels: Vec<&str> = domain.split('.').collect();
    let ok = !user.is_empty()
        && user.len() <= 64
        && !user.starts_with('.')
        && !user.ends_with('.')
        && !user.contains("..")
        && !user
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '@' | ',' | ';' | '<' | '>' | '(' | ')' | '[' | ']' | '"' | '\\'))
        && labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-') && l.chars().all(|c| c.is_alphanumeric() || c == '-'))
        && labels
            .last()
            .is_some_and(|t| t.chars().count() >= 2 && t.chars().all(char::is_alphabetic));
    if ok {
        Ok(e)
    } else {
        Err(bad())
    }
}

/// What was typed, cut short enough to quote in a message.
fn shown(s: &str) -> String {
    let t = s.trim();
    if t.chars().count() > 60 {
        format!("{}…", t.chars().take(60).collect::<String>())
    } else {
        t.to_string()
    }
}

/// A phone number checked and in its stored and shown forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// E.164, as stored: `+33612345678`.
    pub e164: String,
    /// E.123, as shown: national in France (`06 12 34 56 78`), international elsewhere.
    pub display: String,
    /// A mobile number (SMS can reach it).
    pub mobile: bool,
}

/// A phone number typed in any usual way (`06 12 34 56 78`, `06.12.34.56.78`, `+33 6 12…`,
/// `0033 6…`, `+41 44 668 18 00`); without a country prefix it is read as French.
pub fn phone(s: &str) -> Result<Phone, Refused> {
    let t = s.trim();
    if t.is_empty() {
        return Err(Refused::Empty);
    }
    if t.chars().count() > PHONE_INPUT_MAX {
        return Err(Refused::TooLong(PHONE_INPUT_MAX));
    }
    let bad = || Refused::Phone(shown(s));
    // `00` is the international prefix dialled from France.
    let typed = match t.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None => t.to_string(),
    };
    let n: PhoneNumber = phonenumber::parse(Some(country::Id::FR), &typed).map_err(|_| bad())?;
    if !phonenumber::is_valid(&n) {
        return Err(bad());
    }
    let french = n.code().value() == 33;
    let display = n
        .format()
        .mode(if french { Mode::National } else { Mode::International })
        .to_string();
    let mobile = matches!(
        n.number_type(&phonenumber::metadata::DATABASE),
        phonenumber::Type::Mobile | phonenumber::Type::FixedLineOrMobile
    );
    Ok(Phone {
        e164: n.format().mode(Mode::E164).to_string(),
        display,
        mobile,
    })
}

/// A French postal code: five digits, spaces typed inside dropped (`75 001` → `75001`).
pub fn postal_code(s: &str) -> Result<String, Refused> {
    let c: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if c.is_empty() {
        return Err(Refused::Empty);
    }
    if c.len() == 5 && c.chars().all(|d| d.is_ascii_digit()) && &c[..2] != "00" {
        Ok(c)
    } else {
        Err(Refused::PostalCode(shown(s)))
    }
}

/// An address as stored, field by field (NF Z 10-011 line roles).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostalAddress {
    /// Line 1: civility, first name and NAME, or the organisation's name.
    pub recipient: String,
    /// Line 2: flat, floor, "chez…", or the person or service in an organisation.
    pub inside: String,
    /// Line 3: entrance, building, residence.
    pub building: String,
    /// Line 4: number and street (`12 bis rue des Lilas`).
    pub street: String,
    /// Line 5: locality, PO box (`BP 123`), delegated commune.
    pub locality: String,
    /// Postal code (5 digits).
    pub postal_code: String,
    /// Town for the post (La Poste's `libellé d'acheminement`, not the commune's name).
    pub city: String,
}

/// The lines to print on an envelope: empty lines skipped, lines 4 to 6 in capitals without
/// accents or punctuation (`bis` → `B`), each at most 38 characters; an overlong line is
/// refused with the line quoted, so the person can abbreviate it themselves.
pub fn postal_lines(a: &PostalAddress) -> Result<Vec<String>, Refused> {
    let head = [&a.recipient, &a.inside, &a.building].map(|l| tidy(l));
    let street = street_line(&a.street);
    let tail = [
        street,
        postal_text(&a.locality),
        postal_text(&format!("{} {}", a.postal_code, a.city)),
    ];
    let lines: Vec<String> = head.into_iter().chain(tail).filter(|l| !l.is_empty()).collect();
    if lines.len() > 6 {
        return Err(Refused::PostalLines(lines.len()));
    }
    for l in &lines {
        let len = l.chars().count();
        if len > POSTAL_LINE_MAX {
            return Err(Refused::PostalLine {
                line: l.clone(),
                len,
                max: POSTAL_LINE_MAX,
            });
        }
    }
    Ok(lines)
}

/// Line 4: `12 bis, rue des Lilas` → `12 B RUE DES LILAS`.
fn street_line(s: &str) -> String {
    let words: Vec<String> = postal_text(s).split(' ').map(str::to_string).collect();
    let mut out = Vec::with_capacity(words.len());
    for (i, w) in words.iter().enumerate() {
        let after_number = i > 0 && words[i - 1].chars().all(|c| c.is_ascii_digit());
        out.push(match w.as_str() {
            "BIS" if after_number => "B".to_string(),
            "TER" if after_number => "T".to_string(),
            "QUATER" if after_number => "Q".to_string(),
            _ => w.clone(),
        });
    }
    out.join(" ").trim().to_string()
}

/// Capitals without accents, letters, digits and spaces only (what lines 4 to 6 may hold).
pub fn postal_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match unaccented(c) {
            Some(u) => out.push_str(u),
            None if c.is_ascii_alphanumeric() => out.push(c.to_ascii_uppercase()),
            None => out.push(' '),
        }
    }
    tidy(&out)
}

/// The unaccented capitals of a French letter.
fn unaccented(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' | 'À' | 'Â' | 'Ä' | 'Á' | 'Ã' | 'Å' => "A",
        'ç' | 'Ç' => "C",
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => "E",
        'î' | 'ï' | 'í' | 'ì' | 'Î' | 'Ï' | 'Í' | 'Ì' => "I",
        'ñ' | 'Ñ' => "N",
        'ô' | 'ö' | 'ó' | 'ò' | 'õ' | 'ø' | 'Ô' | 'Ö' | 'Ó' | 'Ò' | 'Õ' | 'Ø' => "O",
        'ù' | 'û' | 'ü' | 'ú' | 'Ù' | 'Û' | 'Ü' | 'Ú' => "U",
        'ÿ' | 'ý' | 'Ÿ' | 'Ý' => "Y",
        'œ' | 'Œ' => "OE",
        'æ' | 'Æ' => "AE",
        'ß' => "SS",
        _ => return None,
    })
}

/// Collects the refusals of several fields under their API names.
pub fn check<T>(errors: &mut FieldErrors, field: &str, r: Result<T, Refused>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            errors.add(field, e.to_string());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stored_in_one_form() {
        assert_eq!(last_name("  de la   Tour ").unwrap(), "DE LA TOUR");
        assert_eq!(last_name("Lefèvre").unwrap(), "LEFÈVRE", "accents stay in the record");
        assert_eq!(first_name("JEAN-PIERRE").unwrap(), "Jean-Pierre");
        assert_eq!(first_name("marie  claire").unwrap(), "Marie Claire");
        assert_eq!(first_name("élodie").unwrap(), "Élodie");
        assert_eq!(first_name("d'arc").unwrap(), "D'Arc");
        assert_eq!(last_name("   "), Err(Refused::Empty));
        assert_eq!(last_name(&"A".repeat(NAME_MAX + 1)), Err(Refused::TooLong(NAME_MAX)));
        assert_eq!(last_name("DUPONT\u{0}\tDURAND").unwrap(), "DUPONT DURAND", "control characters go");
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(email("  Claire.Martin@Exemple.FR ").unwrap(), "claire.martin@exemple.fr");
        assert_eq!(email("a+theatre@sous.domaine.fr").unwrap(), "a+theatre@sous.domaine.fr");
        for bad in [
            "claire.martin",
            "claire@exemple",
            "claire@@exemple.fr",
            "claire martin@exemple.fr",
            "@exemple.fr",
            "claire@.exemple.fr",
            "claire@exemple..fr",
            "claire..m@exemple.fr",
            "claire@exemple.f",
            "claire@exemple.fr.",
            "claire@-exemple.fr",
            "<claire@exemple.fr>",
            "claire@exemple,fr",
        ] {
            assert!(matches!(email(bad), Err(Refused::Email(_))), "{bad} accepted");
        }
        let long = format!("{}@exemple.fr", "a".repeat(300));
        assert_eq!(email(&long), Err(Refused::TooLong(EMAIL_MAX)));
        let msg = email("pas-une-adresse").unwrap_err().to_string();
        assert_eq!(msg, "adresse électronique invalide : « pas-une-adresse »");
    }

    #[test]
    fn phones_typed_any_way_are_stored_e164_and_shown_e123() {
        for typed in [
            "06 12 34 56 78",
            "0612345678",
            "06.12.34.56.78",
            "+33 6 12 34 56 78",
            "0033612345678",
            "+33 (0)6 12 34 56 78",
        ] {
            let p = phone(typed).unwrap_or_else(|e| panic!("{typed}: {e}"));
            assert_eq!(p.e164, "+33612345678", "{typed}");
            assert_eq!(p.display, "06 12 34 56 78", "{typed}");
            assert!(p.mobile, "{typed}");
        }
        let fixed = phone("01 42 60 00 00").unwrap();
        assert_eq!(
            (fixed.e164.as_str(), fixed.display.as_str(), fixed.mobile),
            ("+33142600000", "01 42 60 00 00", false)
        );
        let swiss = phone("0041 44 668 18 00").unwrap();
        assert_eq!(swiss.e164, "+41446681800");
        assert_eq!(swiss.display, "+41 44 668 18 00", "abroad: shown international");
        for bad in ["0612", "06 12 34 56 78 90 12", "bonjour", "+33 0 00 00 00 00", "12"] {
            assert!(matches!(phone(bad), Err(Refused::Phone(_))), "{bad} accepted");
        }
        assert_eq!(phone(&"6".repeat(41)), Err(Refused::TooLong(40)));
        assert_eq!(phone(" "), Err(Refused::Empty));
    }

    #[test]
    fn postal_codes_are_five_digits() {
        assert_eq!(postal_code(" 75 001 ").unwrap(), "75001");
        assert_eq!(postal_code("97400").unwrap(), "97400");
        for bad in ["7500", "750011", "75O01", "00100", "F-75001"] {
            assert!(matches!(postal_code(bad), Err(Refused::PostalCode(_))), "{bad} accepted");
        }
    }

    #[test]
    fn postal_lines_follow_the_norm() {
        let a = PostalAddress {
            recipient: "Mme Élodie LEFÈVRE".into(),
            inside: "Appartement 12, 3e étage".into(),
            building: String::new(),
            street: "12 bis, rue de l'Église".into(),
            locality: "Lieu-dit Les Aubépines".into(),
            postal_code: "35000".into(),
            city: "Rennes".into(),
        };
        assert_eq!(
            postal_lines(&a).unwrap(),
            [
                "Mme Élodie LEFÈVRE",
                "Appartement 12, 3e étage",
                "12 B RUE DE L EGLISE",
                "LIEU DIT LES AUBEPINES",
                "35000 RENNES"
            ],
            "empty line skipped; the last three unaccented capitals, no punctuation"
        );
        let long = PostalAddress {
            street: "1 avenue du Maréchal de Lattre de Tassigny prolongée".into(),
            postal_code: "75016".into(),
            city: "Paris".into(),
            ..Default::default()
        };
        match postal_lines(&long) {
            Err(Refused::PostalLine { line, len, max }) => {
                assert_eq!(line, "1 AVENUE DU MARECHAL DE LATTRE DE TASSIGNY PROLONGEE");
                assert_eq!((len, max), (52, 38));
            }
            other => panic!("an overlong street must be refused, not cut: {other:?}"),
        }
        assert_eq!(postal_text("Saint-Étienne-du-Rouvray"), "SAINT ETIENNE DU ROUVRAY");
        assert_eq!(postal_text("Cœur-de-Ville"), "COEUR DE VILLE");
    }

    #[test]
    fn refusals_are_collected_per_field() {
        let mut errors = FieldErrors::new();
        assert_eq!(check(&mut errors, "email", email("x")), None);
        assert_eq!(check(&mut errors, "last_name", last_name("dupont")), Some("DUPONT".to_string()));
        assert_eq!(check(&mut errors, "postal_code", postal_code("123")), None);
        assert_eq!(errors.0.len(), 2);
        assert!(errors.0["postal_code"].contains("5 chiffres"));
    }
}
