//! Delimited statements (CSV, TSV, semicolon): one row, one line.
//!
//! Each format maps its columns to a [`StatementLine`] in [`Tabular::map_row`]; the money column
//! per format is the one FORMATS.md names, taken as is (a share the sender applied is not
//! applied again).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::{BufReader, Read};

use rust_decimal::Decimal;

use super::dates::month_period;
use super::decode::{TextEncoding, TextStream, decode_cell};
use super::detect::{Detected, column_index, header_key};
use super::numbers::{parse_amount, parse_quantity};
use super::records::{LimitExceeded, Records};
use super::territory::TerritoryMemo;
use super::{
    ColumnMapping, DateOrder, Format, Item, Limits, LineError, LineFlag, Period, Reconciliation,
    StatementLine, amount_out_of_range, parse_period,
};

/// At most this many line numbers are listed in one reconciliation warning.
const WARN_LIST_MAX: usize = 10;

pub(crate) struct Tabular<R: Read> {
    records: Records<BufReader<TextStream<R>>>,
    encoding: TextEncoding,
    format: Format,
    header_line: u64,
    columns: Columns,
    /// Territories as written → normalised, per file: a file names the same few hundred
    /// territories on every line, and normalising one walks the country table.
    territories: TerritoryMemo,
    delimiter: char,
    decimal_comma: bool,
    date_order: DateOrder,
    default_currency: String,
    preamble: HashMap<String, String>,
    mapping: Option<ColumnMapping>,
    finished: bool,
    /// The limit that stopped the reading, if one did.
    fatal: Option<LimitExceeded>,
    /// Cells in the header row: a row with more (non-empty) cells has its columns shifted.
    header_cells: usize,
    /// Set when a date cell of the row being mapped held text that is not a date.
    date_unreadable: Cell<bool>,
    /// TuneCore lines where Net Sales × Exchange Rate ≠ Total Earned.
    rate_mismatches: Vec<u64>,
    rate_mismatch_count: u64,
}

impl<R: Read> std::fmt::Debug for Tabular<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tabular")
            .field("format", &self.format)
            .field("header_line", &self.header_line)
            .finish_non_exhaustive()
    }
}

/// The header's columns by normalised name, and the position found for each name a format
/// asks for, remembered: a row is read by ten or so names, a million rows by the same ten, so
/// each name is normalised (an allocation) once per file rather than once per cell.
#[derive(Debug, Default)]
struct Columns {
    by_key: HashMap<String, usize>,
    by_name: RefCell<HashMap<String, Option<usize>>>,
}

impl Columns {
    fn new(header: &[String]) -> Self {
        Self {
            by_key: column_index(header),
            by_name: RefCell::default(),
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        if let Some(found) = self.by_name.borrow().get(name) {
            return *found;
        }
        let found = self.by_key.get(&header_key(name)).copied();
        self.by_name.borrow_mut().insert(name.to_owned(), found);
        found
    }
}

/// One decoded row with access by header name.
struct Row<'a> {
    cells: Vec<String>,
    columns: &'a Columns,
    decimal_comma: bool,
}

impl Row<'_> {
    /// The trimmed cell under `name`, `None` when the column is absent or the cell empty.
    fn get(&self, name: &str) -> Option<&str> {
        let i = self.columns.position(name)?;
        self.cells
            .get(i)
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
    }

    fn first(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.get(n))
    }

    fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }

    /// The amount under `name`: `Ok(None)` when empty, `Err` with the column named.
    fn amount(&self, name: &str) -> Result<Option<Decimal>, String> {
        self.get(name)
            .map(|raw| {
                parse_amount(raw, self.decimal_comma).map_err(|e| format!("column `{name}`: {e}"))
            })
            .transpose()
    }

    fn quantity(&self, name: &str, line: &mut StatementLine) -> Result<(), String> {
        if let Some(raw) = self.get(name) {
            let (q, fractional) = parse_quantity(raw, self.decimal_comma)
                .map_err(|e| format!("column `{name}`: {e}"))?;
            line.quantity = q;
            if fractional {
                line.flag(LineFlag::QuantityFractional);
            }
        }
        Ok(())
    }
}

impl<R: Read> Tabular<R> {
    pub(crate) fn new(
        stream: TextStream<R>,
        detected: &Detected,
        mapping: Option<ColumnMapping>,
        default_currency: Option<String>,
        limits: Limits,
    ) -> Self {
        let records = Records::new(BufReader::new(stream), detected.delimiter, true, limits);
        // A `;` file is a European export: `1.234,56`. A template says so explicitly.
        let decimal_comma = mapping
            .as_ref()
            .map_or(detected.delimiter == b';', |m| m.decimal_comma);
        let date_order = match (&mapping, detected.format) {
            (Some(m), _) => m.date_order,
            (None, Format::Believe) => DateOrder::DayFirst,
            _ => DateOrder::MonthFirst,
        };
        Self {
            records,
            encoding: detected.encoding,
            format: detected.format,
            header_line: detected.header_line,
            columns: Columns::new(&detected.header),
            territories: TerritoryMemo::default(),
            delimiter: char::from(detected.delimiter),
            decimal_comma,
            date_order,
            default_currency: default_currency.unwrap_or_else(|| "USD".to_owned()),
            preamble: detected.preamble.iter().cloned().collect(),
            mapping,
            finished: false,
            fatal: None,
            header_cells: detected.header.len(),
            date_unreadable: Cell::new(false),
            rate_mismatches: Vec::new(),
            rate_mismatch_count: 0,
        }
    }

    pub(crate) fn fatal(&self) -> Option<LimitExceeded> {
        self.fatal
    }

    pub(crate) fn reconciliation(&self) -> Reconciliation {
        let mut rec = Reconciliation::default();
        if self.rate_mismatch_count > 0 {
            let list: Vec<String> = self.rate_mismatches.iter().map(u64::to_string).collect();
            rec.warnings.push(format!(
                "Net Sales × Exchange Rate differs from Total Earned on {} line(s) (lines {}{})",
                self.rate_mismatch_count,
                list.join(", "),
                if self.rate_mismatch_count > self.rate_mismatches.len() as u64 {
                    ", …"
                } else {
                    ""
                }
            ));
        }
        rec
    }

    /// A date cell read as a period; text that is not a date marks the row
    /// ([`LineFlag::DateUnreadable`]) rather than passing for an empty cell.
    fn period(&self, raw: Option<&str>) -> Option<Period> {
        let raw = raw?;
        let period = parse_period(raw, self.date_order);
        if period.is_none() && !raw.trim().is_empty() {
            self.date_unreadable.set(true);
        }
        period
    }

    /// A period that names a month (`Sale Month`, `Sales Period`) even when written as a date.
    fn month(&self, raw: Option<&str>) -> Option<Period> {
        self.period(raw).map(|p| {
            if p.start == p.end {
                month_period(p.start)
            } else {
                p
            }
        })
    }

    fn preamble_period(&self, start: &str, end: &str) -> Option<Period> {
        let start = self.period(self.preamble.get(start).map(String::as_str))?;
        let end = self
            .period(self.preamble.get(end).map(String::as_str))
            .unwrap_or(start);
        Some(Period {
            start: start.start,
            end: end.end,
        })
    }

    fn map_row(&mut self, row: &Row<'_>, line_number: u64) -> Result<Item, String> {
        let mut line = StatementLine::new(line_number, &self.default_currency);
        let amount_col: &str;
        match self.format {
            Format::DistroKid | Format::DistroKidV2 => {
                line.reporting_period = self.period(row.get("Reporting Date"));
                line.sale_period = self.month(row.get("Sale Month"));
                line.store = row.text("Store");
                line.artist_name = row.text("Artist");
                line.title = row.text("Title");
                line.set_isrc(row.get("ISRC"));
                line.set_upc(row.get("UPC"));
                line.set_territory_by(row.get("Country of Sale"), |t| {
                    self.territories.normalize(t)
                });
                line.set_usage(row.get("Source Type"));
                row.quantity("Quantity", &mut line)?;
                line.set_currency("USD");
                amount_col = "Earnings (USD)";
            }
            Format::CdBaby => {
                line.reporting_period = self.period(row.get("Report Date"));
                line.sale_period = self.month(row.get("Sales Date"));
                line.store = row.text("Partner Name");
                line.artist_name = row.text("Artist Name");
                line.title = row.text("Track Name");
                line.release_title = row.text("Album Name");
                line.set_isrc(row.get("Isrc"));
                line.set_upc(row.get("Barcode"));
                line.set_territory_by(row.get("Delivery Country"), |t| {
                    self.territories.normalize(t)
                });
                line.set_usage(row.get("Transaction Type"));
                row.quantity("Quantity", &mut line)?;
                amount_col = "Subtotal";
            }
            Format::TuneCore => {
                line.sale_period = self.month(row.get("Sales Period"));
                line.reporting_period = self.period(row.get("Posted Date"));
                line.store = row.text("Store Name");
                line.artist_name = row.text("Artist");
                line.title = row.text("Song Title");
                line.release_title = row.text("Release Title");
                line.set_isrc(row.get("Optional ISRC"));
                line.set_upc(row.first(&["UPC", "Optional UPC"]));
                line.set_territory_by(row.get("Country Of Sale"), |t| {
                    self.territories.normalize(t)
                });
                line.set_usage(row.get("Sales Type"));
                row.quantity("# Units Sold", &mut line)?;
                if let Some(c) = row.get("Currency") {
                    line.set_currency(c);
                }
                amount_col = "Total Earned";
                if let (Some(net), Some(cur)) =
                    (row.amount("Net Sales")?, row.get("Net Sales Currency"))
                {
                    line.original_amount = Some((net, cur.to_ascii_uppercase()));
                    if let (Some(rate), Some(total)) =
                        (row.amount("Exchange Rate")?, row.amount("Total Earned")?)
                    {
                        self.check_rate(net, rate, total, line_number);
                    }
                }
            }
            Format::Symphonic => {
                line.reporting_period = self.month(row.get("Reporting Period"));
                line.sale_period = self.month(row.get("Activity Period"));
                line.store = row.text("Digital Service Provider");
                line.artist_name = row
                    .first(&["Track Artists", "Release Artists"])
                    .map(str::to_owned);
                line.title = row.text("Track Title");
                line.release_title = row.text("Release Name");
                line.set_isrc(row.get("ISRC Code"));
                line.set_upc(row.get("UPC Code"));
                line.set_territory_by(row.get("Territory"), |t| self.territories.normalize(t));
                line.set_usage(row.first(&["Delivery", "Content Type"]));
                row.quantity("Count", &mut line)?;
                line.set_currency("USD");
                amount_col = "Royalty ($US)";
            }
            Format::Orchard => {
                line.reporting_period = self.month(row.get("Period"));
                line.sale_period = self.month(row.get("Activity Period"));
                line.store = row.text("Retailer");
                line.artist_name = row
                    .first(&["Track Artist", "Artist Name"])
                    .map(str::to_owned);
                line.title = row.text("Track Name");
                line.release_title = row.text("Product Name");
                line.set_isrc(row.get("ISRC"));
                line.set_upc(row.first(&["Product UPC", "Manufacturer UPC"]));
                line.set_territory_by(row.get("Territory"), |t| self.territories.normalize(t));
                line.set_usage(row.first(&["Trans Type Description", "Trans Type"]));
                row.quantity("Quantity", &mut line)?;
                if let Some(c) = row.get("Preferred Currency") {
                    line.set_currency(c);
                }
                amount_col = "Label Share Net Receipts";
            }
            Format::Believe => {
                line.reporting_period = self.month(row.get("Reporting month"));
                line.sale_period = self.month(row.get("Sales Month"));
                line.store = row.text("Platform");
                line.artist_name = row.text("Artist Name");
                line.title = row.text("Track title");
                line.release_title = row.text("Release title");
                line.set_isrc(row.get("ISRC"));
                line.set_upc(row.get("UPC"));
                line.set_territory_by(row.get("Country / Region"), |t| {
                    self.territories.normalize(t)
                });
                line.set_usage(row.get("Sales Type"));
                row.quantity("Quantity", &mut line)?;
                line.set_currency(row.get("Client Payment Currency").unwrap_or("EUR"));
                amount_col = "Net Revenue";
            }
            Format::AppleItunesFinancial => {
                let start = self.period(row.get("Start Date"));
                let end = self.period(row.get("End Date"));
                line.sale_period = start.map(|s| Period {
                    start: s.start,
                    end: end.map_or(s.end, |e| e.end),
                });
                line.store = Some("iTunes".to_owned());
                line.artist_name = row.text("Artist/Show/Developer/Author");
                line.title = row.text("Title");
                line.set_isrc(row.get("ISRC/ISBN"));
                line.set_upc(row.get("UPC"));
                line.set_territory_by(row.get("Country Of Sale"), |t| {
                    self.territories.normalize(t)
                });
                line.usage_type = Some("download".to_owned());
                row.quantity("Quantity", &mut line)?;
                if let Some(c) = row.get("Partner Share Currency") {
                    line.set_currency(c);
                }
                amount_col = "Extended Partner Share";
            }
            Format::AppleMusicStreams => {
                line.sale_period = self.preamble_period("startdate", "enddate");
                line.store = Some("Apple Music".to_owned());
                line.artist_name = row.text("Item_Artist");
                line.title = row.text("Item_Title");
                line.set_isrc(row.get("ISRC"));
                line.set_territory_by(row.get("Storefront Name"), |t| {
                    self.territories.normalize(t)
                });
                line.usage_type = Some("stream".to_owned());
                row.quantity("Quantity", &mut line)?;
                if let Some(c) = self.preamble.get("currency") {
                    line.set_currency(c);
                }
                amount_col = "Net Royalty Total";
            }
            Format::Spotify => {
                line.sale_period = self.preamble_period("startdate", "enddate");
                line.store = Some("Spotify".to_owned());
                line.artist_name = row.text("Artist name");
                line.title = row.text("Track name");
                line.release_title = row.text("Album name");
                line.set_isrc(row.get("ISRC"));
                line.set_upc(row.first(&["UPC", "EAN"]));
                line.set_territory_by(row.get("Country"), |t| self.territories.normalize(t));
                line.usage_type = Some("stream".to_owned());
                row.quantity("Quantity", &mut line)?;
                line.set_currency("USD");
                amount_col = "USD Payable";
            }
            Format::Bandcamp => return self.map_bandcamp(row, line),
            Format::YouTubeAssets => {
                line.sale_period = self.period(row.get("Day"));
                line.store = Some("YouTube".to_owned());
                line.artist_name = row.text("Artist");
                line.title = row.text("Asset Title");
                line.release_title = row.text("Album");
                line.set_isrc(row.get("ISRC"));
                line.set_upc(row.get("UPC"));
                line.set_territory_by(row.get("Country"), |t| self.territories.normalize(t));
                line.usage_type = Some("ugc".to_owned());
                row.quantity("Owned Views", &mut line)?;
                amount_col = "Partner Revenue";
            }
            Format::Template(_) => return self.map_template(row, line),
            Format::DdexDsrBasicAudio | Format::DdexDsrUgc => {
                return Err("not a tabular format".to_owned());
            }
        }
        match row.amount(amount_col)? {
            Some(amount) => line.amount = amount,
            None => line.flag(LineFlag::AmountMissing),
        }
        if self.format == Format::AppleItunesFinancial
            && row
                .get("Sales or Return")
                .is_some_and(|s| s.eq_ignore_ascii_case("R"))
        {
            make_negative(&mut line);
        }
        if self.format == Format::Symphonic
            && row
                .get("Sale or Void")
                .is_some_and(|s| s.to_ascii_lowercase().contains("void"))
        {
            make_negative(&mut line);
        }
        Ok(Item::Line(line))
    }

    fn check_rate(&mut self, net: Decimal, rate: Decimal, total: Decimal, line_number: u64) {
        // Allow one unit in the last place Total Earned is written with.
        let tolerance = Decimal::new(1, total.scale());
        // Checked: a product out of range is a mismatch too, not a panic.
        let differs = net
            .checked_mul(rate)
            .and_then(|product| product.checked_sub(total))
            .is_none_or(|difference| difference.abs() > tolerance);
        if differs {
            self.rate_mismatch_count += 1;
            if self.rate_mismatches.len() < WARN_LIST_MAX {
                self.rate_mismatches.push(line_number);
            }
        }
    }

    /// Bandcamp: `net amount` in the row's currency; payouts are not earnings; refunds and
    /// reversals are negative. Buyer name, email, phone and address are never read.
    fn map_bandcamp(&self, row: &Row<'_>, mut line: StatementLine) -> Result<Item, String> {
        let kind = row
            .get("item type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        if kind == "payout" || kind == "withdrawal" {
            return Ok(Item::Skipped {
                line_number: line.line_number,
                reason: format!("bandcamp {kind}: not earnings"),
            });
        }
        line.sale_period = self.period(row.get("date"));
        line.store = Some("Bandcamp".to_owned());
        line.artist_name = row.text("artist");
        if kind == "track" {
            line.title = row.text("item name");
        } else {
            line.release_title = row.text("item name");
        }
        line.set_isrc(row.get("isrc"));
        line.set_upc(row.get("upc"));
        line.set_territory_by(row.first(&["country code", "country"]), |t| {
            self.territories.normalize(t)
        });
        line.set_usage(Some(&kind));
        row.quantity("quantity", &mut line)?;
        if let Some(c) = row.get("currency") {
            line.set_currency(c);
        }
        match row.amount("net amount")? {
            Some(a) => line.amount = a,
            None => line.flag(LineFlag::AmountMissing),
        }
        if matches!(kind.as_str(), "refund" | "reversal" | "chargeback") {
            make_negative(&mut line);
        }
        Ok(Item::Line(line))
    }

    fn map_template(&self, row: &Row<'_>, mut line: StatementLine) -> Result<Item, String> {
        let Some(m) = &self.mapping else {
            return Err("template format without a mapping".to_owned());
        };
        let col = |c: &Option<String>| c.as_deref().and_then(|name| row.get(name));
        line.isrc = None;
        line.set_isrc(col(&m.isrc));
        line.set_upc(col(&m.upc));
        line.title = col(&m.title).map(str::to_owned);
        line.artist_name = col(&m.artist).map(str::to_owned);
        line.release_title = col(&m.release_title).map(str::to_owned);
        line.store = col(&m.store).map(str::to_owned);
        line.set_territory_by(col(&m.territory), |t| self.territories.normalize(t));
        line.sale_period = self.period(col(&m.sale_period));
        line.set_usage(col(&m.usage_type));
        if let Some(name) = &m.quantity {
            row.quantity(name, &mut line)?;
        }
        if let Some(c) = col(&m.currency) {
            line.set_currency(c);
        }
        let amount_col = m.amount.as_deref().unwrap_or_default();
        match row.amount(amount_col)? {
            Some(a) => line.amount = a,
            None => line.flag(LineFlag::AmountMissing),
        }
        Ok(Item::Line(line))
    }
}

/// Returns, voids and refunds are negative, whether or not the file already wrote them so.
fn make_negative(line: &mut StatementLine) {
    if line.amount > Decimal::ZERO {
        line.amount = -line.amount;
    }
    if line.quantity > 0 {
        line.quantity = line.quantity.saturating_neg();
    }
}

/// A totals or trailer row: its first non-empty cell starts with "total" (or is a grand total).
///
/// Compared ASCII case-insensitively, without lower-casing a copy of the cell for every row:
/// the same answer as comparing the lower-cased cell, since no non-ASCII character lower-cases
/// to one of these ASCII letters (the Kelvin sign gives `k`, dotted `İ` gives `i` and a mark).
fn is_totals_row(cells: &[String]) -> bool {
    let starts = |c: &str, prefix: &str| {
        c.as_bytes()
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
    };
    cells
        .iter()
        .map(|c| c.trim())
        .find(|c| !c.is_empty())
        .is_some_and(|c| {
            starts(c, "total")
                || starts(c, "grand total")
                || c.eq_ignore_ascii_case("sum")
                || starts(c, "subtotal")
        })
}

impl<R: Read> Iterator for Tabular<R> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        while !self.finished {
            let record = match self.records.next_record() {
                Ok(Some(record)) => record,
                Ok(None) => {
                    self.finished = true;
                    break;
                }
                Err(e) => {
                    self.finished = true;
                    if let Some(limit) = LimitExceeded::find(&e) {
                        // A limit fails the whole statement: see `StatementReader::finish`.
                        self.fatal = Some(limit);
                        return None;
                    }
                    // A read error (or invalid UTF-16) ends the file: report where it stopped.
                    return Some(Item::Error(LineError::new(
                        0,
                        format!("read error, file cut short: {e}"),
                        "",
                    )));
                }
            };
            let line_number = record.line_number;
            if line_number <= self.header_line {
                continue;
            }
            let mut fallback = false;
            let cells: Vec<String> = record
                .cells
                .iter()
                .map(|c| {
                    let (s, f) = decode_cell(c, self.encoding);
                    fallback |= f;
                    s
                })
                .collect();
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            // The row as read, for an error only (most rows have none).
            let delimiter = self.delimiter;
            let raw = |cells: &[String]| cells.join(&*delimiter.encode_utf8(&mut [0; 4]));
            if record.unterminated {
                return Some(Item::Error(LineError::new(
                    line_number,
                    "a quoted cell is never closed",
                    &raw(&cells),
                )));
            }
            if is_totals_row(&cells) {
                return Some(Item::Skipped {
                    line_number,
                    reason: "totals row".to_owned(),
                });
            }
            // Extra empty trailing cells are harmless (ragged exports); extra text means a cell
            // held an unquoted delimiter and every column after it is shifted.
            if cells.len() > self.header_cells
                && cells[self.header_cells..]
                    .iter()
                    .any(|c| !c.trim().is_empty())
            {
                let reason = format!(
                    "the row has {} cells but the header has {}: its columns are shifted (a delimiter inside an unquoted cell?)",
                    cells.len(),
                    self.header_cells
                );
                return Some(Item::Error(LineError::new(
                    line_number,
                    reason,
                    &raw(&cells),
                )));
            }
            let columns = std::mem::take(&mut self.columns);
            let row = Row {
                cells,
                columns: &columns,
                decimal_comma: self.decimal_comma,
            };
            self.date_unreadable.set(false);
            let result = self.map_row(&row, line_number);
            let cells = row.cells;
            self.columns = columns;
            return Some(match result {
                Ok(Item::Line(mut line)) => {
                    if let Some(reason) = amount_out_of_range(&line) {
                        return Some(Item::Error(LineError::new(
                            line_number,
                            reason,
                            &raw(&cells),
                        )));
                    }
                    if fallback {
                        line.flag(LineFlag::EncodingFallback);
                    }
                    if self.date_unreadable.get() {
                        line.flag(LineFlag::DateUnreadable);
                    }
                    Item::Line(line)
                }
                Ok(other) => other,
                Err(reason) => Item::Error(LineError::new(line_number, reason, &raw(&cells))),
            });
        }
        None
    }
}
