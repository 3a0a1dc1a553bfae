//! DDEX DSR flat files (Basic Audio and UGC profiles).
//!
//! Tab-separated, no quoting, `#` comment lines. The first cell is the record type with a version
//! suffix (`SY01.02`). A `#TYPE` comment line names the columns of that record type and, when
//! present, is used to find fields by name; otherwise the built-in layout for the type applies.
//! Extra or missing trailing cells are tolerated.
//!
//! # Money
//!
//! - Basic Audio: revenue is on the summary (`SY`) rows, which come before the blocks; each
//!   usage row (`SU01`/`SU02`) gets the summary's `NetRevenue` × its usages ÷ the summary's
//!   declared usages. The split is exact in nano-units, with bounded memory: across blocks the
//!   running total is rounded half-even (each block gets the difference, so the parts always sum
//!   to the rounded running share), and within a block, which is held in memory anyway, the
//!   block's part is split among its rows by the largest-remainder rule. When the usage rows add
//!   up to the declared usages, the lines sum to `NetRevenue` exactly.
//! - UGC: one line per resource block, whose amount is the sum of the block's `LI01`
//!   `AllocatedAmount` and whose quantity is the sum of its `SU03` usages.

use std::collections::{HashMap, VecDeque};
use std::io::{BufReader, Read};

use rust_decimal::Decimal;

use super::decode::{TextEncoding, TextStream, decode_cell};
use super::detect::header_key;
use super::numbers::parse_amount;
use super::records::{LimitExceeded, Records};
use super::{
    AMOUNT_SCALE, DateOrder, Format, Item, Limits, LineError, LineFlag, Period, Reconciliation,
    StatementLine, parse_period,
};

/// Built-in layouts (columns after the record type), by record type without version.
fn default_layout(kind: &str) -> &'static [&'static str] {
    match kind {
        "HEAD" => &[
            "MessageVersion",
            "Profile",
            "ProfileVersion",
            "MessageId",
            "MessageCreatedDateTime",
            "FileNumber",
            "NumberOfFiles",
            "UsageStartDate",
            "UsageEndDate",
            "SenderPartyId",
            "SenderName",
            "ServiceDescription",
            "RecipientPartyId",
            "RecipientName",
            "RepresentedRepertoire",
        ],
        "SY02" => &[
            "SummaryRecordId",
            "DistributionChannel",
            "DistributionChannelDPID",
            "CommercialModel",
            "UseType",
            "Territory",
            "ServiceDescription",
            "Usages",
            "Users",
            "Currency",
            "NetRevenue",
            "RightsController",
            "RightsControllerPartyId",
            "AllocatedUsages",
            "AllocatedRevenue",
            "AllocatedNetRevenue",
            "RightsType",
        ],
        k if k.starts_with("SY") => &[
            "SummaryRecordId",
            "DistributionChannel",
            "DistributionChannelDPID",
            "CommercialModel",
            "UseType",
            "Territory",
            "ServiceDescription",
            "Usages",
            "Subscribers",
            "CurrencyOfReporting",
            "NetRevenue",
            "IndirectNetRevenue",
            "CurrencyOfTransaction",
            "ExchangeRate",
        ],
        "RE01" => &[
            "BlockId",
            "ReleaseReference",
            "DspReleaseId",
            "ProprietaryReleaseId",
            "CatalogNumber",
            "ICPN",
            "DisplayArtistName",
            "DisplayArtistPartyId",
            "Title",
            "SubTitle",
            "ReleaseType",
            "LabelName",
            "PLine",
            "DataProviderName",
        ],
        k if k.starts_with("AS") => &[
            "BlockId",
            "ResourceReference",
            "DspResourceId",
            "ISRC",
            "Title",
            "SubTitle",
            "DisplayArtistName",
            "DisplayArtistPartyId",
            "Duration",
            "ResourceType",
        ],
        "SU03" => &[
            "BlockId",
            "SalesTransactionId",
            "SummaryRecordId",
            "DspReleaseId",
            "Usages",
            "NetRevenue",
            "ValidityPeriodStart",
            "ValidityPeriodEnd",
        ],
        k if k.starts_with("SU") => &[
            "BlockId",
            "SummaryRecordId",
            "SalesTransactionId",
            "TransactedRelease",
            "TransactedResource",
            "IsRoyaltyBearing",
            "NumberOfStreams",
            "PriceConsumerPaidExcSalesTax",
            "PromotionalActivity",
            "UseType",
        ],
        "LI01" => &[
            "BlockId",
            "SummaryRecordId",
            "RightsController",
            "RightsControllerProprietaryId",
            "RightsControllerWorkId",
            "RightShare%",
            "RightType",
            "AllocatedNetRevenue",
            "AllocatedAmount",
        ],
        "FOOT" => &[
            "NumberOfLinesInFile",
            "NumberOfLinesInReport",
            "NumberOfSummaryRecords",
            "NumberOfBlocksInFile",
            "NumberOfBlocksInReport",
        ],
        _ => &["BlockId"],
    }
}

/// Usage counts go by several names across record types and versions.
const USAGE_NAMES: &[&str] = &[
    "NumberOfStreams",
    "Usages",
    "TotalUsages",
    "NumberOfConsumerSalesGross",
    "NumberOfUnits",
    "NumberOfDownloads",
    "NumberOfSales",
];

/// A record's cells with the layout to read them by name.
struct Record<'a> {
    cells: &'a [String],
    layout: &'a [String],
}

impl Record<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        let key = header_key(name);
        let i = self.layout.iter().position(|n| *n == key)?;
        self.cells
            .get(i + 1)
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
    }

    fn first(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.get(n))
    }
}

#[derive(Debug, Clone)]
struct Summary {
    territory: Option<String>,
    store: Option<String>,
    currency: String,
    net_revenue_nanos: i128,
    declared_usages: Option<i128>,
    transaction_currency: Option<String>,
    exchange_rate: Option<Decimal>,
    /// Running sums for the proration across blocks.
    usages_seen: i128,
    allocated_nanos: i128,
    line: u64,
}

#[derive(Debug, Default)]
struct Resource {
    isrc: Option<String>,
    title: Option<String>,
    artist: Option<String>,
}

#[derive(Debug)]
struct Usage {
    line: u64,
    summary_id: String,
    resource: Option<String>,
    usages: i128,
    use_type: Option<String>,
    download: bool,
    validity: Option<Period>,
}

#[derive(Debug, Default)]
struct Block {
    id: Option<String>,
    first_line: u64,
    release_title: Option<String>,
    release_artist: Option<String>,
    icpn: Option<String>,
    /// By `ResourceReference` and by `DspResourceId`.
    resources: HashMap<String, usize>,
    resource_list: Vec<Resource>,
    usages: Vec<Usage>,
    /// UGC: `AllocatedAmount` sum (nanos).
    allocated_nanos: i128,
    allocated_seen: bool,
}

pub(crate) struct Dsr<R: Read> {
    records: Records<BufReader<TextStream<R>>>,
    encoding: TextEncoding,
    ugc: bool,
    layouts: HashMap<String, Vec<String>>,
    queue: VecDeque<Item>,
    finished: bool,
    head_period: Option<Period>,
    sender: Option<String>,
    /// Basic Audio: one summary per id. UGC: SY02 has one row per rights controller under one id.
    summaries: HashMap<String, Summary>,
    summary_order: Vec<String>,
    summary_rows: u64,
    /// UGC: (summary id, rights controller) → declared `AllocatedNetRevenue`, and LI01 sums.
    ugc_declared: HashMap<(String, String), Decimal>,
    ugc_allocated: HashMap<(String, String), Decimal>,
    block: Block,
    blocks_seen: u64,
    lines_in_file: u64,
    foot: Option<Vec<Option<u64>>>,
    /// `HEAD` `NumberOfFiles`: the report counts of `FOOT` cover this file alone only when 1.
    files_in_report: Option<u64>,
    warnings: Vec<String>,
    /// The limit that stopped the reading, if one did.
    fatal: Option<LimitExceeded>,
}

impl<R: Read> std::fmt::Debug for Dsr<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dsr")
            .field("ugc", &self.ugc)
            .field("blocks_seen", &self.blocks_seen)
            .finish_non_exhaustive()
    }
}

fn nanos(value: Decimal) -> i128 {
    let rounded = value.round_dp_with_strategy(
        AMOUNT_SCALE,
        rust_decimal::RoundingStrategy::MidpointNearestEven,
    );
    rounded.mantissa() * 10_i128.pow(AMOUNT_SCALE - rounded.scale())
}

fn from_nanos(n: i128) -> Decimal {
    Decimal::try_from_i128_with_scale(n, AMOUNT_SCALE).map_or(Decimal::ZERO, |d| d.normalize())
}

/// `numerator / denominator` rounded half-even (denominator > 0).
fn div_round_half_even(numerator: i128, denominator: i128) -> i128 {
    let q = numerator.div_euclid(denominator);
    let r = numerator.rem_euclid(denominator);
    match (2 * r).cmp(&denominator) {
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal if q % 2 != 0 => q + 1,
        _ => q,
    }
}

/// Splits `total` nano-units in proportion to `weights` (all ≥ 0, sum > 0): each part gets its
/// floor, and the nano-units left over go one each to the largest remainders (ties: earlier
/// first). The parts always sum to `total`.
/// `None` when a product is out of the `i128` range.
fn largest_remainder(total: i128, weights: &[i128]) -> Option<Vec<i128>> {
    let sum: i128 = weights.iter().try_fold(0_i128, |a, w| a.checked_add(*w))?;
    if sum <= 0 {
        return Some(vec![0; weights.len()]);
    }
    let mut parts: Vec<i128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let product = total.checked_mul(*w)?;
        parts.push(product.div_euclid(sum));
        remainders.push((product.rem_euclid(sum), i));
    }
    let leftover = total - parts.iter().sum::<i128>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders
        .iter()
        .take(usize::try_from(leftover).unwrap_or(0))
    {
        parts[*i] += 1;
    }
    Some(parts)
}

impl<R: Read> Dsr<R> {
    pub(crate) fn new(
        stream: TextStream<R>,
        encoding: TextEncoding,
        format: Format,
        limits: Limits,
    ) -> Self {
        // DSR has no quoting: a `"` is an ordinary character.
        let records = Records::new(BufReader::new(stream), b'\t', false, limits);
        Self {
            records,
            encoding,
            ugc: format == Format::DdexDsrUgc,
            layouts: HashMap::new(),
            queue: VecDeque::new(),
            finished: false,
            head_period: None,
            sender: None,
            summaries: HashMap::new(),
            summary_order: Vec::new(),
            summary_rows: 0,
            ugc_declared: HashMap::new(),
            ugc_allocated: HashMap::new(),
            block: Block::default(),
            blocks_seen: 0,
            lines_in_file: 0,
            foot: None,
            files_in_report: None,
            warnings: Vec::new(),
            fatal: None,
        }
    }

    fn layout_for(&self, type_token: &str) -> Vec<String> {
        let kind: String = type_token.chars().take(4).collect();
        if let Some(l) = self
            .layouts
            .get(type_token)
            .or_else(|| self.layouts.get(&kind))
        {
            return l.clone();
        }
        default_layout(&kind)
            .iter()
            .map(|n| header_key(n))
            .collect()
    }

    fn process(&mut self, cells: &[String], line: u64) {
        let type_token = cells[0].trim().to_owned();
        if let Some(described) = type_token.strip_prefix('#') {
            // `#SY01.02  SummaryRecordId  …`: the column names of that record type.
            let names: Vec<String> = cells[1..]
                .iter()
                .map(|c| header_key(c))
                .filter(|c| !c.is_empty())
                .collect();
            if !names.is_empty() {
                let kind: String = described.chars().take(4).collect();
                self.layouts.insert(described.to_owned(), names.clone());
                self.layouts.entry(kind).or_insert(names);
            }
            return;
        }
        let kind: String = type_token.chars().take(4).collect();
        let layout = self.layout_for(&type_token);
        let rec = Record {
            cells,
            layout: &layout,
        };
        let raw = cells.join("\t");
        match kind.as_str() {
            "HEAD" => {
                let start = rec
                    .get("UsageStartDate")
                    .and_then(|s| parse_period(s, DateOrder::MonthFirst));
                let end = rec
                    .get("UsageEndDate")
                    .and_then(|s| parse_period(s, DateOrder::MonthFirst));
                self.head_period = start.map(|s| Period {
                    start: s.start,
                    end: end.map_or(s.end, |e| e.end),
                });
                self.sender = rec.get("SenderName").map(str::to_owned);
                self.files_in_report = rec
                    .get("NumberOfFiles")
                    .and_then(|v| v.trim().parse::<u64>().ok());
            }
            "FOOT" => {
                self.finish_block();
                let values = default_layout("FOOT")
                    .iter()
                    .map(|n| rec.get(n).and_then(|v| v.trim().parse::<u64>().ok()))
                    .collect();
                self.foot = Some(values);
            }
            k if k.starts_with("SY") => self.summary(&rec, line, &raw),
            _ => self.block_record(&kind, &rec, line, &raw),
        }
    }

    fn summary(&mut self, rec: &Record<'_>, line: u64, raw: &str) {
        self.summary_rows += 1;
        let Some(id) = rec.get("SummaryRecordId").map(str::to_owned) else {
            self.queue.push_back(Item::Error(LineError::new(
                line,
                "summary record without SummaryRecordId",
                raw,
            )));
            return;
        };
        let revenue = match rec
            .get("NetRevenue")
            .map(|v| parse_amount(v, false))
            .transpose()
        {
            Ok(v) => v.unwrap_or_default(),
            Err(e) => {
                self.queue.push_back(Item::Error(LineError::new(
                    line,
                    format!("NetRevenue: {e}"),
                    raw,
                )));
                return;
            }
        };
        if i64::try_from(nanos(revenue)).is_err() {
            self.queue.push_back(Item::Error(LineError::new(
                line,
                format!("NetRevenue {revenue} is out of range: at most ±9223372036.854775807"),
                raw,
            )));
            return;
        }
        if self.ugc
            && let (Some(rc), Some(v)) =
                (rec.get("RightsController"), rec.get("AllocatedNetRevenue"))
            && let Ok(v) = parse_amount(v, false)
            && i64::try_from(nanos(v)).is_ok()
        {
            *self
                .ugc_declared
                .entry((id.clone(), rc.to_owned()))
                .or_default() += v;
        }
        let currency = rec
            .first(&["CurrencyOfReporting", "Currency"])
            .unwrap_or("USD")
            .to_ascii_uppercase();
        let declared_usages = rec
            .first(&["Usages", "TotalUsages"])
            .and_then(|u| u.trim().parse::<i64>().ok())
            .map(i128::from);
        let store = rec
            .get("DistributionChannel")
            .or(self.sender.as_deref())
            .map(str::to_owned);
        let summary = Summary {
            territory: rec.get("Territory").map(str::to_owned),
            store,
            currency,
            net_revenue_nanos: nanos(revenue),
            declared_usages,
            transaction_currency: rec
                .get("CurrencyOfTransaction")
                .map(str::to_ascii_uppercase),
            exchange_rate: rec
                .get("ExchangeRate")
                .and_then(|r| parse_amount(r, false).ok()),
            usages_seen: 0,
            allocated_nanos: 0,
            line,
        };
        if self.summaries.contains_key(&id) {
            if !self.ugc {
                self.warnings.push(format!(
                    "summary record {id} appears twice (line {line}); the first is used"
                ));
            }
            // UGC: one SY02 per rights controller; the resource lines take the first's territory.
            if let Some(existing) = self.summaries.get_mut(&id) {
                existing.net_revenue_nanos += summary.net_revenue_nanos;
            }
            return;
        }
        self.summary_order.push(id.clone());
        self.summaries.insert(id, summary);
    }

    fn block_record(&mut self, kind: &str, rec: &Record<'_>, line: u64, raw: &str) {
        let block_id = rec.get("BlockId").map(str::to_owned);
        if block_id != self.block.id || self.block.id.is_none() {
            self.finish_block();
            self.block.id = block_id;
            self.block.first_line = line;
            self.blocks_seen += 1;
        }
        match kind {
            "RE01" | "RE02" => {
                self.block.release_title = rec.get("Title").map(str::to_owned);
                self.block.release_artist = rec.get("DisplayArtistName").map(str::to_owned);
                self.block.icpn = rec.get("ICPN").map(str::to_owned);
            }
            k if k.starts_with("AS") => {
                let index = self.block.resource_list.len();
                self.block.resource_list.push(Resource {
                    isrc: rec.get("ISRC").map(str::to_owned),
                    title: rec.get("Title").map(str::to_owned),
                    artist: rec.get("DisplayArtistName").map(str::to_owned),
                });
                for key in [rec.get("ResourceReference"), rec.get("DspResourceId")]
                    .into_iter()
                    .flatten()
                {
                    self.block.resources.entry(key.to_owned()).or_insert(index);
                }
            }
            k if k.starts_with("SU") => self.usage(k, rec, line, raw),
            "LI01" => self.licensor(rec, line, raw),
            _ => {}
        }
    }

    fn usage(&mut self, kind: &str, rec: &Record<'_>, line: u64, raw: &str) {
        let Some(summary_id) = rec.get("SummaryRecordId").map(str::to_owned) else {
            self.queue.push_back(Item::Error(LineError::new(
                line,
                "usage record without SummaryRecordId",
                raw,
            )));
            return;
        };
        if !self.summaries.contains_key(&summary_id) {
            self.queue.push_back(Item::Error(LineError::new(
                line,
                format!("usage record references summary record {summary_id}, which the file does not have"),
                raw,
            )));
            return;
        }
        let usages = match rec
            .first(USAGE_NAMES)
            .map(|u| parse_amount(u, false))
            .transpose()
        {
            Ok(v) => v.map_or(0, |d| d.round().mantissa() / 10_i128.pow(d.round().scale())),
            Err(e) => {
                self.queue.push_back(Item::Error(LineError::new(
                    line,
                    format!("usages: {e}"),
                    raw,
                )));
                return;
            }
        };
        let usages = match i64::try_from(usages) {
            Ok(u) => i128::from(u),
            Err(_) => {
                let e = format!("{usages} is out of range");
                self.queue.push_back(Item::Error(LineError::new(
                    line,
                    format!("usages: {e}"),
                    raw,
                )));
                return;
            }
        };
        let validity = rec
            .get("ValidityPeriodStart")
            .and_then(|s| parse_period(s, DateOrder::MonthFirst))
            .map(|start| {
                let end = rec
                    .get("ValidityPeriodEnd")
                    .and_then(|s| parse_period(s, DateOrder::MonthFirst));
                Period {
                    start: start.start,
                    end: end.map_or(start.end, |e| e.end),
                }
            });
        self.block.usages.push(Usage {
            line,
            summary_id,
            resource: rec
                .first(&["TransactedResource", "DspResourceId", "ResourceReference"])
                .map(str::to_owned),
            usages,
            use_type: rec.get("UseType").map(str::to_owned),
            download: kind == "SU01",
            validity,
        });
    }

    fn licensor(&mut self, rec: &Record<'_>, line: u64, raw: &str) {
        if let Some(id) = rec.get("SummaryRecordId")
            && !self.summaries.contains_key(id)
        {
            self.queue.push_back(Item::Error(LineError::new(
                line,
                format!(
                    "licensor record references summary record {id}, which the file does not have"
                ),
                raw,
            )));
            return;
        }
        let amount = match rec
            .get("AllocatedAmount")
            .map(|v| parse_amount(v, false))
            .transpose()
        {
            Ok(v) if i64::try_from(nanos(v.unwrap_or_default())).is_ok() => v.unwrap_or_default(),
            Ok(v) => {
                self.queue.push_back(Item::Error(LineError::new(
                    line,
                    format!(
                        "AllocatedAmount {} is out of range: at most ±9223372036.854775807",
                        v.unwrap_or_default()
                    ),
                    raw,
                )));
                return;
            }
            Err(e) => {
                self.queue.push_back(Item::Error(LineError::new(
                    line,
                    format!("AllocatedAmount: {e}"),
                    raw,
                )));
                return;
            }
        };
        self.block.allocated_nanos += nanos(amount);
        self.block.allocated_seen = true;
        let key = (
            rec.get("SummaryRecordId").unwrap_or_default().to_owned(),
            rec.get("RightsController").unwrap_or_default().to_owned(),
        );
        *self.ugc_allocated.entry(key).or_default() += amount;
    }

    fn base_line(
        &self,
        line_number: u64,
        summary: Option<&Summary>,
        resource: Option<&Resource>,
    ) -> StatementLine {
        let currency = summary.map_or("USD", |s| s.currency.as_str());
        let mut line = StatementLine::new(line_number, currency);
        line.set_currency(currency);
        line.store = summary
            .and_then(|s| s.store.clone())
            .or_else(|| self.sender.clone());
        line.set_territory(summary.and_then(|s| s.territory.as_deref()));
        line.sale_period = self.head_period;
        line.release_title.clone_from(&self.block.release_title);
        line.set_upc(self.block.icpn.as_deref());
        if let Some(r) = resource {
            line.set_isrc(r.isrc.as_deref());
            line.title.clone_from(&r.title);
            line.artist_name.clone_from(&r.artist);
        }
        if line.artist_name.is_none() {
            line.artist_name.clone_from(&self.block.release_artist);
        }
        line
    }

    fn resource(&self, reference: Option<&str>) -> Option<&Resource> {
        match reference.and_then(|r| self.block.resources.get(r)) {
            Some(i) => self.block.resource_list.get(*i),
            // A block with one resource: the usage is that resource's.
            None if self.block.resource_list.len() == 1 => self.block.resource_list.first(),
            None => None,
        }
    }

    fn finish_block(&mut self) {
        if self.block.id.is_none() && self.block.usages.is_empty() {
            return;
        }
        if self.ugc {
            self.finish_ugc_block();
        } else {
            self.finish_audio_block();
        }
        self.block = Block::default();
    }

    fn finish_ugc_block(&mut self) {
        if self.block.usages.is_empty() && !self.block.allocated_seen {
            return;
        }
        let first_summary = self
            .block
            .usages
            .first()
            .and_then(|u| self.summaries.get(&u.summary_id));
        let resource = self.block.resource_list.first();
        let line_number = self
            .block
            .usages
            .first()
            .map_or(self.block.first_line, |u| u.line);
        let mut line = self.base_line(line_number, first_summary, resource);
        line.quantity = i64::try_from(self.block.usages.iter().map(|u| u.usages).sum::<i128>())
            .unwrap_or(i64::MAX);
        line.amount = from_nanos(self.block.allocated_nanos);
        line.usage_type = Some("ugc".to_owned());
        let start = self
            .block
            .usages
            .iter()
            .filter_map(|u| u.validity.map(|p| p.start))
            .min();
        let end = self
            .block
            .usages
            .iter()
            .filter_map(|u| u.validity.map(|p| p.end))
            .max();
        if let (Some(start), Some(end)) = (start, end) {
            line.sale_period = Some(Period { start, end });
        }
        if !self.block.allocated_seen {
            line.flag(LineFlag::AmountMissing);
        }
        self.queue.push_back(Item::Line(line));
    }

    fn finish_audio_block(&mut self) {
        let usages = std::mem::take(&mut self.block.usages);
        // Group by summary, keeping file order.
        let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, u) in usages.iter().enumerate() {
            match groups.iter_mut().find(|(id, _)| *id == u.summary_id) {
                Some((_, members)) => members.push(i),
                None => groups.push((u.summary_id.clone(), vec![i])),
            }
        }
        let mut amounts: Vec<Option<i128>> = vec![None; usages.len()];
        // Usages whose share cannot be computed in range (absurd usage counts): line errors.
        let mut unprorated: Vec<bool> = vec![false; usages.len()];
        for (summary_id, members) in &groups {
            let Some(summary) = self.summaries.get_mut(summary_id) else {
                continue;
            };
            let Some(declared) = summary.declared_usages.filter(|d| *d > 0) else {
                continue;
            };
            let group_usages: i128 = members.iter().map(|i| usages[*i].usages).sum();
            let weights: Vec<i128> = members.iter().map(|i| usages[*i].usages).collect();
            // Every factor is within i64, the products within i128, except for usage counts
            // far beyond what the summary declares: those lines are refused, not wrapped.
            let seen = summary.usages_seen.saturating_add(group_usages);
            let parts = summary
                .net_revenue_nanos
                .checked_mul(seen)
                .map(|product| div_round_half_even(product, declared))
                .and_then(|share| {
                    let block_part = share.checked_sub(summary.allocated_nanos)?;
                    let parts = largest_remainder(block_part, &weights)?;
                    Some((share, parts))
                });
            match parts {
                Some((share, parts)) => {
                    summary.usages_seen = seen;
                    summary.allocated_nanos = share;
                    for (i, part) in members.iter().zip(parts) {
                        amounts[*i] = Some(part);
                    }
                }
                None => {
                    for i in members {
                        unprorated[*i] = true;
                    }
                }
            }
        }
        for ((usage, amount), unprorated) in usages.iter().zip(amounts).zip(unprorated) {
            if unprorated || amount.is_some_and(|n| i64::try_from(n).is_err()) {
                self.queue.push_back(Item::Error(LineError::new(
                    usage.line,
                    format!(
                        "{} usages against summary record {}: its share of the revenue is out of range",
                        usage.usages, usage.summary_id
                    ),
                    "",
                )));
                continue;
            }
            let summary = self.summaries.get(&usage.summary_id);
            let resource = self.resource(usage.resource.as_deref());
            let mut line = self.base_line(usage.line, summary, resource);
            line.quantity = i64::try_from(usage.usages).unwrap_or(i64::MAX);
            line.usage_type = usage
                .use_type
                .as_deref()
                .and_then(super::normalize_usage)
                .or_else(|| Some(if usage.download { "download" } else { "stream" }.to_owned()));
            if let Some(period) = usage.validity {
                line.sale_period = Some(period);
            }
            match amount {
                Some(n) => {
                    line.amount = from_nanos(n);
                    line.flag(LineFlag::Prorated);
                    if let Some(s) = summary
                        && let (Some(cur), Some(rate)) = (&s.transaction_currency, s.exchange_rate)
                        && *cur != s.currency
                        && !rate.is_zero()
                    {
                        // An absurd rate (overflowing the division) gives no original amount.
                        if let Some(original) = line.amount.checked_div(rate) {
                            let original = original.round_dp_with_strategy(
                                AMOUNT_SCALE,
                                rust_decimal::RoundingStrategy::MidpointNearestEven,
                            );
                            line.original_amount = Some((original.normalize(), cur.clone()));
                        }
                    }
                }
                None => line.flag(LineFlag::AmountMissing),
            }
            self.queue.push_back(Item::Line(line));
        }
    }

    pub(crate) fn fatal(&self) -> Option<LimitExceeded> {
        self.fatal
    }

    pub(crate) fn reconciliation(&self) -> Reconciliation {
        let mut rec = Reconciliation {
            warnings: self.warnings.clone(),
            ..Reconciliation::default()
        };
        // Declared total: the summaries' revenue (Basic Audio) or the rights controllers'
        // allocated revenue (UGC), when the file has one currency.
        let mut currencies: Vec<&str> = self
            .summaries
            .values()
            .map(|s| s.currency.as_str())
            .collect();
        currencies.sort_unstable();
        currencies.dedup();
        if let [currency] = currencies.as_slice() {
            let total = if self.ugc {
                self.ugc_declared.values().copied().sum::<Decimal>()
            } else {
                from_nanos(self.summaries.values().map(|s| s.net_revenue_nanos).sum())
            };
            rec.declared_total = Some((total.normalize(), (*currency).to_owned()));
        } else if currencies.len() > 1 {
            rec.warnings.push(format!(
                "summaries are in several currencies ({}): no single declared total",
                currencies.join(", ")
            ));
        }
        if !self.ugc {
            for id in &self.summary_order {
                let Some(s) = self.summaries.get(id) else {
                    continue;
                };
                match s.declared_usages.filter(|d| *d > 0) {
                    None => rec.warnings.push(format!(
                        "summary record {id} (line {}) declares no usages: its usage lines carry no amount",
                        s.line
                    )),
                    Some(declared) if declared != s.usages_seen => rec.warnings.push(format!(
                        "summary record {id} declares {declared} usages but its usage records sum to {}; {} of {} {} allocated",
                        s.usages_seen,
                        from_nanos(s.allocated_nanos),
                        from_nanos(s.net_revenue_nanos),
                        s.currency
                    )),
                    Some(_) => {}
                }
            }
        } else {
            let mut keys: Vec<&(String, String)> = self
                .ugc_declared
                .keys()
                .chain(self.ugc_allocated.keys())
                .collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let declared = self.ugc_declared.get(key).copied().unwrap_or_default();
                let allocated = self.ugc_allocated.get(key).copied().unwrap_or_default();
                if declared != allocated {
                    rec.warnings.push(format!(
                        "rights controller {} in summary {}: AllocatedNetRevenue {} but LI01 AllocatedAmount sums to {}",
                        key.1,
                        key.0,
                        declared.normalize(),
                        allocated.normalize()
                    ));
                }
            }
        }
        match &self.foot {
            None => rec
                .warnings
                .push("no FOOT record: the file may be truncated".to_owned()),
            Some(values) => {
                rec.declared_line_count = values.first().copied().flatten();
                let checks = [
                    (
                        "lines in file",
                        values.first().copied().flatten(),
                        self.lines_in_file,
                    ),
                    (
                        "summary records",
                        values.get(2).copied().flatten(),
                        self.summary_rows,
                    ),
                    (
                        "blocks in file",
                        values.get(3).copied().flatten(),
                        self.blocks_seen,
                    ),
                ];
                // The report counts cover every file of a report: this file's own only when the
                // report is one file (HEAD `NumberOfFiles`, 1 when it does not say).
                let single_file = self.files_in_report.unwrap_or(1) == 1;
                // A report count equal to the file's is the same claim: warned about once.
                let value = |i: usize| values.get(i).copied().flatten();
                let report_checks = [
                    ("lines in report", value(1), value(0), self.lines_in_file),
                    ("blocks in report", value(4), value(3), self.blocks_seen),
                ]
                .into_iter()
                .filter(move |(_, declared, in_file, _)| single_file && declared != in_file)
                .map(|(what, declared, _, counted)| (what, declared, counted));
                let checks = checks.into_iter().chain(report_checks);
                for (what, declared, counted) in checks {
                    if let Some(declared) = declared
                        && declared != counted
                    {
                        rec.warnings.push(format!(
                            "FOOT declares {declared} {what}, the file has {counted}"
                        ));
                    }
                }
            }
        }
        rec
    }
}

impl<R: Read> Iterator for Dsr<R> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(item);
            }
            if self.finished {
                return None;
            }
            match self.records.next_record() {
                Ok(None) => {
                    self.finished = true;
                    self.finish_block();
                }
                Err(e) => {
                    self.finished = true;
                    if let Some(limit) = LimitExceeded::find(&e) {
                        // A limit fails the whole statement: see `StatementReader::finish`.
                        self.fatal = Some(limit);
                        self.queue.clear();
                        return None;
                    }
                    self.finish_block();
                    self.queue.push_back(Item::Error(LineError::new(
                        0,
                        format!("read error, file cut short: {e}"),
                        "",
                    )));
                }
                Ok(Some(record)) => {
                    let cells: Vec<String> = record
                        .cells
                        .iter()
                        .map(|c| decode_cell(c, self.encoding).0)
                        .collect();
                    if cells.iter().all(|c| c.trim().is_empty()) {
                        continue;
                    }
                    self.lines_in_file += 1;
                    self.process(&cells, record.line_number);
                }
            }
        }
    }
}
