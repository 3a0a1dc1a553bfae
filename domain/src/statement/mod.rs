//! Statement parsers: turn the royalty reports that distributors and stores send into
//! [`StatementLine`]s.
//!
//! # Layout
//!
//! - [`detect`] looks at the first bytes of a file (up to [`SNIFF_LEN`]): encoding, delimiter,
//!   the header row (found by its columns, after any preamble) and the [`Format`].
//! - [`StatementReader`] streams the file: an [`Iterator`] of [`Item`]s (a line, a line error, or
//!   a skipped non-earnings row), then [`StatementReader::finish`] gives the [`Reconciliation`]
//!   (declared totals and counts against what was read).
//! - `tabular` maps the delimited formats (one row, one line), `dsr` reads DDEX DSR flat files.
//! - [`fingerprint`] and [`Fingerprinter`] give each line an idempotency key.
//! - [`open_container`] unwraps `.gz` and `.zip` uploads.
//!
//! Memory stays bounded whatever the file size: nothing keeps more than one record, except the
//! DSR summary records (a handful per file) and one DSR block (a release and its resources).
//!
//! # Money
//!
//! Every amount is parsed from its digit string, rounded half-even to 9 decimal places once
//! ([`AMOUNT_SCALE`]), and never goes through a float. Shares already applied by the sender
//! (DistroKid `Team Percentage`, Believe `Client share rate`, Orchard `Split Rate`) are not
//! applied again: the money column named per format below is the label's amount as is.

mod container;
mod dates;
mod decode;
mod detect;
mod dsr;
mod fingerprint;
mod ids;
mod numbers;
mod reader;
mod records;
mod tabular;
pub mod territory;

use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use container::{Container, ContainerEntry, open_container, open_container_with};
pub use dates::parse_period;
pub use decode::TextEncoding;
pub use detect::{Detected, detect, detect_with};
pub use fingerprint::{Fingerprinter, LineKey, fingerprint};
pub use ids::{isrc_is_valid, normalize_isrc, normalize_upc, upc_check_digit_ok};
pub use numbers::parse_amount;
pub use reader::StatementReader;

/// How many bytes [`detect`] looks at.
pub const SNIFF_LEN: usize = 64 * 1024;

/// Decimal places kept on every amount (nano-units), rounded half-even once at ingest.
pub const AMOUNT_SCALE: u32 = 9;

/// Longest `raw` text kept on a [`LineError`], in characters.
pub const RAW_MAX_CHARS: usize = 500;

/// A statement layout Imprint knows, or a label's own column mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    DistroKid,
    DistroKidV2,
    CdBaby,
    TuneCore,
    Symphonic,
    Orchard,
    Believe,
    AppleItunesFinancial,
    AppleMusicStreams,
    Spotify,
    Bandcamp,
    YouTubeAssets,
    DdexDsrBasicAudio,
    DdexDsrUgc,
    /// A label's saved import template, by its id.
    Template(i64),
}

impl Format {
    /// Every built-in format (templates excluded).
    pub const BUILT_IN: [Self; 14] = [
        Self::DistroKid,
        Self::DistroKidV2,
        Self::CdBaby,
        Self::TuneCore,
        Self::Symphonic,
        Self::Orchard,
        Self::Believe,
        Self::AppleItunesFinancial,
        Self::AppleMusicStreams,
        Self::Spotify,
        Self::Bandcamp,
        Self::YouTubeAssets,
        Self::DdexDsrBasicAudio,
        Self::DdexDsrUgc,
    ];

    /// Stable snake_case name (stored in the database; a template is `template`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DistroKid => "distro_kid",
            Self::DistroKidV2 => "distro_kid_v2",
            Self::CdBaby => "cd_baby",
            Self::TuneCore => "tune_core",
            Self::Symphonic => "symphonic",
            Self::Orchard => "orchard",
            Self::Believe => "believe",
            Self::AppleItunesFinancial => "apple_itunes_financial",
            Self::AppleMusicStreams => "apple_music_streams",
            Self::Spotify => "spotify",
            Self::Bandcamp => "bandcamp",
            Self::YouTubeAssets => "you_tube_assets",
            Self::DdexDsrBasicAudio => "ddex_dsr_basic_audio",
            Self::DdexDsrUgc => "ddex_dsr_ugc",
            Self::Template(_) => "template",
        }
    }

    /// Inverse of [`Format::as_str`] for the built-in formats.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::BUILT_IN.into_iter().find(|f| f.as_str() == name)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Template(id) => write!(f, "template:{id}"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// An inclusive range of days: a month is its first to its last day, a single date is itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    /// One day.
    #[must_use]
    pub const fn day(date: NaiveDate) -> Self {
        Self {
            start: date,
            end: date,
        }
    }

    /// The calendar month holding `date`.
    #[must_use]
    pub fn month_of(date: NaiveDate) -> Self {
        dates::month_period(date)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// Something about a line worth a look, never a reason to drop it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineFlag {
    /// The ISRC does not match `^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$` (kept as normalised).
    IsrcInvalid,
    /// The UPC/EAN has a bad check digit.
    UpcCheckDigit,
    /// The UPC/EAN is not 8, 12, 13 or 14 digits.
    UpcInvalid,
    /// The territory did not normalise to a code (raw value kept).
    TerritoryUnknown,
    /// The row has no amount at all (empty money cell); the amount is zero.
    AmountMissing,
    /// The quantity had a fraction; it was rounded half-even to an integer.
    QuantityFractional,
    /// The currency code is not three letters.
    CurrencyUnknown,
    /// The amount was computed by prorating a summary's revenue (DDEX DSR Basic Audio).
    Prorated,
    /// A line cell could not be decoded as UTF-8 and was read as Windows-1252.
    EncodingFallback,
    /// A date cell holds text that is not a date Imprint reads: the period it gives is left
    /// empty (the line's month then comes from its statement).
    DateUnreadable,
}

/// One sale or usage read from a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLine {
    /// 1-based physical line (record) number in the decoded file.
    pub line_number: u64,
    /// Upper-case, hyphens and spaces removed; kept even when invalid (then flagged).
    pub isrc: Option<String>,
    /// Digits as a string, never a number.
    pub upc: Option<String>,
    pub title: Option<String>,
    pub artist_name: Option<String>,
    pub release_title: Option<String>,
    pub store: Option<String>,
    /// ISO 3166-1 alpha-2 (or `XK`, `XW`: see [`territory`]) when it normalises.
    pub territory: Option<String>,
    pub territory_raw: Option<String>,
    pub sale_period: Option<Period>,
    pub reporting_period: Option<Period>,
    /// `stream`, `download`, `physical`, `ugc`, or the raw value lower-cased.
    pub usage_type: Option<String>,
    pub quantity: i64,
    /// In `currency`, rounded half-even to [`AMOUNT_SCALE`] places once.
    pub amount: Decimal,
    /// ISO 4217.
    pub currency: String,
    /// The amount before an exchange rate was applied, in its own currency.
    pub original_amount: Option<(Decimal, String)>,
    pub flags: Vec<LineFlag>,
}

impl StatementLine {
    /// An empty line at `line_number`, amount zero in `currency`.
    #[must_use]
    pub fn new(line_number: u64, currency: &str) -> Self {
        Self {
            line_number,
            isrc: None,
            upc: None,
            title: None,
            artist_name: None,
            release_title: None,
            store: None,
            territory: None,
            territory_raw: None,
            sale_period: None,
            reporting_period: None,
            usage_type: None,
            quantity: 0,
            amount: Decimal::ZERO,
            currency: currency.to_owned(),
            original_amount: None,
            flags: Vec::new(),
        }
    }

    fn flag(&mut self, flag: LineFlag) {
        if !self.flags.contains(&flag) {
            self.flags.push(flag);
        }
    }

    /// Sets `isrc`, normalised, flagging an invalid one.
    pub fn set_isrc(&mut self, raw: Option<&str>) {
        self.isrc = raw.and_then(normalize_isrc);
        if self.isrc.as_deref().is_some_and(|i| !isrc_is_valid(i)) {
            self.flag(LineFlag::IsrcInvalid);
        }
    }

    /// Sets `upc` (digits only, leading zeros kept), flagging a bad length or check digit.
    pub fn set_upc(&mut self, raw: Option<&str>) {
        self.upc = raw.and_then(normalize_upc);
        if let Some(upc) = &self.upc {
            match upc_check_digit_ok(upc) {
                None => self.flag(LineFlag::UpcInvalid),
                Some(false) => self.flag(LineFlag::UpcCheckDigit),
                Some(true) => {}
            }
        }
    }

    /// Sets `territory_raw` and `territory`, flagging one that does not normalise.
    pub fn set_territory(&mut self, raw: Option<&str>) {
        self.set_territory_by(raw, territory::normalize_territory);
    }

    /// [`StatementLine::set_territory`] with the normalisation given (a
    /// [`territory::TerritoryMemo`]'s, which answers the same).
    pub fn set_territory_by(
        &mut self,
        raw: Option<&str>,
        normalize: impl FnOnce(&str) -> Option<&'static str>,
    ) {
        let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
            return;
        };
        self.territory_raw = Some(raw.to_owned());
        self.territory = normalize(raw).map(str::to_owned);
        if self.territory.is_none() {
            self.flag(LineFlag::TerritoryUnknown);
        }
    }

    /// Sets `usage_type` from a store's wording.
    pub fn set_usage(&mut self, raw: Option<&str>) {
        self.usage_type = raw.and_then(normalize_usage);
    }

    /// Sets `currency` (upper-cased), flagging one that is not three letters.
    pub fn set_currency(&mut self, raw: &str) {
        let code = raw.trim().to_ascii_uppercase();
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            self.flag(LineFlag::CurrencyUnknown);
        }
        self.currency = code;
    }
}

/// Maps a store's usage wording to `stream`, `download`, `physical`, `ugc`, or keeps it
/// lower-cased.
#[must_use]
pub fn normalize_usage(raw: &str) -> Option<String> {
    let lower = raw.trim().to_lowercase();
    if lower.is_empty() {
        return None;
    }
    let compact: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
    let mapped = if compact.contains("ugc") || compact.contains("usergenerated") {
        "ugc"
    } else if compact.contains("stream")
        || compact == "subscription"
        || compact == "adsupported"
        || compact == "radio"
        || compact == "interactive"
    {
        "stream"
    } else if compact.contains("download")
        || compact == "dl"
        || compact == "track"
        || compact == "album"
        || compact == "digital"
        || compact == "permanentdownload"
    {
        "download"
    } else if compact.contains("physical")
        || compact == "package"
        || compact == "cd"
        || compact == "vinyl"
        || compact == "cassette"
        || compact == "merch"
    {
        "physical"
    } else {
        return Some(lower);
    };
    Some(mapped.to_owned())
}

/// A row that could not be read; parsing went on after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineError {
    pub line_number: u64,
    pub reason: String,
    /// The row as read, truncated to [`RAW_MAX_CHARS`] characters.
    pub raw: String,
}

impl LineError {
    pub(crate) fn new(line_number: u64, reason: impl Into<String>, raw: &str) -> Self {
        Self {
            line_number,
            reason: reason.into(),
            raw: raw.chars().take(RAW_MAX_CHARS).collect(),
        }
    }
}

/// What a statement yields, row by row.
#[expect(
    clippy::large_enum_variant,
    reason = "lines are the common case; boxing each would allocate per line"
)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Item {
    Line(StatementLine),
    Error(LineError),
    /// Not earnings: payouts, withdrawals, totals rows. Counted, not stored as lines.
    Skipped {
        line_number: u64,
        reason: String,
    },
}

/// What the file declares about itself against what was read, after iteration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciliation {
    /// A total the file states (DSR summaries), in its currency.
    pub declared_total: Option<(Decimal, String)>,
    /// The record count the file states (DSR `FOOT` `NumberOfLinesInFile`: every record,
    /// `HEAD`, `FOOT` and comments included, not statement lines). The parser compares it
    /// with the records it read, and the block counts with the blocks, and warns on a
    /// difference.
    pub declared_line_count: Option<u64>,
    /// Disagreements, one sentence each. Never fatal.
    pub warnings: Vec<String>,
}

/// The largest amount a line may carry, in nano-units: what a signed 64-bit integer holds
/// (±9,223,372,036.854775807 in the currency). Money is stored so; a line beyond it is a line
/// error, never a failed statement.
pub const MAX_LINE_AMOUNT_NANOS: i64 = i64::MAX;

/// Why a line's amounts cannot be stored, if they cannot: an amount (or the amount before an
/// exchange rate) beyond [`MAX_LINE_AMOUNT_NANOS`]. The one check every parser applies.
#[must_use]
pub fn amount_out_of_range(line: &StatementLine) -> Option<String> {
    let fits = |d: &Decimal| crate::money::nanos_from_decimal(*d).is_ok();
    if !fits(&line.amount) {
        return Some(format!(
            "amount {} {} is out of range: a line may carry at most ±9223372036.854775807",
            line.amount, line.currency
        ));
    }
    if let Some((original, currency)) = &line.original_amount
        && !fits(original)
    {
        return Some(format!(
            "amount before exchange {original} {currency} is out of range: a line may carry at most ±9223372036.854775807"
        ));
    }
    None
}

/// What one file may make the parser hold, so that a hostile or broken file fails at once,
/// with its reason, in bounded memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Longest line (a quoted record spanning lines counts whole), without its terminator.
    pub max_line_bytes: usize,
    /// Longest cell.
    pub max_cell_bytes: usize,
    /// Most bytes one file (or zip entry) may decompress to.
    pub max_decompressed_bytes: u64,
}

impl Limits {
    /// 1 MiB lines: the longest real statement row is a few kilobytes.
    pub const DEFAULT_MAX_LINE_BYTES: usize = 1024 * 1024;
    /// 64 KiB cells.
    pub const DEFAULT_MAX_CELL_BYTES: usize = 64 * 1024;
    /// 4 GiB decompressed (the worker sets a multiple of the upload limit).
    pub const DEFAULT_MAX_DECOMPRESSED_BYTES: u64 = 4 * 1024 * 1024 * 1024;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_line_bytes: Self::DEFAULT_MAX_LINE_BYTES,
            max_cell_bytes: Self::DEFAULT_MAX_CELL_BYTES,
            max_decompressed_bytes: Self::DEFAULT_MAX_DECOMPRESSED_BYTES,
        }
    }
}

/// A file that cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("the file is empty")]
    Empty,
    #[error("the file looks binary, not a text statement")]
    Binary,
    #[error(
        "unknown statement layout: no known header row found in the first {SNIFF_LEN} bytes; \
         save an import template for this layout (createImportTemplate) and parse the statement \
         again (reparseStatement)"
    )]
    UnknownFormat,
    #[error(
        "line {line_number} is longer than {limit_bytes} bytes: not a statement (a file without line breaks?)"
    )]
    LineTooLong {
        line_number: u64,
        limit_bytes: usize,
    },
    #[error("line {line_number} has a cell longer than {limit_bytes} bytes")]
    CellTooLong {
        line_number: u64,
        limit_bytes: usize,
    },
    #[error("the file decompresses to more than {limit_bytes} bytes (a compression bomb?)")]
    DecompressedTooLarge { limit_bytes: u64 },
    #[error("{format} statement is missing the required column `{column}`")]
    MissingColumn { format: Format, column: String },
    #[error("the template needs a column mapping for `{field}`")]
    TemplateIncomplete { field: &'static str },
    #[error("unreadable container: {0}")]
    Container(String),
    #[error("read error: {0}")]
    Io(std::io::Error),
}

impl From<records::LimitExceeded> for ParseError {
    fn from(limit: records::LimitExceeded) -> Self {
        match limit {
            records::LimitExceeded::Line {
                line_number,
                limit_bytes,
            } => Self::LineTooLong {
                line_number,
                limit_bytes,
            },
            records::LimitExceeded::Cell {
                line_number,
                limit_bytes,
            } => Self::CellTooLong {
                line_number,
                limit_bytes,
            },
            records::LimitExceeded::Decompressed { limit_bytes } => {
                Self::DecompressedTooLarge { limit_bytes }
            }
        }
    }
}

impl From<std::io::Error> for ParseError {
    /// A limit met while reading is reported as itself, not as an I/O failure.
    fn from(error: std::io::Error) -> Self {
        match records::LimitExceeded::find(&error) {
            Some(limit) => limit.into(),
            None => Self::Io(error),
        }
    }
}

/// Options for [`StatementReader::open`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseOptions {
    /// A label's column mapping: when set, it is used instead of format detection.
    pub template: Option<ColumnMapping>,
    /// Currency for formats whose files do not say it (YouTube, templates). USD otherwise.
    pub default_currency: Option<String>,
    /// Line, cell and decompressed-size limits.
    #[serde(default)]
    pub limits: Limits,
}

/// How dates are written in a template's columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateOrder {
    /// `MM/DD/YYYY` for slashed dates (ISO and month forms are read either way).
    #[default]
    MonthFirst,
    /// `DD/MM/YYYY` for slashed dates.
    DayFirst,
}

/// A label's own layout: which header holds which field. Header names are matched
/// case- and whitespace-insensitively. Saved by labels as import templates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ColumnMapping {
    /// The saved template's id, reported as [`Format::Template`].
    pub template_id: i64,
    pub isrc: Option<String>,
    pub upc: Option<String>,
    pub title: Option<String>,
    pub artist: Option<String>,
    pub release_title: Option<String>,
    pub store: Option<String>,
    pub territory: Option<String>,
    pub sale_period: Option<String>,
    pub quantity: Option<String>,
    /// Required.
    pub amount: Option<String>,
    /// Per-row currency column; else `ParseOptions::default_currency`, else USD.
    pub currency: Option<String>,
    pub usage_type: Option<String>,
    /// `1.234,56`: comma for decimals, dot for thousands.
    pub decimal_comma: bool,
    pub date_order: DateOrder,
}
