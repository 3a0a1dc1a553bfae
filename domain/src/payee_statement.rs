//! Payee statements: what one payee earned, had recouped and is paid in one payout run, as the
//! CSV and the PDF the payee downloads.
//!
//! [`PayeeStatement`] is the whole statement, loaded by the workers crate; [`to_csv`] and
//! [`to_pdf`] render it and do nothing else (no I/O, no clock, no rounding). Every amount is
//! shown exactly, as [`Money::to_decimal_string`] gives it (the same string as the GraphQL
//! `Money.amount`), in the payout's currency.
//!
//! # What the figures mean
//!
//! The figures are the payout's, as computed for the run (see [`crate::payout`]):
//! `brought forward + earnings − recouped − reserved + reserve released = payable + carried
//! forward`, and the payable is paid as `paid + withheld` (tax withheld at the payee's rate)
//! plus any conversion remainder, the payment itself shown in the payout currency at the run's
//! rate. The lines break the earnings down by release, track, store and territory: each
//! line's earnings include what was recouped from it (shown again in its own column), so the
//! lines sum to the payout's earnings and recouped figures.
//!
//! # PDF
//!
//! A4 landscape, set in Helvetica, one of the 14 standard PDF fonts every reader has, so
//! nothing is embedded. Those fonts cover Windows-1252 (Western European) text; any other
//! character prints as `?`, while the CSV, in UTF-8, keeps every name as it is. Long texts are
//! cut to their column with an ellipsis. The line table runs over as many pages as it needs,
//! repeating its column titles on each.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::money::{Currency, Money};

pub use crate::payout::{PayoutStatus, RunStatus};

/// One payee's payout figures in a run, in nano-units of the statement's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatementFigures {
    /// Carried forward by the payee's previous paid run (negative when they owe).
    pub brought_forward_nanos: i64,
    /// Everything allocated to the payee in the run, recoupment included.
    pub earnings_nanos: i64,
    /// The part of the earnings retained to recoup advances and expenses.
    pub recouped_nanos: i64,
    /// Held back in reserve this run.
    pub reserved_nanos: i64,
    /// Reserves of earlier runs released this run.
    pub reserve_released_nanos: i64,
    /// Paid this run.
    pub payable_nanos: i64,
    /// Carried forward to the next run.
    pub carried_forward_nanos: i64,
    /// The sub-minor-unit part of `carried_forward_nanos` left over by the payment.
    pub rounding_remainder_nanos: i64,
    /// Whether a positive balance was carried forward because it is below the minimum payout.
    pub below_minimum: bool,
    /// The part of the payable withheld (tax), kept in the `withholding` account.
    pub withheld_nanos: i64,
    /// What the payment stands for in the statement's currency (`payable − withheld`, less
    /// any conversion remainder).
    pub paid_nanos: i64,
    /// What the payee receives, in the payout currency.
    pub payout_amount_nanos: i64,
}

/// The payee's earnings from one release, track, store and territory in the run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatementLine {
    /// The release's title, when the entries name a release.
    pub release_title: Option<String>,
    /// The release's UPC or EAN.
    pub upc: Option<String>,
    /// The track's title, for track sales.
    pub track_title: Option<String>,
    /// The track's ISRC.
    pub isrc: Option<String>,
    /// The store (or distributor channel) that reported the sales.
    pub store: Option<String>,
    /// Where the sales happened (ISO 3166-1 alpha-2, or as reported).
    pub territory: Option<String>,
    /// Units sold or streamed, each statement line counted once.
    pub quantity: i64,
    /// The payee's earnings, recoupment included.
    pub earnings_nanos: i64,
    /// The part of `earnings_nanos` retained by recoupment.
    pub recouped_nanos: i64,
}

/// An advance or expense of the payee, and how far it is recouped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRecoupable {
    /// What it is, as the label described it.
    pub description: String,
    /// `advance` or `expense`.
    pub kind: String,
    /// When it was incurred.
    pub incurred_on: NaiveDate,
    /// Its currency.
    pub currency: Currency,
    /// Its amount.
    pub amount_nanos: i64,
    /// Recouped by the entries this run takes up.
    pub recouped_this_run_nanos: i64,
    /// Recouped in all, as of the run (its entries up to the run's ledger watermark).
    pub recouped_to_date_nanos: i64,
}

impl StatementRecoupable {
    /// What is left to recoup after the run (negative if it was over-recouped).
    #[must_use]
    pub fn remaining_nanos(&self) -> i64 {
        self.amount_nanos
            .saturating_sub(self.recouped_to_date_nanos)
    }
}

/// A payee's statement for one payout run in one currency: everything [`to_csv`] and
/// [`to_pdf`] show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayeeStatement {
    /// The organisation paying.
    pub organization_name: String,
    /// The payee.
    pub payee_name: String,
    /// The last day of the run's period.
    pub period_end: NaiveDate,
    /// The run's status.
    pub run_status: RunStatus,
    /// When the run was paid.
    pub run_paid_at: Option<DateTime<Utc>>,
    /// The payout's status.
    pub payout_status: PayoutStatus,
    /// The payout's currency, the currency of every figure and line.
    pub currency: Currency,
    /// The payout's figures.
    pub figures: StatementFigures,
    /// The withholding rate applied, as a percent string (`"30"`).
    pub withholding_percent: String,
    /// The currency the payee is paid in (the statement's currency, or the payee's own).
    pub payout_currency: Currency,
    /// 1 unit of `currency` = `exchange_rate` units of `payout_currency`, as recorded on the run.
    pub exchange_rate: String,
    /// The payment's reference, once paid.
    pub payment_reference: Option<String>,
    /// When the payout was paid.
    pub paid_at: Option<DateTime<Utc>>,
    /// The earnings by release, track, store and territory, in display order.
    pub lines: Vec<StatementLine>,
    /// The payee's advances and expenses still recouping or recouped in this run.
    pub recoupables: Vec<StatementRecoupable>,
}

/// Sums of a statement's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTotals {
    /// Σ quantity (saturating: a count, not money).
    pub quantity: i64,
    /// Σ earnings, `None` when it does not fit in an `i64`.
    pub earnings_nanos: Option<i64>,
    /// Σ recouped, `None` when it does not fit in an `i64`.
    pub recouped_nanos: Option<i64>,
}

impl PayeeStatement {
    /// The sums of the lines; they equal the payout's earnings and recouped figures.
    #[must_use]
    pub fn line_totals(&self) -> LineTotals {
        let mut quantity: i64 = 0;
        let mut earnings: i128 = 0;
        let mut recouped: i128 = 0;
        for line in &self.lines {
            quantity = quantity.saturating_add(line.quantity);
            earnings += i128::from(line.earnings_nanos);
            recouped += i128::from(line.recouped_nanos);
        }
        LineTotals {
            quantity,
            earnings_nanos: i64::try_from(earnings).ok(),
            recouped_nanos: i64::try_from(recouped).ok(),
        }
    }

    /// The download's file name without extension: `imprint-statement-<payee>-<period end>`,
    /// the payee's name cut down to lowercase ASCII letters, digits and dashes.
    #[must_use]
    pub fn file_stem(&self) -> String {
        let mut slug = String::new();
        for c in self.payee_name.chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug = slug.trim_end_matches('-');
        let slug = if slug.is_empty() { "payee" } else { slug };
        format!("imprint-statement-{slug}-{}", self.period_end)
    }

    fn money(&self, nanos: i64) -> String {
        Money::new(nanos, self.currency).to_decimal_string()
    }

    fn money_or_overflow(&self, nanos: Option<i64>) -> String {
        nanos.map_or_else(|| "out of range".to_owned(), |n| self.money(n))
    }
}

/// How the run's status reads on a statement.
fn run_status_text(statement: &PayeeStatement) -> String {
    match statement.run_status {
        RunStatus::Draft | RunStatus::Computing => {
            "Being computed: these figures are provisional".to_owned()
        }
        RunStatus::Ready => "Ready for approval: these figures are provisional".to_owned(),
        RunStatus::Approved => "Approved, payment pending".to_owned(),
        RunStatus::Paid => match statement.run_paid_at {
            Some(at) => format!("Paid on {}", at.date_naive()),
            None => "Paid".to_owned(),
        },
        RunStatus::Failed => "Failed: these figures are provisional".to_owned(),
        RunStatus::Cancelled => {
            "CANCELLED: this payout run was cancelled and nothing in it is paid".to_owned()
        }
    }
}

/// How the payout's status reads on a statement.
fn payout_status_text(statement: &PayeeStatement) -> &'static str {
    match statement.payout_status {
        PayoutStatus::Pending => "Pending",
        PayoutStatus::CarriedForward if statement.figures.below_minimum => {
            "Carried forward: below the minimum payout"
        }
        PayoutStatus::CarriedForward => "Carried forward",
        PayoutStatus::Paid => "Paid",
        PayoutStatus::Cancelled => "Cancelled",
    }
}

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

/// The column titles of the CSV's line table.
pub const CSV_LINE_COLUMNS: [&str; 9] = [
    "Release",
    "UPC",
    "Track",
    "ISRC",
    "Store",
    "Territory",
    "Quantity",
    "Earnings",
    "Recouped",
];

/// The column titles of the CSV's recoupable table.
pub const CSV_RECOUPABLE_COLUMNS: [&str; 8] = [
    "Recoupable",
    "Kind",
    "Incurred on",
    "Currency",
    "Amount",
    "Recouped this run",
    "Recouped to date",
    "Remaining",
];

/// A text from the catalogue or a partner file, made safe to open in a spreadsheet: one that
/// starts like a formula (`=`, `+`, `-`, `@`, tab, carriage return) gets a leading `'`, so
/// the spreadsheet shows it instead of evaluating it. Amounts are written as they are.
fn spreadsheet_text(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

fn optional_text(text: Option<&String>) -> Cow<'_, str> {
    text.map_or(Cow::Borrowed(""), |t| spreadsheet_text(t))
}

/// Writes the statement as CSV (UTF-8, RFC 4180, CRLF) to `out`: a block of `field,value`
/// records (organisation, payee, period, statuses, currency, the payout's figures, payment),
/// an empty line, the line table under its column titles ([`CSV_LINE_COLUMNS`]), an empty
/// line, and the recoupable table ([`CSV_RECOUPABLE_COLUMNS`]).
///
/// # Errors
/// When `out` fails.
pub fn write_csv(statement: &PayeeStatement, mut out: impl std::io::Write) -> csv::Result<()> {
    // One writer per block, so the blocks may differ in width and an empty line can go between
    // them: spreadsheets show it as a gap, CSV readers skip it.
    fn block<W: std::io::Write>(out: W) -> csv::Writer<W> {
        csv::WriterBuilder::new()
            .flexible(true)
            .terminator(csv::Terminator::CRLF)
            .from_writer(out)
    }
    let s = statement;
    let f = &s.figures;
    let period_end = s.period_end.to_string();
    let payout_amount = Money::new(f.payout_amount_nanos, s.payout_currency).to_decimal_string();
    let header: [(&str, Cow<'_, str>); 24] = [
        ("Organisation", spreadsheet_text(&s.organization_name)),
        ("Payee", spreadsheet_text(&s.payee_name)),
        ("Period end", Cow::Borrowed(&period_end)),
        ("Run status", Cow::Borrowed(s.run_status.as_str())),
        ("Payout status", Cow::Borrowed(s.payout_status.as_str())),
        ("Currency", Cow::Borrowed(s.currency.as_str())),
        (
            "Brought forward",
            Cow::Owned(s.money(f.brought_forward_nanos)),
        ),
        ("Earnings", Cow::Owned(s.money(f.earnings_nanos))),
        ("Recouped", Cow::Owned(s.money(f.recouped_nanos))),
        ("Reserved", Cow::Owned(s.money(f.reserved_nanos))),
        (
            "Reserve released",
            Cow::Owned(s.money(f.reserve_released_nanos)),
        ),
        ("Payable", Cow::Owned(s.money(f.payable_nanos))),
        ("Withholding rate %", Cow::Borrowed(&s.withholding_percent)),
        ("Withheld", Cow::Owned(s.money(f.withheld_nanos))),
        ("Paid", Cow::Owned(s.money(f.paid_nanos))),
        ("Payout currency", Cow::Borrowed(s.payout_currency.as_str())),
        ("Exchange rate", Cow::Borrowed(&s.exchange_rate)),
        ("Payout amount", Cow::Owned(payout_amount)),
        (
            "Carried forward",
            Cow::Owned(s.money(f.carried_forward_nanos)),
        ),
        (
            "Rounding remainder",
            Cow::Owned(s.money(f.rounding_remainder_nanos)),
        ),
        (
            "Below minimum",
            Cow::Borrowed(if f.below_minimum { "yes" } else { "no" }),
        ),
        (
            "Payment reference",
            optional_text(s.payment_reference.as_ref()),
        ),
        (
            "Paid at",
            Cow::Owned(
                s.paid_at
                    .map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true))
                    .unwrap_or_default(),
            ),
        ),
        ("Lines", Cow::Owned(s.lines.len().to_string())),
    ];
    let mut w = block(&mut out);
    for (field, value) in &header {
        w.write_record([*field, value.as_ref()])?;
    }
    w.flush()?;
    drop(w);
    out.write_all(b"\r\n")?;

    let mut w = block(&mut out);
    w.write_record(CSV_LINE_COLUMNS)?;
    for line in &s.lines {
        w.write_record([
            optional_text(line.release_title.as_ref()).as_ref(),
            optional_text(line.upc.as_ref()).as_ref(),
            optional_text(line.track_title.as_ref()).as_ref(),
            optional_text(line.isrc.as_ref()).as_ref(),
            optional_text(line.store.as_ref()).as_ref(),
            optional_text(line.territory.as_ref()).as_ref(),
            &line.quantity.to_string(),
            &s.money(line.earnings_nanos),
            &s.money(line.recouped_nanos),
        ])?;
    }
    w.flush()?;
    drop(w);
    out.write_all(b"\r\n")?;

    let mut w = block(&mut out);
    w.write_record(CSV_RECOUPABLE_COLUMNS)?;
    for r in &s.recoupables {
        let money = |nanos: i64| Money::new(nanos, r.currency).to_decimal_string();
        w.write_record([
            spreadsheet_text(&r.description).as_ref(),
            spreadsheet_text(&r.kind).as_ref(),
            &r.incurred_on.to_string(),
            r.currency.as_str(),
            &money(r.amount_nanos),
            &money(r.recouped_this_run_nanos),
            &money(r.recouped_to_date_nanos),
            &money(r.remaining_nanos()),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// The statement as CSV bytes; see [`write_csv`].
#[must_use]
pub fn to_csv(statement: &PayeeStatement) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + statement.lines.len() * 96);
    // Writing to a `Vec` cannot fail, and a flexible writer accepts records of any length:
    // `write_csv` has no error left to return here.
    write_csv(statement, &mut out).expect("writing a CSV to memory");
    out
}

// ---------------------------------------------------------------------------------------------
// PDF
// ---------------------------------------------------------------------------------------------

/// A4 landscape, in points.
const PAGE_WIDTH: f32 = 842.0;
const PAGE_HEIGHT: f32 = 595.0;
const MARGIN: f32 = 36.0;
const BODY_TOP: f32 = PAGE_HEIGHT - MARGIN;
/// The body stops here; the footer sits below.
const BODY_BOTTOM: f32 = 42.0;
const FOOTER_BASELINE: f32 = 24.0;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;

/// Table text size and row height.
const TABLE_SIZE: f32 = 7.5;
const TABLE_ROW: f32 = 10.0;

const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Face {
    Regular,
    Bold,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    None,
    Above,
    Below,
}

/// A column: where it starts, how wide it is, how its text is aligned.
#[derive(Debug, Clone, Copy)]
struct Column {
    x: f32,
    width: f32,
    align: Align,
}

/// Lays columns of the given widths and alignments side by side from the left margin.
fn columns<const N: usize>(spec: [(f32, Align); N]) -> [Column; N] {
    let mut x = MARGIN;
    spec.map(|(width, align)| {
        let column = Column { x, width, align };
        x += width;
        column
    })
}

/// One line of text on the page: cells in columns, in one face and size.
#[derive(Debug, Clone)]
struct Row {
    cells: Vec<(Column, String)>,
    face: Face,
    size: f32,
    height: f32,
    rule: Rule,
}

impl Row {
    fn new(face: Face, size: f32, height: f32, cells: Vec<(Column, String)>) -> Self {
        Self {
            cells,
            face,
            size,
            height,
            rule: Rule::None,
        }
    }

    fn text(face: Face, size: f32, height: f32, text: impl Into<String>) -> Self {
        let column = Column {
            x: MARGIN,
            width: CONTENT_WIDTH,
            align: Align::Left,
        };
        Self::new(face, size, height, vec![(column, text.into())])
    }

    fn with_rule(mut self, rule: Rule) -> Self {
        self.rule = rule;
        self
    }
}

/// What the body is made of, top to bottom.
#[derive(Debug)]
enum Block {
    /// A row that must stay on the page of what follows it (a section title).
    Title(Row),
    Row(Row),
    /// Vertical space.
    Gap(f32),
    /// A table whose column titles repeat on every page it runs over.
    Table {
        head: Row,
        rows: Vec<Row>,
        foot: Option<Row>,
    },
}

/// A row placed on a page, its bottom at `y`.
type Placed<'a> = (&'a Row, f32);

/// Cuts the body into pages.
fn paginate(blocks: &[Block]) -> Vec<Vec<Placed<'_>>> {
    struct Pager<'a> {
        pages: Vec<Vec<Placed<'a>>>,
        y: f32,
        head: Option<&'a Row>,
    }
    impl<'a> Pager<'a> {
        fn room(&self) -> f32 {
            self.y - BODY_BOTTOM
        }
        fn break_page(&mut self) {
            self.pages.push(Vec::new());
            self.y = BODY_TOP;
            if let Some(head) = self.head {
                self.put(head);
            }
        }
        fn put(&mut self, row: &'a Row) {
            self.y -= row.height;
            if let Some(page) = self.pages.last_mut() {
                page.push((row, self.y));
            }
        }
        fn place(&mut self, row: &'a Row) {
            if row.height > self.room() {
                self.break_page();
            }
            self.put(row);
        }
    }
    let mut pager = Pager {
        pages: vec![Vec::new()],
        y: BODY_TOP,
        head: None,
    };
    for (i, block) in blocks.iter().enumerate() {
        match block {
            Block::Title(row) => {
                // Keep a title with the first rows of what follows it.
                let next = match blocks.get(i + 1) {
                    Some(Block::Table { head, .. }) => head.height + 2.0 * TABLE_ROW,
                    Some(Block::Row(r) | Block::Title(r)) => r.height,
                    _ => 0.0,
                };
                if row.height + next > pager.room() {
                    pager.break_page();
                }
                pager.put(row);
            }
            Block::Row(row) => pager.place(row),
            Block::Gap(gap) => pager.y -= gap.min(pager.room().max(0.0)),
            Block::Table { head, rows, foot } => {
                let first = rows.first().or(foot.as_ref()).map_or(0.0, |r| r.height);
                if head.height + first > pager.room() {
                    pager.break_page();
                }
                pager.put(head);
                pager.head = Some(head);
                for row in rows {
                    pager.place(row);
                }
                if let Some(foot) = foot {
                    pager.place(foot);
                }
                pager.head = None;
            }
        }
    }
    pager.pages
}

/// Helvetica's advance widths (1/1000 em) for the printable ASCII characters, from its AFM.
const HELVETICA_WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0..?
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @..O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P.._
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // `..o
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // p..~
];

/// The Windows-1252 byte for `c` (the `WinAnsiEncoding` the fonts use), `?` when it has none.
fn win_ansi(c: char) -> u8 {
    match c {
        ' '..='~' => c as u8,
        '\u{a0}'..='\u{ff}' => u8::try_from(u32::from(c)).unwrap_or(b'?'),
        '\t' | '\n' | '\r' => b' ',
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8A,
        '‹' => 0x8B,
        'Œ' => 0x8C,
        'Ž' => 0x8E,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9A,
        '›' => 0x9B,
        'œ' => 0x9C,
        'ž' => 0x9E,
        'Ÿ' => 0x9F,
        _ => b'?',
    }
}

/// A byte's width in 1/1000 em. Outside ASCII the width is a generous estimate (the widest
/// letters), so a cut text never runs into the next column.
fn glyph_width(byte: u8, face: Face) -> f32 {
    let regular = match byte {
        b' '..=b'~' => HELVETICA_WIDTHS[usize::from(byte - b' ')],
        0x85 | 0x89 | 0x8C | 0x97 | 0x99 | 0x9C | 0xC6 | 0xE6 => 1000,
        _ => 778,
    };
    let width = f32::from(regular);
    // Helvetica-Bold is at most about 10 % wider than Helvetica, glyph for glyph.
    match face {
        Face::Regular => width,
        Face::Bold => width * 1.1,
    }
}

fn text_width(bytes: &[u8], face: Face, size: f32) -> f32 {
    bytes.iter().map(|b| glyph_width(*b, face)).sum::<f32>() * size / 1000.0
}

/// `text` in Windows-1252, cut with an ellipsis to fit `width` points (less a small gutter).
fn fit(text: &str, face: Face, size: f32, width: f32) -> Vec<u8> {
    const ELLIPSIS: u8 = 0x85;
    let room = (width - 4.0).max(0.0);
    let mut bytes: Vec<u8> = text.chars().map(win_ansi).collect();
    if text_width(&bytes, face, size) <= room {
        return bytes;
    }
    let budget = room - glyph_width(ELLIPSIS, face) * size / 1000.0;
    let mut used = 0.0;
    let mut keep = 0;
    for b in &bytes {
        let w = glyph_width(*b, face) * size / 1000.0;
        if used + w > budget {
            break;
        }
        used += w;
        keep += 1;
    }
    bytes.truncate(keep);
    bytes.push(ELLIPSIS);
    bytes
}

/// The statement's body: header, figures, recoupment, lines.
fn body(s: &PayeeStatement) -> Vec<Block> {
    let money = |nanos: i64| s.money(nanos);
    let f = &s.figures;
    let mut blocks = vec![
        Block::Row(Row::text(Face::Bold, 16.0, 22.0, "Royalty statement")),
        Block::Row(Row::text(
            Face::Bold,
            11.0,
            16.0,
            s.organization_name.clone(),
        )),
        Block::Gap(4.0),
    ];
    let [label, value] = columns([(110.0, Align::Left), (CONTENT_WIDTH - 110.0, Align::Left)]);
    let info = |name: &str, text: String| {
        Block::Row(Row::new(
            Face::Regular,
            9.0,
            12.0,
            vec![(label, name.to_owned()), (value, text)],
        ))
    };
    blocks.push(info("Payee", s.payee_name.clone()));
    blocks.push(info("Period ending", s.period_end.to_string()));
    blocks.push(info("Currency", s.currency.as_str().to_owned()));
    blocks.push(info("Payout run", run_status_text(s)));
    blocks.push(info("Payout", payout_status_text(s).to_owned()));
    if let Some(reference) = &s.payment_reference {
        blocks.push(info("Payment reference", reference.clone()));
    }
    if let Some(at) = s.paid_at {
        blocks.push(info("Paid at", at.format("%Y-%m-%d %H:%M UTC").to_string()));
    }

    blocks.push(Block::Gap(10.0));
    blocks.push(Block::Title(Row::text(
        Face::Bold,
        10.0,
        15.0,
        format!("Summary ({})", s.currency),
    )));
    let [name, amount] = columns([(200.0, Align::Left), (110.0, Align::Right)]);
    let figure = |face: Face, text: &str, nanos: i64| {
        Row::new(
            face,
            9.0,
            12.0,
            vec![(name, text.to_owned()), (amount, money(nanos))],
        )
    };
    let figures = [
        figure(Face::Regular, "Brought forward", f.brought_forward_nanos),
        figure(Face::Regular, "Earnings", f.earnings_nanos),
        figure(Face::Regular, "Less recouped", f.recouped_nanos),
        figure(Face::Regular, "Less reserved", f.reserved_nanos),
        figure(
            Face::Regular,
            "Plus reserve released",
            f.reserve_released_nanos,
        ),
        figure(Face::Bold, "Payable", f.payable_nanos).with_rule(Rule::Above),
        figure(
            Face::Regular,
            &format!("Less withheld ({} %)", s.withholding_percent),
            f.withheld_nanos,
        ),
        figure(Face::Regular, "Paid", f.paid_nanos),
        Row::new(
            Face::Bold,
            9.0,
            12.0,
            vec![
                (
                    name,
                    format!(
                        "Payout in {} (1 {} = {} {})",
                        s.payout_currency, s.currency, s.exchange_rate, s.payout_currency
                    ),
                ),
                (
                    amount,
                    Money::new(f.payout_amount_nanos, s.payout_currency).to_decimal_string(),
                ),
            ],
        ),
        figure(Face::Regular, "Carried forward", f.carried_forward_nanos),
        figure(
            Face::Regular,
            "   of which rounding remainder",
            f.rounding_remainder_nanos,
        ),
    ];
    blocks.extend(figures.into_iter().map(Block::Row));
    blocks.push(Block::Row(Row::text(
        Face::Regular,
        7.0,
        11.0,
        "Brought forward + earnings - recouped - reserved + reserve released = paid + withheld + carried forward.",
    )));

    blocks.push(Block::Gap(10.0));
    blocks.push(Block::Title(Row::text(
        Face::Bold,
        10.0,
        15.0,
        "Advances and expenses",
    )));
    if s.recoupables.is_empty() {
        blocks.push(Block::Row(Row::text(
            Face::Regular,
            9.0,
            12.0,
            "Nothing to recoup.",
        )));
    } else {
        let cols = columns([
            (250.0, Align::Left),
            (60.0, Align::Left),
            (70.0, Align::Left),
            (90.0, Align::Right),
            (100.0, Align::Right),
            (100.0, Align::Right),
            (100.0, Align::Right),
        ]);
        let titles = [
            "Advance or expense",
            "Kind",
            "Incurred on",
            "Amount",
            "Recouped this run",
            "Recouped to date",
            "Remaining",
        ];
        let head = Row::new(
            Face::Bold,
            TABLE_SIZE,
            TABLE_ROW + 2.0,
            cols.iter()
                .zip(titles)
                .map(|(c, t)| (*c, t.to_owned()))
                .collect(),
        )
        .with_rule(Rule::Below);
        let rows = s
            .recoupables
            .iter()
            .map(|r| {
                let money = |nanos: i64| {
                    let text = Money::new(nanos, r.currency).to_decimal_string();
                    if r.currency == s.currency {
                        text
                    } else {
                        format!("{text} {}", r.currency)
                    }
                };
                let cells = [
                    r.description.clone(),
                    r.kind.clone(),
                    r.incurred_on.to_string(),
                    money(r.amount_nanos),
                    money(r.recouped_this_run_nanos),
                    money(r.recouped_to_date_nanos),
                    money(r.remaining_nanos()),
                ];
                Row::new(
                    Face::Regular,
                    TABLE_SIZE,
                    TABLE_ROW,
                    cols.iter().copied().zip(cells).collect(),
                )
            })
            .collect();
        blocks.push(Block::Table {
            head,
            rows,
            foot: None,
        });
    }

    blocks.push(Block::Gap(10.0));
    blocks.push(Block::Title(Row::text(
        Face::Bold,
        10.0,
        15.0,
        "Earnings by release, track, store and territory",
    )));
    if s.lines.is_empty() {
        blocks.push(Block::Row(Row::text(
            Face::Regular,
            9.0,
            12.0,
            "No earnings in this run.",
        )));
        return blocks;
    }
    let cols = columns([
        (160.0, Align::Left),
        (72.0, Align::Left),
        (160.0, Align::Left),
        (70.0, Align::Left),
        (90.0, Align::Left),
        (42.0, Align::Left),
        (50.0, Align::Right),
        (66.0, Align::Right),
        (60.0, Align::Right),
    ]);
    let head = Row::new(
        Face::Bold,
        TABLE_SIZE,
        TABLE_ROW + 2.0,
        cols.iter()
            .zip(CSV_LINE_COLUMNS)
            .map(|(c, t)| (*c, t.to_owned()))
            .collect(),
    )
    .with_rule(Rule::Below);
    let text = |t: &Option<String>| t.clone().unwrap_or_default();
    let rows = s
        .lines
        .iter()
        .map(|line| {
            let cells = [
                text(&line.release_title),
                text(&line.upc),
                text(&line.track_title),
                text(&line.isrc),
                text(&line.store),
                text(&line.territory),
                line.quantity.to_string(),
                money(line.earnings_nanos),
                money(line.recouped_nanos),
            ];
            Row::new(
                Face::Regular,
                TABLE_SIZE,
                TABLE_ROW,
                cols.iter().copied().zip(cells).collect(),
            )
        })
        .collect();
    let totals = s.line_totals();
    let foot = Row::new(
        Face::Bold,
        TABLE_SIZE,
        TABLE_ROW + 2.0,
        vec![
            (cols[0], format!("Total ({} lines)", s.lines.len())),
            (cols[6], totals.quantity.to_string()),
            (cols[7], s.money_or_overflow(totals.earnings_nanos)),
            (cols[8], s.money_or_overflow(totals.recouped_nanos)),
        ],
    )
    .with_rule(Rule::Above);
    blocks.push(Block::Table {
        head,
        rows,
        foot: Some(foot),
    });
    blocks
}

/// A page's text, switching font only when the face or size changes.
struct PageText {
    content: Content,
    font: Option<(Face, f32)>,
}

impl PageText {
    fn row(&mut self, row: &Row, y: f32) {
        if self.font != Some((row.face, row.size)) {
            let name = match row.face {
                Face::Regular => REGULAR,
                Face::Bold => BOLD,
            };
            self.content.set_font(name, row.size);
            self.font = Some((row.face, row.size));
        }
        let baseline = y + (row.height - row.size) / 2.0 + row.size * 0.22;
        for (column, text) in &row.cells {
            let bytes = fit(text, row.face, row.size, column.width);
            let x = match column.align {
                Align::Left => column.x,
                Align::Right => {
                    column.x + column.width - 2.0 - text_width(&bytes, row.face, row.size)
                }
            };
            self.content
                .set_text_matrix([1.0, 0.0, 0.0, 1.0, x, baseline]);
            self.content.show(Str(&bytes));
        }
    }
}

/// Draws one page's rows, their rules and the footer.
fn page_content(rows: &[Placed<'_>], footer_left: &str, footer_right: &str) -> Vec<u8> {
    let mut text = PageText {
        content: Content::new(),
        font: None,
    };
    text.content.begin_text();
    // Rules run under (or over) the row's cells, from the first to the last.
    let mut rules: Vec<(f32, f32, f32)> = Vec::new();
    for (row, y) in rows {
        text.row(row, *y);
        let from = row.cells.first().map_or(MARGIN, |(c, _)| c.x);
        let to = row
            .cells
            .last()
            .map_or(PAGE_WIDTH - MARGIN, |(c, _)| c.x + c.width);
        match row.rule {
            Rule::None => {}
            Rule::Above => rules.push((from, to, *y + row.height)),
            Rule::Below => rules.push((from, to, *y)),
        }
    }
    let [left, right] = columns([(CONTENT_WIDTH - 80.0, Align::Left), (80.0, Align::Right)]);
    let footer = Row::new(
        Face::Regular,
        7.0,
        10.0,
        vec![
            (left, footer_left.to_owned()),
            (right, footer_right.to_owned()),
        ],
    );
    text.row(&footer, FOOTER_BASELINE - 3.0);
    let mut content = text.content;
    content.end_text();
    if !rules.is_empty() {
        content.set_line_width(0.5);
        for (from, to, y) in rules {
            content.move_to(from, y);
            content.line_to(to, y);
        }
        content.stroke();
    }
    content.finish().into_vec()
}

/// The statement as a PDF (1.7, A4 landscape, Helvetica; see the module doc). Each page's
/// content is a Flate-compressed stream.
#[must_use]
pub fn to_pdf(statement: &PayeeStatement) -> Vec<u8> {
    let blocks = body(statement);
    let pages = paginate(&blocks);
    let page_count = pages.len();

    let mut ids = Ref::new(1);
    let catalog_id = ids.bump();
    let tree_id = ids.bump();
    let regular_id = ids.bump();
    let bold_id = ids.bump();
    let info_id = ids.bump();
    // Each page and its content stream.
    let page_ids: Vec<(Ref, Ref)> = pages.iter().map(|_| (ids.bump(), ids.bump())).collect();

    let mut pdf = Pdf::new();
    pdf.catalog(catalog_id).pages(tree_id);
    pdf.pages(tree_id)
        .kids(page_ids.iter().map(|(page, _)| *page))
        .count(i32::try_from(page_count).unwrap_or(i32::MAX));
    pdf.type1_font(regular_id)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold_id)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    let title = format!(
        "Royalty statement: {}, period ending {}",
        statement.payee_name, statement.period_end
    );
    pdf.document_info(info_id)
        .title(TextStr(&title))
        .author(TextStr(&statement.organization_name))
        .producer(TextStr("Imprint"));

    let footer_left = format!(
        "{} \u{b7} Statement for {} \u{b7} period ending {} \u{b7} {}",
        statement.organization_name, statement.payee_name, statement.period_end, statement.currency
    );
    for (i, (rows, (page_id, content_id))) in pages.iter().zip(&page_ids).enumerate() {
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
            .parent(tree_id)
            .contents(*content_id);
        page.resources()
            .fonts()
            .pair(REGULAR, regular_id)
            .pair(BOLD, bold_id);
        page.finish();
        let content = page_content(
            rows,
            &footer_left,
            &format!("Page {} of {page_count}", i + 1),
        );
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&content, 6);
        pdf.stream(*content_id, &compressed)
            .filter(Filter::FlateDecode);
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn usd() -> Currency {
        Currency::parse("USD").expect("USD")
    }

    fn line(i: usize, earnings_nanos: i64, recouped_nanos: i64) -> StatementLine {
        StatementLine {
            release_title: Some(format!("Release {}", i % 7)),
            upc: Some("5021392584126".to_owned()),
            track_title: Some(format!("Track {i}")),
            isrc: Some(format!("QZBEN24{:05}", i % 100_000)),
            store: Some(["spotify", "apple_music", "youtube"][i % 3].to_owned()),
            territory: Some(["US", "GB", "DE", "JP"][i % 4].to_owned()),
            quantity: i64::try_from(i % 300).expect("small") + 1,
            earnings_nanos,
            recouped_nanos,
        }
    }

    /// A statement whose lines add up to its figures.
    fn statement(lines: usize) -> PayeeStatement {
        let lines: Vec<StatementLine> = (0..lines)
            .map(|i| {
                let i64_i = i64::try_from(i).expect("small");
                let earnings = 1_234_567_891 + i64_i * 1_000_003;
                let recouped = if i % 5 == 0 { earnings / 2 } else { 0 };
                line(i, earnings, recouped)
            })
            .collect();
        let earnings: i64 = lines.iter().map(|l| l.earnings_nanos).sum();
        let recouped: i64 = lines.iter().map(|l| l.recouped_nanos).sum();
        let balance = earnings - recouped;
        let payable = balance / 10_000_000 * 10_000_000;
        PayeeStatement {
            organization_name: "Benchmark Records".to_owned(),
            payee_name: "Ada Lovelace".to_owned(),
            period_end: NaiveDate::from_ymd_opt(2025, 3, 31).expect("date"),
            run_status: RunStatus::Paid,
            run_paid_at: Some(
                Utc.with_ymd_and_hms(2025, 4, 2, 9, 30, 0)
                    .single()
                    .expect("t"),
            ),
            payout_status: PayoutStatus::Paid,
            currency: usd(),
            figures: StatementFigures {
                brought_forward_nanos: 0,
                earnings_nanos: earnings,
                recouped_nanos: recouped,
                reserved_nanos: 0,
                reserve_released_nanos: 0,
                payable_nanos: payable,
                carried_forward_nanos: balance - payable,
                rounding_remainder_nanos: balance - payable,
                below_minimum: false,
                withheld_nanos: 0,
                paid_nanos: payable,
                payout_amount_nanos: payable,
            },
            withholding_percent: "0".to_owned(),
            payout_currency: usd(),
            exchange_rate: "1".to_owned(),
            payment_reference: Some("WIRE-2025-04-0042".to_owned()),
            paid_at: Some(
                Utc.with_ymd_and_hms(2025, 4, 2, 9, 30, 0)
                    .single()
                    .expect("t"),
            ),
            lines,
            recoupables: vec![StatementRecoupable {
                description: "Album advance".to_owned(),
                kind: "advance".to_owned(),
                incurred_on: NaiveDate::from_ymd_opt(2024, 11, 1).expect("date"),
                currency: usd(),
                amount_nanos: 5_000_000_000_000,
                recouped_this_run_nanos: recouped,
                recouped_to_date_nanos: recouped + 1_000_000_000,
            }],
        }
    }

    fn records(bytes: &[u8]) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes)
            .records()
            .map(|r| r.expect("a CSV record").iter().map(str::to_owned).collect())
            .collect()
    }

    fn value<'a>(records: &'a [Vec<String>], field: &str) -> &'a str {
        records
            .iter()
            .find(|r| r.first().map(String::as_str) == Some(field))
            .and_then(|r| r.get(1))
            .map_or_else(|| panic!("no {field} in the CSV"), String::as_str)
    }

    #[test]
    fn csv_reads_back_with_exact_amounts() {
        let s = statement(12);
        let records = records(&to_csv(&s));
        assert_eq!(value(&records, "Organisation"), "Benchmark Records");
        assert_eq!(value(&records, "Payee"), "Ada Lovelace");
        assert_eq!(value(&records, "Period end"), "2025-03-31");
        assert_eq!(value(&records, "Currency"), "USD");
        assert_eq!(value(&records, "Run status"), "paid");
        assert_eq!(value(&records, "Payment reference"), "WIRE-2025-04-0042");
        assert_eq!(value(&records, "Paid at"), "2025-04-02T09:30:00Z");
        let f = s.figures;
        for (field, nanos) in [
            ("Brought forward", f.brought_forward_nanos),
            ("Earnings", f.earnings_nanos),
            ("Recouped", f.recouped_nanos),
            ("Reserved", f.reserved_nanos),
            ("Reserve released", f.reserve_released_nanos),
            ("Payable", f.payable_nanos),
            ("Carried forward", f.carried_forward_nanos),
            ("Rounding remainder", f.rounding_remainder_nanos),
        ] {
            let text = value(&records, field);
            assert_eq!(
                text,
                Money::new(nanos, usd()).to_decimal_string(),
                "{field}"
            );
            assert_eq!(
                crate::money::parse_decimal_str(text).expect("an exact decimal"),
                nanos,
                "{field}"
            );
        }

        let head = records
            .iter()
            .position(|r| r.first().map(String::as_str) == Some("Release"))
            .expect("the line table");
        assert_eq!(records[head], CSV_LINE_COLUMNS);
        let lines = &records[head + 1..head + 1 + s.lines.len()];
        for (record, line) in lines.iter().zip(&s.lines) {
            assert_eq!(record.len(), 9);
            assert_eq!(Some(&record[2]), line.track_title.as_ref());
            assert_eq!(record[6], line.quantity.to_string());
            assert_eq!(
                crate::money::parse_decimal_str(&record[7]).expect("amount"),
                line.earnings_nanos
            );
            assert_eq!(
                crate::money::parse_decimal_str(&record[8]).expect("amount"),
                line.recouped_nanos
            );
        }
        let recoupables = &records[head + 1 + s.lines.len()..];
        assert_eq!(recoupables[0], CSV_RECOUPABLE_COLUMNS);
        assert_eq!(recoupables[1][0], "Album advance");
        assert_eq!(
            crate::money::parse_decimal_str(&recoupables[1][7]).expect("remaining"),
            s.recoupables[0].remaining_nanos()
        );
    }

    #[test]
    fn csv_lines_sum_to_the_earnings() {
        let s = statement(250);
        let records = records(&to_csv(&s));
        let head = records
            .iter()
            .position(|r| r.first().map(String::as_str) == Some("Release"))
            .expect("the line table");
        let (mut earnings, mut recouped) = (0_i64, 0_i64);
        for record in &records[head + 1..head + 1 + s.lines.len()] {
            earnings += crate::money::parse_decimal_str(&record[7]).expect("amount");
            recouped += crate::money::parse_decimal_str(&record[8]).expect("amount");
        }
        let csv_earnings =
            crate::money::parse_decimal_str(value(&records, "Earnings")).expect("earnings");
        let csv_recouped =
            crate::money::parse_decimal_str(value(&records, "Recouped")).expect("recouped");
        assert_eq!(earnings, csv_earnings);
        assert_eq!(recouped, csv_recouped);
        let totals = s.line_totals();
        assert_eq!(totals.earnings_nanos, Some(s.figures.earnings_nanos));
        assert_eq!(totals.recouped_nanos, Some(s.figures.recouped_nanos));
        let f = s.figures;
        assert_eq!(
            f.brought_forward_nanos + f.earnings_nanos - f.recouped_nanos - f.reserved_nanos
                + f.reserve_released_nanos,
            f.payable_nanos + f.carried_forward_nanos
        );
    }

    #[test]
    fn csv_quotes_and_defuses_catalogue_text() {
        let mut s = statement(1);
        s.payee_name = "Smith, \"Jr\"".to_owned();
        s.lines[0].track_title = Some("=HYPERLINK(\"http://x\")".to_owned());
        s.lines[0].release_title = Some("Déjà vu — 東京".to_owned());
        s.figures.brought_forward_nanos = -1_500_000_000;
        let records = records(&to_csv(&s));
        assert_eq!(value(&records, "Payee"), "Smith, \"Jr\"");
        // A negative amount stays a number.
        assert_eq!(value(&records, "Brought forward"), "-1.50");
        let row = records
            .iter()
            .find(|r| r.len() == 9 && r[0].starts_with("Déjà"))
            .expect("the line");
        assert_eq!(row[0], "Déjà vu — 東京");
        assert_eq!(row[2], "'=HYPERLINK(\"http://x\")");
    }

    #[test]
    fn file_stem_is_ascii() {
        let mut s = statement(0);
        assert_eq!(s.file_stem(), "imprint-statement-ada-lovelace-2025-03-31");
        s.payee_name = "  Björk & Co. / 東京 ".to_owned();
        assert_eq!(s.file_stem(), "imprint-statement-bj-rk-co-2025-03-31");
        s.payee_name = "東京".to_owned();
        assert_eq!(s.file_stem(), "imprint-statement-payee-2025-03-31");
    }

    /// The page objects of a PDF (`/Type /Page`, not `/Pages`).
    fn page_objects(pdf: &[u8]) -> usize {
        let needle = b"/Type /Page";
        pdf.windows(needle.len() + 1)
            .filter(|w| w.starts_with(needle) && w[needle.len()] != b's')
            .count()
    }

    /// The `/Count` of the page tree.
    fn page_tree_count(pdf: &[u8]) -> usize {
        let needle = b"/Count ";
        let at = pdf
            .windows(needle.len())
            .position(|w| w == needle)
            .expect("a page tree")
            + needle.len();
        let digits: Vec<u8> = pdf[at..]
            .iter()
            .copied()
            .take_while(u8::is_ascii_digit)
            .collect();
        String::from_utf8(digits)
            .expect("digits")
            .parse()
            .expect("a count")
    }

    /// Every content stream, inflated, concatenated.
    fn page_text(pdf: &[u8]) -> Vec<u8> {
        let mut text = Vec::new();
        let mut rest = pdf;
        while let Some(at) = rest.windows(8).position(|w| w == b"\nstream\n") {
            let start = at + 8;
            let len = rest[start..]
                .windows(10)
                .position(|w| w == b"\nendstream")
                .expect("endstream");
            let inflated = miniz_oxide::inflate::decompress_to_vec_zlib(&rest[start..start + len])
                .expect("a Flate stream");
            text.extend_from_slice(&inflated);
            rest = &rest[start + len + 10..];
        }
        text
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn pdf_has_the_payee_figures_and_lines() {
        let s = statement(12);
        let pdf = to_pdf(&s);
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.ends_with(b"%%EOF") || pdf.ends_with(b"%%EOF\n"));
        assert_eq!(page_objects(&pdf), 1);
        assert_eq!(page_tree_count(&pdf), 1);
        let text = page_text(&pdf);
        for needle in [
            "(Ada Lovelace)",
            "(Benchmark Records)",
            "(2025-03-31)",
            "(WIRE-2025-04-0042)",
            "(Album advance)",
            "(Track 11)",
            "(Page 1 of 1)",
        ] {
            assert!(contains(&text, needle.as_bytes()), "{needle} missing");
        }
        let f = s.figures;
        for nanos in [f.earnings_nanos, f.recouped_nanos, f.payable_nanos] {
            let amount = format!("({})", Money::new(nanos, usd()).to_decimal_string());
            assert!(contains(&text, amount.as_bytes()), "{amount} missing");
        }
    }

    #[test]
    fn pdf_runs_over_pages_for_many_lines() {
        let s = statement(10_000);
        let pdf = to_pdf(&s);
        assert!(pdf.starts_with(b"%PDF-"));
        let blocks = body(&s);
        let pages = paginate(&blocks);
        // Every line is placed once, column titles repeat on every page of the table.
        let placed: usize = pages.iter().map(Vec::len).sum();
        assert!(placed > 10_000);
        let rows_per_page = ((BODY_TOP - BODY_BOTTOM - TABLE_ROW - 2.0) / TABLE_ROW) as usize;
        let least = 10_000_usize.div_ceil(rows_per_page);
        assert!(
            (least..=least + 2).contains(&pages.len()),
            "{} pages for {rows_per_page} rows a page",
            pages.len()
        );
        assert_eq!(page_objects(&pdf), pages.len());
        assert_eq!(page_tree_count(&pdf), pages.len());
        let text = page_text(&pdf);
        let last = format!("(Page {n} of {n})", n = pages.len());
        assert!(contains(&text, last.as_bytes()));
        assert!(contains(&text, b"(Track 9999)"));
        let total = format!(
            "({})",
            Money::new(s.figures.earnings_nanos, usd()).to_decimal_string()
        );
        assert!(contains(&text, total.as_bytes()), "the total line");
        // Every page but the first starts with the table's column titles.
        for page in &pages[1..] {
            assert_eq!(page[0].0.cells[0].1, "Release");
        }
    }

    #[test]
    fn pdf_says_cancelled_and_prints_western_text() {
        let mut s = statement(2);
        s.run_status = RunStatus::Cancelled;
        s.payout_status = PayoutStatus::Cancelled;
        s.payee_name = "Zoë Ångström".to_owned();
        let text = page_text(&to_pdf(&s));
        assert!(contains(
            &text,
            b"(CANCELLED: this payout run was cancelled"
        ));
        // Windows-1252 bytes, which pdf-writer writes as a hex string.
        let hex: String = b"Zo\xeb \xc5ngstr\xf6m"
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let lower = text.to_ascii_lowercase();
        assert!(contains(&lower, format!("<{hex}>").as_bytes()));
    }

    #[test]
    fn long_text_is_cut_to_its_column() {
        let long = "A very long release title that could never fit into its narrow column";
        let cut = fit(long, Face::Regular, TABLE_SIZE, 60.0);
        assert_eq!(cut.last(), Some(&0x85));
        assert!(text_width(&cut, Face::Regular, TABLE_SIZE) <= 56.0);
        assert_eq!(fit("Short", Face::Regular, TABLE_SIZE, 60.0), b"Short");
        assert_eq!(fit("東京", Face::Regular, TABLE_SIZE, 60.0), b"??");
    }

    #[test]
    fn status_enums_read_the_stored_words() {
        assert_eq!("cancelled".parse::<RunStatus>(), Ok(RunStatus::Cancelled));
        assert_eq!(
            "carried_forward".parse::<PayoutStatus>(),
            Ok(PayoutStatus::CarriedForward)
        );
        assert!("bogus".parse::<RunStatus>().is_err());
    }
}
