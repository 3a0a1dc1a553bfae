//! A payee's year-end summary: per currency, what the payout runs of one year took up (gross
//! earnings, recouped), withheld and paid, and what the payee received in their payout
//! currency; as the CSV and the PDF the payee downloads. Renders only (no I/O, no rounding).

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::money::{Currency, Money};

/// One currency's figures over the year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearEndRow {
    /// The ledger currency of the figures.
    pub currency: Currency,
    /// Earnings taken up by the year's paid runs, recoupment included.
    pub gross_nanos: i64,
    /// The part of the gross retained by recoupment.
    pub recouped_nanos: i64,
    /// Withheld (tax).
    pub withheld_nanos: i64,
    /// Paid, in `currency`.
    pub paid_nanos: i64,
    /// The currency the payments were made in.
    pub payout_currency: Currency,
    /// What the payee received, in `payout_currency`.
    pub received_nanos: i64,
}

/// A payee's summary for one year: the runs paid for periods ending in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearEndSummary {
    /// The organisation paying.
    pub organization_name: String,
    /// The payee.
    pub payee_name: String,
    /// The calendar year.
    pub year: i32,
    /// One row per currency and payout currency.
    pub rows: Vec<YearEndRow>,
}

/// The CSV columns of a row.
pub const CSV_COLUMNS: [&str; 7] = [
    "Currency",
    "Gross",
    "Recouped",
    "Withheld",
    "Paid",
    "Payout currency",
    "Received",
];

impl YearEndSummary {
    /// The download's file name without extension.
    #[must_use]
    pub fn file_stem(&self) -> String {
        let slug: String = self
            .payee_name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let slug = slug.trim_matches('-');
        let slug = if slug.is_empty() { "payee" } else { slug };
        format!("imprint-year-end-{slug}-{}", self.year)
    }

    fn cells(row: &YearEndRow) -> [String; 7] {
        let m = |nanos: i64| Money::new(nanos, row.currency).to_decimal_string();
        [
            row.currency.as_str().to_owned(),
            m(row.gross_nanos),
            m(row.recouped_nanos),
            m(row.withheld_nanos),
            m(row.paid_nanos),
            row.payout_currency.as_str().to_owned(),
            Money::new(row.received_nanos, row.payout_currency).to_decimal_string(),
        ]
    }
}

/// A text cell a spreadsheet would not run as a formula.
fn spreadsheet_text(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// The summary as CSV (UTF-8, CRLF): `field,value` records (organisation, payee, year), an
/// empty line, then [`CSV_COLUMNS`] and a row per currency.
#[must_use]
pub fn to_csv(summary: &YearEndSummary) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        // Writing to a Vec cannot fail.
        let _ = w.write_record([
            "Organisation",
            &spreadsheet_text(&summary.organization_name),
        ]);
        let _ = w.write_record(["Payee", &spreadsheet_text(&summary.payee_name)]);
        let _ = w.write_record(["Year", &summary.year.to_string()]);
        let _ = w.write_record([""; 0]);
        let _ = w.write_record(CSV_COLUMNS);
        for row in &summary.rows {
            let _ = w.write_record(YearEndSummary::cells(row));
        }
        let _ = w.flush();
    }
    out
}

/// Latin-1 text for the standard Helvetica font; anything else prints as `?`.
fn latin(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| {
            u8::try_from(u32::from(c))
                .ok()
                .filter(|b| *b >= 0x20)
                .unwrap_or(b'?')
        })
        .collect()
}

/// The summary as a one-page A4 PDF in Helvetica.
#[must_use]
pub fn to_pdf(summary: &YearEndSummary) -> Vec<u8> {
    let mut ids = Ref::new(1);
    let catalog_id = ids.bump();
    let tree_id = ids.bump();
    let page_id = ids.bump();
    let font_id = ids.bump();
    let content_id = ids.bump();
    let info_id = ids.bump();
    let mut pdf = Pdf::new();
    pdf.catalog(catalog_id).pages(tree_id);
    pdf.pages(tree_id).kids([page_id]).count(1);
    let mut page = pdf.page(page_id);
    page.media_box(Rect::new(0.0, 0.0, 595.0, 842.0))
        .parent(tree_id)
        .contents(content_id);
    page.resources().fonts().pair(Name(b"F1"), font_id);
    page.finish();
    pdf.type1_font(font_id)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    let title = format!("Year-end summary {}: {}", summary.year, summary.payee_name);
    pdf.document_info(info_id)
        .title(TextStr(&title))
        .author(TextStr(&summary.organization_name))
        .producer(TextStr("Imprint"));

    let mut content = Content::new();
    let mut y = 800.0;
    let line = |content: &mut Content, size: f32, x: f32, y: f32, text: &str| {
        content
            .begin_text()
            .set_font(Name(b"F1"), size)
            .next_line(x, y)
            .show(Str(&latin(text)))
            .end_text();
    };
    line(
        &mut content,
        16.0,
        40.0,
        y,
        &format!("Year-end summary {}", summary.year),
    );
    y -= 22.0;
    line(&mut content, 10.0, 40.0, y, &summary.organization_name);
    y -= 14.0;
    line(
        &mut content,
        10.0,
        40.0,
        y,
        &format!("Payee: {}", summary.payee_name),
    );
    y -= 26.0;
    let xs = [40.0, 100.0, 180.0, 260.0, 340.0, 420.0, 490.0];
    for (x, title) in xs.iter().zip(CSV_COLUMNS) {
        line(&mut content, 9.0, *x, y, title);
    }
    for row in &summary.rows {
        y -= 14.0;
        for (x, cell) in xs.iter().zip(YearEndSummary::cells(row)) {
            line(&mut content, 9.0, *x, y, &cell);
        }
    }
    if summary.rows.is_empty() {
        y -= 14.0;
        line(
            &mut content,
            9.0,
            40.0,
            y,
            "Nothing was paid for this year.",
        );
    }
    y -= 24.0;
    line(
        &mut content,
        7.0,
        40.0,
        y,
        "Gross = earnings taken up by the runs paid for periods ending in the year; paid + withheld + carried forward = gross - recouped, run by run.",
    );
    pdf.stream(content_id, &content.finish());
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_row_per_currency() {
        let usd = Currency::parse("USD").expect("USD");
        let eur = Currency::parse("EUR").expect("EUR");
        let summary = YearEndSummary {
            organization_name: "=Kestrel".to_owned(),
            payee_name: "Ada Vesper".to_owned(),
            year: 2025,
            rows: vec![YearEndRow {
                currency: usd,
                gross_nanos: 12_345_678_901,
                recouped_nanos: 0,
                withheld_nanos: 3_700_000_000,
                paid_nanos: 8_640_000_000,
                payout_currency: eur,
                received_nanos: 7_950_000_000,
            }],
        };
        let text = String::from_utf8(to_csv(&summary)).expect("utf-8");
        assert!(text.contains("Organisation,'=Kestrel\r\n"), "{text}");
        assert!(
            text.contains("USD,12.345678901,0.00,3.70,8.64,EUR,7.95\r\n"),
            "{text}"
        );
        assert_eq!(summary.file_stem(), "imprint-year-end-ada-vesper-2025");
        assert!(to_pdf(&summary).starts_with(b"%PDF-"));
    }
}
