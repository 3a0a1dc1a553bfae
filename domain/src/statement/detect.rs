//! Format detection from the first bytes of a file: encoding, delimiter, header row, format.
//!
//! The header row is found by its columns, not by its position, so preambles (Apple Music's
//! key/value lines, Spotify's two-line preamble) are skipped. Each built-in layout lists the
//! columns its files carry; the row and delimiter where a layout matches the largest share of
//! its columns wins. A layout that wins but lacks a column it cannot do without is an error
//! naming that column, rather than an unknown format.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::decode::{TextEncoding, decode_sample};
use super::records::split_record;
use super::{ColumnMapping, Format, ParseError, ParseOptions, SNIFF_LEN};

/// What [`detect`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detected {
    pub encoding: TextEncoding,
    /// `\t`, `,` or `;`.
    pub delimiter: u8,
    pub format: Format,
    /// 1-based physical line number of the header row in the decoded file (0: no header row,
    /// as in DDEX DSR).
    pub header_line: u64,
    /// The header row's cells, as written.
    pub header: Vec<String>,
    /// Key/value pairs read from a preamble above the header (Apple Music, Spotify), keys
    /// normalised like headers.
    pub preamble: Vec<(String, String)>,
}

/// A built-in tabular layout: the columns its files carry and those it cannot do without.
pub(crate) struct Spec {
    pub format: Format,
    pub columns: &'static [&'static str],
    pub required: &'static [&'static str],
}

pub(crate) static SPECS: &[Spec] = &[
    Spec {
        format: Format::DistroKid,
        columns: &[
            "Reporting Date",
            "Sale Month",
            "Store",
            "Artist",
            "Title",
            "ISRC",
            "UPC",
            "Quantity",
            "Team Percentage",
            "Song/Album",
            "Country of Sale",
            "Songwriter Royalties Withheld",
            "Earnings (USD)",
        ],
        required: &["Earnings (USD)"],
    },
    Spec {
        format: Format::DistroKidV2,
        columns: &[
            "Date Inserted",
            "Reporting Date",
            "Sale Month",
            "Store",
            "Artist",
            "Title",
            "ISRC",
            "UPC",
            "Quantity",
            "Team Percentage",
            "Source Type",
            "Country of Sale",
            "Songwriter Royalties Withheld (USD)",
            "Earnings (USD)",
            "Recoup (USD)",
        ],
        required: &["Earnings (USD)"],
    },
    Spec {
        format: Format::CdBaby,
        columns: &[
            "Report Date",
            "Sales Date",
            "Quantity",
            "Price",
            "Subtotal",
            "Isrc",
            "Barcode",
            "CDBabySku",
            "Album Name",
            "Artist Name",
            "Track Name",
            "Partner Name",
            "Transaction Type",
            "Delivery Country",
        ],
        required: &["Subtotal"],
    },
    Spec {
        format: Format::TuneCore,
        columns: &[
            "Sales Period",
            "Posted Date",
            "Store Name",
            "Country Of Sale",
            "Artist",
            "Release Type",
            "Release Title",
            "Song Title",
            "Label",
            "UPC",
            "Optional UPC",
            "TC Song ID",
            "Optional ISRC",
            "Sales Type",
            "# Units Sold",
            "Per Unit Price",
            "Net Sales",
            "Net Sales Currency",
            "Exchange Rate",
            "Total Earned",
            "Currency",
        ],
        required: &["Total Earned"],
    },
    Spec {
        format: Format::Symphonic,
        columns: &[
            "Reporting Period",
            "Label",
            "Release Name",
            "Release Version",
            "Release Artists",
            "UPC Code",
            "Catalogue",
            "Track Title",
            "Mix Version",
            "ISRC Code",
            "Track Artists",
            "Digital Service Provider",
            "Activity Period",
            "Territory",
            "Delivery",
            "Content Type",
            "Sale or Void",
            "Count",
            "Royalty ($US)",
        ],
        required: &["Royalty ($US)"],
    },
    Spec {
        format: Format::Orchard,
        columns: &[
            "Period",
            "Activity Period",
            "Retailer",
            "Territory",
            "Product UPC",
            "Manufacturer UPC",
            "Project Code",
            "Product Code",
            "Subaccount",
            "Imprint Label",
            "Artist Name",
            "Product Name",
            "Track Name",
            "Track Artist",
            "ISRC",
            "Volume",
            "Track",
            "Trans Type",
            "Trans Type Description",
            "Unit Price",
            "Discount",
            "Price",
            "Quantity",
            "Total",
            "Adjusted Total",
            "Split Rate",
            "Label Share Net Receipts",
            "Ringtone Publishing",
            "Cloud Publishing",
            "Publishing",
            "Mech. Administrative Fee",
            "Preferred Currency",
        ],
        required: &["Label Share Net Receipts"],
    },
    Spec {
        format: Format::Believe,
        columns: &[
            "Reporting month",
            "Sales Month",
            "Platform",
            "Country / Region",
            "Label Name",
            "Artist Name",
            "Release title",
            "Track title",
            "UPC",
            "ISRC",
            "Release Catalog nb",
            "Streaming Subscription Type",
            "Release type",
            "Sales Type",
            "Quantity",
            "Client Payment Currency",
            "Unit Price",
            "Mechanical Fee",
            "Gross Revenue",
            "Client share rate",
            "Net Revenue",
        ],
        required: &["Net Revenue"],
    },
    Spec {
        format: Format::AppleItunesFinancial,
        columns: &[
            "Start Date",
            "End Date",
            "UPC",
            "ISRC/ISBN",
            "Vendor Identifier",
            "Quantity",
            "Partner Share",
            "Extended Partner Share",
            "Partner Share Currency",
            "Sales or Return",
            "Apple Identifier",
            "Artist/Show/Developer/Author",
            "Title",
            "Label/Studio/Network/Developer/Publisher",
            "Grid",
            "Product Type Identifier",
            "ISAN/Other Identifier",
            "Country Of Sale",
            "Pre-order Flag",
            "Promo Code",
            "Customer Price",
            "Customer Currency",
        ],
        required: &["Extended Partner Share", "Partner Share Currency"],
    },
    Spec {
        format: Format::AppleMusicStreams,
        columns: &[
            "Storefront Name",
            "Apple Identifier",
            "Membership Type",
            "Quantity",
            "Net Royalty",
            "Net Royalty Total",
            "ISRC",
            "Item_Title",
            "Item_Artist",
            "Item Type",
            "Media Type",
            "Vendor Identifier",
            "Offline Indicator",
            "Label/Studio/Network",
            "Grid",
        ],
        required: &["Net Royalty Total"],
    },
    Spec {
        format: Format::Spotify,
        columns: &[
            "Country",
            "Label",
            "Product",
            "URI",
            "UPC",
            "EAN",
            "ISRC",
            "Track name",
            "Artist name",
            "Composer name",
            "Album name",
            "Quantity",
            "USD Payable",
        ],
        required: &["USD Payable"],
    },
    Spec {
        format: Format::Bandcamp,
        columns: &[
            "date",
            "paid to",
            "item type",
            "item name",
            "artist",
            "currency",
            "item price",
            "quantity",
            "net amount",
            "upc",
            "isrc",
            "buyer name",
            "buyer email",
            "country",
            "country code",
        ],
        required: &["item type", "net amount", "currency"],
    },
    Spec {
        format: Format::YouTubeAssets,
        columns: &[
            "Adjustment Type",
            "Day",
            "Country",
            "Asset ID",
            "Asset Title",
            "Asset Labels",
            "Asset Channel ID",
            "Asset Type",
            "Custom ID",
            "ISRC",
            "UPC",
            "GRid",
            "Artist",
            "Album",
            "Label",
            "Administer Publish Rights",
            "Owned Views",
            "Partner Revenue",
        ],
        required: &["Partner Revenue"],
    },
];

/// Header names compare case- and whitespace-insensitively.
#[must_use]
pub(crate) fn header_key(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{feff}' && *c != '\0')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Detects encoding, delimiter, header row and format from the first bytes of a file (up to
/// [`SNIFF_LEN`]).
///
/// # Errors
///
/// [`ParseError::Empty`], [`ParseError::Binary`], [`ParseError::UnknownFormat`], or
/// [`ParseError::MissingColumn`] when a layout is recognised but lacks a column it needs.
pub fn detect(header_sample: &[u8]) -> Result<Detected, ParseError> {
    detect_with(header_sample, &ParseOptions::default())
}

/// [`detect`], using `options.template` instead of the built-in layouts when set.
///
/// # Errors
///
/// As [`detect`]; with a template, [`ParseError::MissingColumn`] names the first mapped
/// column that no row carries.
pub fn detect_with(header_sample: &[u8], options: &ParseOptions) -> Result<Detected, ParseError> {
    let sample = &header_sample[..header_sample.len().min(SNIFF_LEN)];
    if sample.iter().all(|b| b.is_ascii_whitespace() || *b == 0) {
        return Err(ParseError::Empty);
    }
    if sample.starts_with(&[0x1f, 0x8b]) || sample.starts_with(b"PK\x03\x04") {
        return Err(ParseError::Container(
            "the file is compressed (.gz or .zip): open it with open_container first".to_owned(),
        ));
    }
    let encoding = TextEncoding::sniff(sample);
    let text = decode_sample(sample, encoding);
    if looks_binary(&text) {
        return Err(ParseError::Binary);
    }
    let whole_file = header_sample.len() < SNIFF_LEN;
    let mut lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    if !whole_file && lines.len() > 1 {
        lines.pop(); // may be cut in the middle
    }
    if let Some(format) = detect_dsr(&lines) {
        return Ok(Detected {
            encoding,
            delimiter: b'\t',
            format,
            header_line: 0,
            header: Vec::new(),
            preamble: Vec::new(),
        });
    }
    match &options.template {
        Some(mapping) => detect_template(&lines, encoding, mapping),
        None => detect_builtin(&lines, encoding),
    }
}

fn looks_binary(text: &str) -> bool {
    let total = text.chars().count().max(1);
    let control = text
        .chars()
        .filter(|c| {
            (c.is_control() && !matches!(c, '\t' | '\r' | '\n' | '\u{c}')) || *c == '\u{fffd}'
        })
        .count();
    control * 20 > total
}

fn split_line(line: &str, delimiter: u8) -> Vec<String> {
    split_record(line.as_bytes(), delimiter, true)
        .0
        .iter()
        .map(|c| String::from_utf8_lossy(c).trim().to_owned())
        .collect()
}

const DELIMITERS: [u8; 3] = [b'\t', b',', b';'];
/// Rows looked at for a header.
const HEADER_SCAN_ROWS: usize = 60;

struct Candidate {
    line_index: usize,
    delimiter: u8,
    cells: Vec<String>,
    spec: &'static Spec,
    matched: usize,
}

fn detect_builtin(lines: &[&str], encoding: TextEncoding) -> Result<Detected, ParseError> {
    let mut best: Option<(f64, Candidate)> = None;
    for (line_index, line) in lines.iter().enumerate().take(HEADER_SCAN_ROWS) {
        if line.trim().is_empty() {
            continue;
        }
        for delimiter in DELIMITERS {
            if !line.as_bytes().contains(&delimiter) {
                continue;
            }
            let cells = split_line(line, delimiter);
            let keys: Vec<String> = cells.iter().map(|c| header_key(c)).collect();
            for spec in SPECS {
                let matched = spec
                    .columns
                    .iter()
                    .filter(|c| keys.contains(&header_key(c)))
                    .count();
                if matched < 3 {
                    continue;
                }
                #[expect(clippy::cast_precision_loss, reason = "small column counts")]
                let ratio = matched as f64 / spec.columns.len() as f64;
                if ratio < 0.5 {
                    continue;
                }
                // Prefer the larger share; on a tie, the layout with more matched columns.
                let better = best
                    .as_ref()
                    .is_none_or(|(r, c)| ratio > *r || (ratio == *r && matched > c.matched));
                if better {
                    best = Some((
                        ratio,
                        Candidate {
                            line_index,
                            delimiter,
                            cells: cells.clone(),
                            spec,
                            matched,
                        },
                    ));
                }
            }
        }
    }
    let Some((_, candidate)) = best else {
        return Err(ParseError::UnknownFormat);
    };
    let keys: Vec<String> = candidate.cells.iter().map(|c| header_key(c)).collect();
    if let Some(missing) = candidate
        .spec
        .required
        .iter()
        .find(|r| !keys.contains(&header_key(r)))
    {
        return Err(ParseError::MissingColumn {
            format: candidate.spec.format,
            column: (*missing).to_owned(),
        });
    }
    Ok(Detected {
        encoding,
        delimiter: candidate.delimiter,
        format: candidate.spec.format,
        header_line: line_number(candidate.line_index),
        header: candidate.cells,
        preamble: preamble(&lines[..candidate.line_index], candidate.delimiter),
    })
}

fn line_number(index: usize) -> u64 {
    u64::try_from(index).map_or(u64::MAX, |i| i + 1)
}

fn detect_template(
    lines: &[&str],
    encoding: TextEncoding,
    mapping: &ColumnMapping,
) -> Result<Detected, ParseError> {
    let Some(amount) = &mapping.amount else {
        return Err(ParseError::TemplateIncomplete { field: "amount" });
    };
    let wanted: Vec<&String> = mapping_columns(mapping);
    let format = Format::Template(mapping.template_id);
    let mut best: Option<(usize, usize, u8, Vec<String>)> = None;
    for (line_index, line) in lines.iter().enumerate().take(HEADER_SCAN_ROWS) {
        for delimiter in DELIMITERS {
            let cells = split_line(line, delimiter);
            let keys: Vec<String> = cells.iter().map(|c| header_key(c)).collect();
            if !keys.contains(&header_key(amount)) {
                continue;
            }
            let matched = wanted
                .iter()
                .filter(|w| keys.contains(&header_key(w)))
                .count();
            if best.as_ref().is_none_or(|b| matched > b.0) {
                best = Some((matched, line_index, delimiter, cells));
            }
        }
    }
    let Some((_, line_index, delimiter, cells)) = best else {
        return Err(ParseError::MissingColumn {
            format,
            column: amount.clone(),
        });
    };
    let keys: Vec<String> = cells.iter().map(|c| header_key(c)).collect();
    if let Some(missing) = wanted.iter().find(|w| !keys.contains(&header_key(w))) {
        return Err(ParseError::MissingColumn {
            format,
            column: (*missing).clone(),
        });
    }
    Ok(Detected {
        encoding,
        delimiter,
        format,
        header_line: line_number(line_index),
        header: cells,
        preamble: preamble(&lines[..line_index], delimiter),
    })
}

pub(crate) fn mapping_columns(m: &ColumnMapping) -> Vec<&String> {
    [
        &m.isrc,
        &m.upc,
        &m.title,
        &m.artist,
        &m.release_title,
        &m.store,
        &m.territory,
        &m.sale_period,
        &m.quantity,
        &m.amount,
        &m.currency,
        &m.usage_type,
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Key/value lines (`Start Date<TAB>05/01/2025`) and a keys row followed by a values row
/// (Spotify).
fn preamble(lines: &[&str], delimiter: u8) -> Vec<(String, String)> {
    let rows: Vec<Vec<String>> = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| split_line(l, delimiter))
        .collect();
    let mut pairs = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let row = &rows[i];
        if row.len() > 2
            && rows
                .get(i + 1)
                .is_some_and(|next| next.len() >= row.len() - 1)
        {
            let values = &rows[i + 1];
            pairs.extend(
                row.iter()
                    .zip(values)
                    .map(|(k, v)| (header_key(k), v.clone())),
            );
            i += 2;
            continue;
        }
        if let [key, value, ..] = row.as_slice() {
            pairs.push((header_key(key), value.clone()));
        } else if let Some((key, value)) = row.first().and_then(|c| c.split_once(':')) {
            pairs.push((header_key(key), value.trim().to_owned()));
        }
        i += 1;
    }
    pairs
}

/// A DDEX DSR flat file: a `HEAD` record (or summary/block records) in the first lines.
fn detect_dsr(lines: &[&str]) -> Option<Format> {
    let mut seen_dsr = false;
    let mut ugc = false;
    for line in lines.iter().filter(|l| !l.trim().is_empty()).take(200) {
        let first = line.split('\t').next().unwrap_or_default().trim();
        if first.starts_with('#') {
            continue;
        }
        let kind: String = first.chars().take(4).collect();
        if kind == "HEAD" {
            let cells: Vec<&str> = line.split('\t').collect();
            let profile = cells
                .get(2)
                .copied()
                .unwrap_or_default()
                .to_ascii_lowercase();
            if profile.contains("ugc") {
                return Some(Format::DdexDsrUgc);
            }
            if profile.contains("audio") || cells.get(1).is_some_and(|v| v.starts_with("dsrf")) {
                seen_dsr = true;
                if profile.contains("audio") {
                    return Some(Format::DdexDsrBasicAudio);
                }
            } else {
                return None;
            }
        } else if is_dsr_record(&kind) && line.contains('\t') {
            seen_dsr = true;
            ugc |= kind == "SY02" || kind == "SU03" || kind == "LI01";
        } else {
            break;
        }
    }
    seen_dsr.then_some(if ugc {
        Format::DdexDsrUgc
    } else {
        Format::DdexDsrBasicAudio
    })
}

fn is_dsr_record(kind: &str) -> bool {
    let b = kind.as_bytes();
    b.len() == 4
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..].iter().all(u8::is_ascii_digit)
        && matches!(&kind[..2], "SY" | "RE" | "AS" | "SU" | "LI" | "MW" | "RU")
}

/// Header index by normalised name (first occurrence wins).
pub(crate) fn column_index(header: &[String]) -> HashMap<String, usize> {
    let mut map = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        map.entry(header_key(name)).or_insert(i);
    }
    map
}
