//! Printable tickets: one A6 PDF page per ticket, carrying the mentions French law requires on
//! every entry ticket (CGI ann. IV art. 50 sexies B, cahier des charges of the arrêté du 8 mars
//! 1993): operator, show and séance, seat category, price or « Gratuité », ticket number. The
//! signed access code is drawn as a vector QR code the entry scanners read.
//!
//! krilla has no layout engine, so this module wraps text itself, measuring glyph advances with
//! `skrifa` in the embedded DejaVu Sans fonts. Nothing may leave the page: long texts are wrapped,
//! then set smaller, and in the last resort cut with « … ».

use krilla::color::rgb;
use krilla::geom::{Path, PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use krilla::Document;
use qrcode::{Color as QrColor, EcLevel, QrCode};
use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, GlyphId, MetadataProvider};

/// DejaVu Sans (Bitstream Vera licence, see `fonts/LICENSE`).
static REGULAR_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
/// DejaVu Sans Bold.
static BOLD_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// A6 portrait, in points.
const PAGE_W: f32 = 297.64;
const PAGE_H: f32 = 419.53;
const MARGIN: f32 = 14.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
/// Side of the QR code square, quiet zone included (about 40 mm).
const QR_BOX: f32 = 114.0;
/// Blank modules around the QR code, as the standard asks.
const QUIET_ZONE: usize = 4;
/// Space between the text column and the QR code.
const GUTTER: f32 = 10.0;
/// Line height as a multiple of the font size.
const LEADING: f32 = 1.25;
/// Widths from skrifa ignore kerning: keep a little slack so shaped text never overruns.
const WIDTH_SLACK: f32 = 0.97;

/// Everything printed on one ticket: gathered by the core (`parterre_core::sales::printing`).
pub use parterre_core::sales::printing::TicketPrint;

/// Why the tickets could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum TicketPdfError {
    /// The list of tickets is empty.
    #[error("aucun billet à imprimer")]
    NothingToPrint,
    /// A ticket has no access code.
    #[error("le billet {0} n'a pas de code d'accès")]
    MissingCode(String),
    /// A ticket has a negative price.
    #[error("le billet {ticket} a un montant négatif ({cents} centimes)")]
    NegativeAmount {
        /// Ticket number.
        ticket: String,
        /// The amount refused.
        cents: i64,
    },
    /// The access code does not fit in a QR code.
    #[error("QR code du billet {ticket} impossible : {reason}")]
    Qr {
        /// Ticket number.
        ticket: String,
        /// What the QR encoder said.
        reason: String,
    },
    /// An embedded font could not be read (a build problem, not the user's).
    #[error("police de caractères intégrée illisible : {0}")]
    Font(&'static str),
    /// krilla refused to write the document.
    #[error("écriture du PDF impossible : {0}")]
    Pdf(String),
}

/// Renders one A6 portrait page per ticket, in order: the front (organiser, show, séance, hall,
/// seat or « Placement libre », category, price or « Gratuité », order and ticket numbers, sale,
/// spectator, QR code with its ticket number) and, framed at the bottom, the "verso" mentions
/// (organiser, licences, then terms of sale, cut with « … » if they cannot fit even in 5 pt).
///
/// Refuses an empty list, a ticket without code or with a negative amount.
pub fn render_tickets(tickets: &[TicketPrint]) -> Result<Vec<u8>, TicketPdfError> {
    if tickets.is_empty() {
        return Err(TicketPdfError::NothingToPrint);
    }
    let fonts = Fonts {
        regular: Face::load(REGULAR_TTF, "DejaVu Sans")?,
        bold: Face::load(BOLD_TTF, "DejaVu Sans Bold")?,
    };
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(if tickets.len() == 1 { "Billet".into() } else { "Billets".into() })
            .language("fr".into())
            .creator("Parterre".into()),
    );
    for ticket in tickets {
        let qr = qr_code(ticket)?;
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| TicketPdfError::Pdf("format de page invalide".into()))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        draw_ticket(&mut surface, &fonts, ticket, &qr);
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| TicketPdfError::Pdf(e.to_string()))
}

/// A font both for drawing (krilla) and for measuring (skrifa).
struct Face {
    pdf: Font,
    charmap: Charmap<'static>,
    /// Advances for a 1 pt font size.
    metrics: GlyphMetrics<'static>,
}

impl Face {
    fn load(data: &'static [u8], name: &'static str) -> Result<Self, TicketPdfError> {
        let pdf = Font::new(data.into(), 0).ok_or(TicketPdfError::Font(name))?;
        let font = FontRef::new(data).map_err(|_| TicketPdfError::Font(name))?;
        Ok(Face {
            pdf,
            charmap: font.charmap(),
            metrics: font.glyph_metrics(Size::new(1.0), LocationRef::default()),
        })
    }

    /// Width of `text` set at `size` points (unknown characters count as the .notdef box).
    fn width(&self, text: &str, size: f32) -> f32 {
        let units: f32 = text
            .chars()
            .map(|c| {
                let gid = self.charmap.map(c).unwrap_or(GlyphId::NOTDEF);
                self.metrics.advance_width(gid).unwrap_or(0.6)
            })
            .sum();
        units * size
    }
}

struct Fonts {
    regular: Face,
    bold: Face,
}

/// Replaces control characters (tabs, line breaks…) by spaces; keeps `\n` when `keep_newlines`.
fn clean(text: &str, keep_newlines: bool) -> String {
    let keep = |c: char| !c.is_control() || (c == '\n' && keep_newlines);
    text.chars().map(|c| if keep(c) { c } else { ' ' }).collect()
}

/// Splits `text` into lines no wider than `width`; a word too long for a line is cut.
fn wrap(face: &Face, text: &str, size: f32, width: f32) -> Vec<String> {
    let width = width * WIDTH_SLACK;
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if face.width(&candidate, size) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // The word alone: cut it if it is wider than the line.
            for c in word.chars() {
                line.push(c);
                if face.width(&line, size) > width && line.chars().count() > 1 {
                    line.pop();
                    lines.push(std::mem::take(&mut line));
                    line.push(c);
                }
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
    }
    lines
}

/// Wraps at the first size giving at most `max_lines` lines; at the last size, cuts with « … ».
fn fit(face: &Face, text: &str, sizes: &[f32], width: f32, max_lines: usize) -> (f32, Vec<String>) {
    let mut last = (0.0, Vec::new());
    for &size in sizes {
        let lines = wrap(face, text, size, width);
        if lines.len() <= max_lines {
            return (size, lines);
        }
        last = (size, lines);
    }
    let (size, mut lines) = last;
    truncate(face, &mut lines, size, width, max_lines);
    (size, lines)
}

/// Keeps `max_lines` lines, ending the last one with « … » when something was cut.
fn truncate(face: &Face, lines: &mut Vec<String>, size: f32, width: f32, max_lines: usize) {
    if lines.len() <= max_lines {
        return;
    }
    lines.truncate(max_lines);
    if let Some(last) = lines.last_mut() {
        while !last.is_empty() && face.width(&format!("{last} …"), size) > width * WIDTH_SLACK {
            last.pop();
        }
        last.truncate(last.trim_end().len());
        last.push_str(" …");
    }
}

/// Checks the ticket and encodes its access code (error correction level M).
fn qr_code(ticket: &TicketPrint) -> Result<QrCode, TicketPdfError> {
    if ticket.qr_text.trim().is_empty() {
        return Err(TicketPdfError::MissingCode(ticket.ticket_number.clone()));
    }
    if ticket.amount_cents < 0 {
        return Err(TicketPdfError::NegativeAmount {
            ticket: ticket.ticket_number.clone(),
            cents: ticket.amount_cents,
        });
    }
    QrCode::with_error_correction_level(ticket.qr_text.as_bytes(), EcLevel::M).map_err(|e| TicketPdfError::Qr {
        ticket: ticket.ticket_number.clone(),
        reason: e.to_string(),
    })
}

/// Draws text lines from `top`, returns the y below the last line.
fn lines_at(surface: &mut Surface<'_>, face: &Face, size: f32, x: f32, top: f32, lines: &[String]) -> f32 {
    let mut y = top;
    for line in lines {
        let (at, font) = (Point::from_xy(x, y + size), face.pdf.clone());
        surface.draw_text(at, font, size, line, false, TextDirection::Auto);
        y += size * LEADING;
    }
    y
}

/// Writes paragraphs one under the other in a column of the page.
struct Column<'s, 'p> {
    surface: &'s mut Surface<'p>,
    x: f32,
    width: f32,
    y: f32,
}

impl Column<'_, '_> {
    /// Writes `text` wrapped to the column (at most `max_lines` lines) in grey level `grey`.
    fn para(&mut self, face: &Face, size: f32, grey: u8, max_lines: usize, text: &str) -> &mut Self {
        let (size, lines) = fit(face, &clean(text, false), &[size], self.width, max_lines);
        set_colour(self.surface, grey);
        self.y = lines_at(self.surface, face, size, self.x, self.y, &lines);
        self
    }

    /// Adds vertical space.
    fn gap(&mut self, points: f32) -> &mut Self {
        self.y += points;
        self
    }
}

fn set_colour(surface: &mut Surface<'_>, grey: u8) {
    surface.set_fill(Some(Fill {
        paint: rgb::Color::new(grey, grey, grey).into(),
        ..Fill::default()
    }));
}

/// A rectangle as a path (`None` for a degenerate one).
fn rect_path(x: f32, y: f32, w: f32, h: f32) -> Option<Path> {
    let mut pb = PathBuilder::new();
    pb.push_rect(Rect::from_xywh(x, y, w, h)?);
    pb.finish()
}

fn hline(surface: &mut Surface<'_>, y: f32) {
    if let Some(path) = rect_path(MARGIN, y, CONTENT_W, 0.6) {
        set_colour(surface, 160);
        surface.draw_path(&path);
    }
}

fn draw_ticket(surface: &mut Surface<'_>, fonts: &Fonts, t: &TicketPrint, qr: &QrCode) {
    let (regular, bold) = (&fonts.regular, &fonts.bold);

    // Header: organiser, show, séance, hall.
    let mut head = Column {
        surface,
        x: MARGIN,
        width: CONTENT_W,
        y: MARGIN,
    };
    head.para(bold, 8.0, 90, 2, &t.venue_name).gap(3.0);
    let (size, title) = fit(bold, &clean(&t.show_name, false), &[16.0, 14.0, 12.0, 10.5], CONTENT_W, 3);
    set_colour(head.surface, 0);
    head.y = lines_at(head.surface, bold, size, MARGIN, head.y, &title) + 3.0;
    head.para(bold, 11.0, 0, 2, &t.starts_at).para(regular, 9.0, 0, 2, &t.hall).gap(4.0);
    let rule_y = head.y;
    hline(surface, rule_y);
    let top = rule_y + 7.0;

    // Left column: seat, price, numbers, sale, spectator.
    let price = if t.amount_cents == 0 { "Gratuité" } else { t.amount.as_str() };
    let width = CONTENT_W - QR_BOX - GUTTER;
    let mut col = Column {
        surface,
        x: MARGIN,
        width,
        y: top,
    };
    col.para(bold, 10.5, 0, 2, t.seat.as_deref().unwrap_or("Placement libre")).gap(3.0);
    col.para(regular, 9.0, 0, 2, &t.price_category)
        .para(bold, 13.0, 0, 1, price)
        .gap(4.0);
    col.para(regular, 8.0, 0, 2, &format!("Commande n° {}", t.order_number));
    col.para(bold, 8.0, 0, 2, &format!("Billet n° {}", t.ticket_number)).gap(3.0);
    col.para(
        regular,
        7.0,
        70,
        2,
        &format!("Vente : {} — {} — {}", t.channel, t.operator, t.sold_at),
    );
    if let Some(name) = t.spectator.as_deref().filter(|n| !n.trim().is_empty()) {
        col.gap(2.0).para(regular, 8.0, 0, 2, &format!("Spectateur : {name}"));
    }
    let left_bottom = col.y;

    // Right: the QR code, its ticket number centred under it.
    let qr_x = PAGE_W - MARGIN - QR_BOX;
    draw_qr(surface, qr, qr_x, top);
    let (nsize, number) = fit(regular, &clean(&t.ticket_number, false), &[7.0, 6.0], QR_BOX, 1);
    let number_w = number.first().map_or(0.0, |n| regular.width(n, nsize));
    set_colour(surface, 0);
    let nx = qr_x + ((QR_BOX - number_w) / 2.0).max(0.0);
    let right_bottom = lines_at(surface, regular, nsize, nx, top + QR_BOX, &number);

    draw_verso(surface, fonts, t, left_bottom.max(right_bottom) + 8.0);
}

/// Draws the dark modules as rectangles (runs merged per row), leaving the quiet zone blank.
fn draw_qr(surface: &mut Surface<'_>, qr: &QrCode, x: f32, y: f32) {
    let width = qr.width();
    if width == 0 {
        return;
    }
    let dark: Vec<bool> = qr.to_colors().into_iter().map(|c| c == QrColor::Dark).collect();
    let module = QR_BOX / (width + 2 * QUIET_ZONE) as f32;
    let origin = (x + QUIET_ZONE as f32 * module, y + QUIET_ZONE as f32 * module);
    let mut pb = PathBuilder::new();
    for (row, cells) in dark.chunks(width).enumerate() {
        let mut col = 0;
        while col < cells.len() {
            if !cells[col] {
                col += 1;
                continue;
            }
            let start = col;
            while col < cells.len() && cells[col] {
                col += 1;
            }
            let (rx, ry) = (origin.0 + start as f32 * module, origin.1 + row as f32 * module);
            // A hair taller than a module so rows touch without seams when rasterised.
            if let Some(rect) = Rect::from_xywh(rx, ry, (col - start) as f32 * module, module + 0.05) {
                pb.push_rect(rect);
            }
        }
    }
    if let Some(path) = pb.finish() {
        set_colour(surface, 0);
        surface.draw_path(&path);
    }
}

/// The framed "verso" block at the bottom: organiser, licences, terms of sale.
fn draw_verso(surface: &mut Surface<'_>, fonts: &Fonts, t: &TicketPrint, top: f32) {
    const PAD: f32 = 5.0;
    let bottom = PAGE_H - MARGIN;
    let inner_w = CONTENT_W - 2.0 * PAD;
    let available = bottom - top - 2.0 * PAD;
    let heading = "Verso — mentions légales et conditions de vente";
    let body = clean(&format!("Organisateur : {}\n{}\n{}", t.venue_name, t.licences, t.terms), true);

    // The largest size at which everything fits; at the smallest one, cut what does not.
    let sizes = [6.5, 6.0, 5.5, 5.0];
    let mut chosen = (5.0, Vec::new());
    for size in sizes {
        let lines = wrap(&fonts.regular, &body, size, inner_w);
        chosen = (size, lines);
        if (chosen.1.len() + 1) as f32 * size * LEADING + 2.0 <= available {
            break;
        }
    }
    let (size, mut lines) = chosen;
    let fits = ((available - 2.0) / (size * LEADING)).floor().max(1.0) as usize - 1;
    truncate(&fonts.regular, &mut lines, size, inner_w, fits);
    if available < size * LEADING {
        return;
    }
    let height = (lines.len() + 1) as f32 * size * LEADING + 2.0 + 2.0 * PAD;
    let frame_top = bottom - height;
    if let Some(path) = rect_path(MARGIN, frame_top, CONTENT_W, height) {
        surface.set_fill(None);
        let paint = rgb::Color::new(150, 150, 150).into();
        surface.set_stroke(Some(Stroke {
            paint,
            width: 0.6,
            ..Stroke::default()
        }));
        surface.draw_path(&path);
        surface.set_stroke(None);
    }
    set_colour(surface, 60);
    let y = lines_at(surface, &fonts.bold, size, MARGIN + PAD, frame_top + PAD, &[heading.to_string()]) + 2.0;
    lines_at(surface, &fonts.regular, size, MARGIN + PAD, y, &lines);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: u32) -> TicketPrint {
        TicketPrint {
            venue_name: "Théâtre de la Renaissance — SCIC Les Planches".into(),
            licences: "Licences d'entrepreneur de spectacles : L-R-21-001234 (cat. 1), L-R-21-001235 (cat. 2), L-R-21-001236 (cat. 3)".into(),
            show_name: "Les Fourberies de Scapin, comédie en trois actes de Molière, mise en scène nouvelle avec orchestre".into(),
            starts_at: "samedi 03/10/2026 20:30".into(),
            hall: "Grande salle Jean-Vilar".into(),
            seat: (n == 1).then(|| "Rang C n° 12 (côté impair)".into()),
            price_category: "Plein tarif".into(),
            amount: if n == 1 { "33,00 €".into() } else { "0,00 €".into() },
            amount_cents: if n == 1 { 3300 } else { 0 },
            order_number: "2026-000123".into(),
            ticket_number: format!("000004567{n}"),
            operator: "Élodie Dupré".into(),
            channel: "Guichet".into(),
            sold_at: "23/11/2026".into(),
            spectator: (n == 1).then(|| "Mme Françoise Lefèvre-Ôzdemir".into()),
            qr_text: "TD6TPI4IE6QDSGHL3TKPYQMGBKIOV2CDVRLZOIDJVWBMXFIXRVUIEXUBWZG2PQUR6BMJYXTJE7JQLMUQWXTBY6ZGS72QH3W5JQJAVZEBT6TOJ4XUWPCEWS25C5FU52BD324RQ4I".into(),
            terms: "Billet ni repris ni échangé, sauf annulation du spectacle. Toute sortie est définitive. \
                    Les retardataires sont placés à l'entracte ou selon les possibilités de la salle, sans remboursement. \
                    La revente à un prix supérieur à celui imprimé est interdite (loi du 12 mars 2012). \
                    Conservez ce billet jusqu'à la fin de la représentation; il peut être contrôlé à tout moment. \
                    Photographies et enregistrements interdits pendant le spectacle."
                .into(),
        }
    }

    /// Pages according to `pdfinfo`, when it is installed.
    fn pdfinfo_pages(pdf: &[u8]) -> Option<usize> {
        static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("parterre-tickets-{}-{n}.pdf", std::process::id()));
        std::fs::write(&path, pdf).ok()?;
        let out = std::process::Command::new("pdfinfo").arg(&path).output();
        let _ = std::fs::remove_file(&path);
        let out = out.ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find_map(|l| l.strip_prefix("Pages:"))
            .and_then(|n| n.trim().parse().ok())
    }

    /// Page objects in the file: `/Type /Page` or `/Type/Page`, not `/Pages`.
    fn page_objects(pdf: &[u8]) -> usize {
        (0..pdf.len())
            .filter(|&i| pdf[i..].starts_with(b"/Type"))
            .filter(|&i| {
                let rest = &pdf[i + 5..];
                let rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
                rest.starts_with(b"/Page") && !rest.get(5).is_some_and(|b| b.is_ascii_alphanumeric())
            })
            .count()
    }

    /// `pdfinfo`'s count when available, checked against the page objects.
    fn page_count(pdf: &[u8]) -> usize {
        let objects = page_objects(pdf);
        if let Some(pages) = pdfinfo_pages(pdf) {
            assert_eq!(pages, objects, "pdfinfo and page objects disagree");
        }
        objects
    }

    #[test]
    fn renders_one_page_per_ticket() {
        let pdf = render_tickets(&[sample(1), sample(2)]).unwrap();
        assert!(pdf.starts_with(b"%PDF"));
        assert_eq!(page_count(&pdf), 2);
    }

    #[test]
    fn empty_list_is_refused() {
        let err = render_tickets(&[]).unwrap_err();
        assert!(matches!(err, TicketPdfError::NothingToPrint));
        assert_eq!(err.to_string(), "aucun billet à imprimer");
    }

    fn with(change: impl FnOnce(&mut TicketPrint)) -> TicketPrint {
        let mut t = sample(1);
        change(&mut t);
        t
    }

    #[test]
    fn bad_tickets_are_refused_with_reasons() {
        let no_code = with(|t| t.qr_text = " ".into());
        assert!(matches!(render_tickets(&[no_code]), Err(TicketPdfError::MissingCode(_))));
        let negative = with(|t| t.amount_cents = -1);
        assert!(matches!(render_tickets(&[negative]), Err(TicketPdfError::NegativeAmount { .. })));
        let err = render_tickets(&[sample(2), with(|t| t.qr_text = "A".repeat(5000))]).unwrap_err();
        assert!(matches!(err, TicketPdfError::Qr { .. }));
        assert!(err.to_string().contains("0000045671"), "{err}");
    }

    #[test]
    fn long_texts_stay_inside_the_page() {
        let fonts = Fonts {
            regular: Face::load(REGULAR_TTF, "r").unwrap(),
            bold: Face::load(BOLD_TTF, "b").unwrap(),
        };
        let name = "Anticonstitutionnellement ".repeat(20) + &"X".repeat(200);
        let (size, lines) = fit(&fonts.bold, &name, &[16.0, 14.0, 12.0, 10.5], CONTENT_W, 3);
        assert_eq!(lines.len(), 3);
        assert!(lines[2].ends_with('…'));
        assert!(lines.iter().all(|l| fonts.bold.width(l, size) <= CONTENT_W), "{lines:?}");
        // A single word longer than a line is cut, not overflowed.
        let cut = wrap(&fonts.regular, &"W".repeat(300), 9.0, 100.0);
        assert!(cut.len() > 1 && cut.iter().all(|l| fonts.regular.width(l, 9.0) <= 100.0));
        // Huge terms and odd characters still render.
        let odd = with(|t| {
            t.show_name = name;
            t.terms = "Conditions\tgénérales\u{0}\n".repeat(400);
            t.spectator = Some("名前 🎭".into());
        });
        let pdf = render_tickets(&[odd]).unwrap();
        assert_eq!(page_count(&pdf), 1);
    }

    #[test]
    fn measured_widths_are_sane() {
        let face = Face::load(REGULAR_TTF, "r").unwrap();
        let w = face.width("1 234,50 €", 10.0);
        assert!((50.0..58.0).contains(&w), "{w}");
        assert_eq!(face.width("", 10.0), 0.0);
    }
}
