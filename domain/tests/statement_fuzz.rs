//! Fuzzing of every statement parser and of the container reader (gzip, zip, encoding
//! detection), driven by proptest.
//!
//! Each target checks, for every generated file:
//! - no panic, whatever the bytes;
//! - bounded memory: the process's peak resident memory (`VmHWM`, reset before each case
//!   through `/proc/self/clear_refs`) grows by less than [`MEMORY_BOUND_KIB`] over what it was
//!   before the parse, with small limits (16 KiB lines, 4 KiB cells, 2 MiB decompressed);
//! - accounting, for the generated (well-formed but hostile) files: every data row is exactly
//!   one item, a parsed line, a line error or a skipped row, under its own line number.
//!
//! Short mode runs with `cargo test`: 64 cases per generator, two generators per parser
//! (generated rows, mutated fixture), two for the container reader and encoding sniffing; set
//! `PROPTEST_CASES` or `IMPRINT_FUZZ_CASES` for more. The long mode:
//! `IMPRINT_FUZZ_CASES=100000 cargo test -p domain --release --test statement_fuzz -- --nocapture`
//! (each target prints its case count and time).
//! The targets run one at a time (a process-wide lock), so one case's memory is its own.

use std::io::{Cursor, Read, Write};
use std::path::Path;
use std::sync::Mutex;

use domain::statement::{
    ColumnMapping, Format, Item, Limits, ParseError, ParseOptions, StatementReader, TextEncoding,
    detect, detect_with, open_container_with,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// How much a parse may add to the process's peak resident memory, in KiB.
const MEMORY_BOUND_KIB: u64 = 32 * 1024;

static SERIAL: Mutex<()> = Mutex::new(());

const LIMITS: Limits = Limits {
    max_line_bytes: 16 * 1024,
    max_cell_bytes: 4 * 1024,
    max_decompressed_bytes: 2 * 1024 * 1024,
};

/// Cases per generator: 64 by default (each parser has two generators, and the container
/// target two more: 128 a parser), `PROPTEST_CASES` or `IMPRINT_FUZZ_CASES` to say otherwise.
fn cases() -> u32 {
    ["IMPRINT_FUZZ_CASES", "PROPTEST_CASES"]
        .iter()
        .find_map(|name| std::env::var(name).ok()?.parse().ok())
        .unwrap_or(64)
}

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/statements")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

const FIXTURES: [&str; 15] = [
    "apple_itunes.txt",
    "apple_music.txt",
    "bandcamp_utf16le.csv",
    "believe.csv",
    "cdbaby.txt",
    "distrokid.tsv",
    "distrokid_v2.tsv",
    "dsr_basic_audio.tsv",
    "dsr_ugc.tsv",
    "orchard_eu.csv",
    "spotify.tsv",
    "symphonic.csv",
    "template.csv",
    "tunecore.csv",
    "youtube.csv",
];

fn template() -> ColumnMapping {
    ColumnMapping {
        template_id: 42,
        title: Some("song".to_owned()),
        artist: Some("PERFORMER".to_owned()),
        store: Some("Shop".to_owned()),
        territory: Some("Land".to_owned()),
        sale_period: Some("Month".to_owned()),
        quantity: Some("Plays".to_owned()),
        amount: Some("Payout".to_owned()),
        currency: Some("Cur".to_owned()),
        decimal_comma: true,
        ..ColumnMapping::default()
    }
}

fn options(name: &str) -> ParseOptions {
    ParseOptions {
        template: (name == "template.csv").then(template),
        limits: LIMITS,
        ..ParseOptions::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------------------------

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Runs `parse` and fails when the peak resident memory grew by more than the bound during it
/// (where `/proc` lets the peak be reset and read; elsewhere only the rest is checked).
fn within_memory<T>(parse: impl FnOnce() -> T) -> Result<T, TestCaseError> {
    let measurable = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = status_kib("VmRSS:");
    let out = parse();
    if measurable
        && let (Some(before), Some(peak)) = (before, status_kib("VmHWM:"))
        && peak.saturating_sub(before) > MEMORY_BOUND_KIB
    {
        return Err(TestCaseError::fail(format!(
            "the parse took {} KiB more memory (bound {MEMORY_BOUND_KIB} KiB)",
            peak - before
        )));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Reading a file as the worker does
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Wrap {
    Plain,
    Gzip,
    Zip,
}

fn wrap(bytes: Vec<u8>, how: Wrap) -> Vec<u8> {
    match how {
        Wrap::Plain => bytes,
        Wrap::Gzip => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&bytes).expect("gzip");
            gz.finish().expect("gzip")
        }
        Wrap::Zip => {
            let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            zip.start_file("statement.csv", options).expect("zip");
            zip.write_all(&bytes).expect("zip");
            zip.finish().expect("zip").into_inner()
        }
    }
}

/// What one read gave: the items' line numbers by kind, or the error that stopped it.
#[derive(Debug, Default)]
struct Outcome {
    opened: Option<Format>,
    /// Line number of every item, in order.
    items: Vec<u64>,
    finished: Option<Result<(), String>>,
}

/// Container, detection, streaming, finish: every entry of the container.
fn read(bytes: Vec<u8>, options: &ParseOptions) -> Outcome {
    let mut outcome = Outcome::default();
    let Ok(mut container) =
        open_container_with(Cursor::new(bytes), options.limits.max_decompressed_bytes)
    else {
        return outcome;
    };
    for index in 0..container.len() {
        let Ok(entry) = container.entry(index) else {
            continue;
        };
        let Ok(mut reader) = StatementReader::open(entry.reader, options.clone()) else {
            continue;
        };
        outcome.opened = Some(reader.format());
        for item in reader.by_ref() {
            outcome.items.push(match item {
                Item::Line(l) => l.line_number,
                Item::Error(e) => e.line_number,
                Item::Skipped { line_number, .. } => line_number,
            });
        }
        outcome.finished = Some(match reader.finish() {
            Ok(_) => Ok(()),
            Err(
                e @ (ParseError::LineTooLong { .. }
                | ParseError::CellTooLong { .. }
                | ParseError::DecompressedTooLarge { .. }),
            ) => Err(e.to_string()),
            Err(other) => panic!("finish fails only on a limit: {other}"),
        });
    }
    outcome
}

/// What a generated file must give: every line number in `each_once` exactly once, and
/// otherwise only items under a line number in `also` (DSR summaries may be line errors).
#[derive(Debug, Clone)]
struct Expected {
    each_once: Vec<u64>,
    also: Vec<u64>,
}

fn run(name: &str, strategy: impl Strategy<Value = (Vec<u8>, Option<Expected>)>) {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let cases = cases();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let options = options(name);
    let parse_time = std::cell::Cell::new(std::time::Duration::ZERO);
    let started = std::time::Instant::now();
    let result = runner.run(&strategy, |(bytes, expected)| {
        let t = std::time::Instant::now();
        let outcome = within_memory(|| read(bytes, &options))?;
        parse_time.set(parse_time.get() + t.elapsed());
        if let Some(expected) = expected {
            // Every data row is one item under its own line number, nothing else is.
            prop_assert!(outcome.opened.is_some(), "the file did not open");
            prop_assert_eq!(outcome.finished.clone(), Some(Ok(())));
            let mut items = outcome.items.clone();
            items.retain(|n| !expected.also.contains(n));
            items.sort_unstable();
            prop_assert_eq!(items, expected.each_once);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    eprintln!(
        "{name}: {cases} cases in {:?} ({:?} parsing)",
        started.elapsed(),
        parse_time.get()
    );
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

/// Cells a hostile or careless statement holds: numbers in every notation (and out of range),
/// dates right and wrong, identifiers, keywords the parsers act on, delimiters and quotes, any
/// Unicode.
fn cell() -> BoxedStrategy<String> {
    prop_oneof![
        Just(String::new()),
        "-?[0-9]{0,25}(\\.[0-9]{0,35})?",
        "\\(?[-+$€]?[0-9]{1,3}([,.][0-9]{3}){0,4}([.,][0-9]{0,12})?%?\\)?-?",
        "[0-9]{1,4}[eE][-+]?[0-9]{1,4}",
        "9{10,40}",
        "(19|20|99|00)[0-9]{2}-[0-9]{1,2}(-[0-9]{1,2})?(T[0-9:]{8}Z)?",
        "[0-9]{1,2}/[0-9]{1,2}/[0-9]{2,4}( [0-9]{1,2}:[0-9]{2}(am|pm| AM)?)?",
        "(JAN|Feb|june|Sept|2015-Q|2017M)[- ]?[0-9]{1,4}",
        "[a-zA-Z]{2}-?[A-Z0-9]{3}-?[0-9]{2}-?[0-9]{5}",
        "[0-9]{6,14}",
        "(total|Total amount|SUBTOTAL|sum|payout|refund|reversal|S|R|void|Void|USD|EUR|eur|XK|Worldwide|OU)",
        "\\PC{0,24}",
        "[ \t;,\"'|#]{0,6}",
    ]
    .boxed()
}

/// A cell as a delimited file writes it: quoted when it holds the delimiter or a quote.
fn quoted(cell: &str, delimiter: char) -> String {
    if cell.contains(delimiter) || cell.contains('"') {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}

/// The fixture's text up to and including its header row, its delimiter, and how many
/// columns the header has.
fn tabular_prefix(name: &str) -> (String, char, usize) {
    let bytes = fixture(name);
    let detected = if name == "template.csv" {
        detect_with(&bytes, &options(name)).expect("fixture detects")
    } else {
        detect(&bytes).expect("fixture detects")
    };
    let text = if detected.encoding == TextEncoding::Utf16Le {
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|p| u16::from_le_bytes([p[0], p[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let header_line = usize::try_from(detected.header_line).expect("line");
    let prefix: Vec<&str> = text
        .split('\n')
        .take(header_line)
        .map(|l| l.trim_end_matches('\r'))
        .collect();
    (
        prefix.join("\r\n") + "\r\n",
        char::from(detected.delimiter),
        detected.header.len(),
    )
}

#[derive(Debug, Clone, Copy)]
enum Encoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Latin1,
}

fn encode(text: &str, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Utf8 => text.as_bytes().to_vec(),
        Encoding::Utf8Bom => [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(),
        Encoding::Utf16Le => {
            let mut out = vec![0xFF, 0xFE];
            for unit in text.encode_utf16() {
                out.extend_from_slice(&unit.to_le_bytes());
            }
            out
        }
        // Latin-1 when every character has a byte; else the text stays UTF-8.
        Encoding::Latin1 => text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).ok())
            .collect::<Option<Vec<u8>>>()
            .unwrap_or_else(|| text.as_bytes().to_vec()),
    }
}

fn encoding() -> impl Strategy<Value = Encoding> {
    prop_oneof![
        4 => Just(Encoding::Utf8),
        1 => Just(Encoding::Utf8Bom),
        1 => Just(Encoding::Utf16Le),
        1 => Just(Encoding::Latin1),
    ]
}

fn wrapping() -> impl Strategy<Value = Wrap> {
    prop_oneof![4 => Just(Wrap::Plain), 1 => Just(Wrap::Gzip), 1 => Just(Wrap::Zip)]
}

/// A delimited file of the fixture's layout with generated rows, and the line numbers of its
/// data rows (blank ones excluded: they are no row at all).
fn tabular_file(name: &'static str) -> impl Strategy<Value = (Vec<u8>, Option<Expected>)> {
    let (prefix, delimiter, columns) = tabular_prefix(name);
    let row = prop::collection::vec(cell(), 0..=columns + 2);
    (
        prop::collection::vec((row, prop::bool::ANY), 0..24),
        encoding(),
        wrapping(),
    )
        .prop_map(move |(rows, encoding, how)| {
            let mut text = prefix.clone();
            let mut line = u64::try_from(prefix.matches('\n').count()).expect("lines");
            let mut expected = Vec::new();
            for (cells, crlf) in rows {
                // One physical line per row: no line breaks inside cells.
                let cells: Vec<String> =
                    cells.iter().map(|c| c.replace(['\r', '\n'], " ")).collect();
                line += 1;
                if !cells.iter().all(|c| c.trim().is_empty()) {
                    expected.push(line);
                }
                let written: Vec<String> = cells.iter().map(|c| quoted(c, delimiter)).collect();
                text.push_str(&written.join(&delimiter.to_string()));
                text.push_str(if crlf { "\r\n" } else { "\n" });
            }
            let expected = Expected {
                each_once: expected,
                also: Vec::new(),
            };
            (wrap(encode(&text, encoding), how), Some(expected))
        })
}

/// A DDEX DSR flat file: summaries, blocks of releases, resources and usages, a FOOT, with
/// generated values; the line numbers of its usage records (each is one line or one error),
/// for Basic Audio.
fn dsr_file(ugc: bool) -> impl Strategy<Value = (Vec<u8>, Option<Expected>)> {
    let text = String::from_utf8(fixture(if ugc {
        "dsr_ugc.tsv"
    } else {
        "dsr_basic_audio.tsv"
    }))
    .expect("utf-8");
    let prefix: String = text
        .lines()
        .take_while(|l| l.starts_with("HEAD") || l.starts_with('#'))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let value = || cell().prop_map(|c| c.replace(['\t', '\r', '\n'], " "));
    let id = || "S?[0-9]{0,1}";
    let record = (0..8_u8, id(), id(), value(), value(), value()).prop_map(
        move |(kind, a, b, v1, v2, v3)| match (kind, ugc) {
            (0, false) => format!(
                "SY01.02\t{a}\tStreams\tDPID\tSub\t\t{v1}\tPremium\t{v2}\t100\tUSD\t{v3}\t0\tNOK\t{v1}"
            ),
            (0, true) => format!(
                "SY02.01\t{a}\t\t\tAd\tStream\t{v1}\tAd\t{v2}\t\tUSD\t{v3}\t{b}\t\t{v2}\t0\t{v1}\tMech"
            ),
            (1, false) => format!("RE01.02\t{b}\tR\tDR\t\t\t{v1}\tArtist\t\t{v2}"),
            (2, false) => format!("AS02.03\t{b}\tRES{a}\tDSP\t{v1}\t{v2}\t\t{v3}\tPT3M\tSound"),
            (1 | 2, true) => format!("AS01\t{b}\tV{a}\tV{a}\t{v1}\t{v2}\t\t{v3}\tPT0S\tSound"),
            (3 | 4, false) => format!(
                "SU02.02\t{b}\t{a}\tT\t\tRES{a}\tTRUE\t{v1}\t\t\tOnDemandStream"
            ),
            (3, true) => format!("SU03.01\t{b}\tU{a}\t{a}\tvid\t{v1}\t0.0\t{v2}\t{v3}"),
            (4, true) => format!("LI01.01\t{b}\t{a}\t{v1}\t\t\t1.0\tMech\t0.0\t{v2}"),
            (5, _) => format!("FOOT\t{v1}\t{v2}\t{v3}\t{v1}\t{v2}"),
            (6, _) => "#comment\tline".to_owned(),
            _ => String::new(),
        },
    );
    let head_lines = u64::try_from(prefix.matches('\n').count()).expect("lines");
    (prop::collection::vec(record, 0..40), wrapping()).prop_map(move |(records, how)| {
        let mut text = prefix.clone();
        let mut usages = Vec::new();
        let mut summaries = Vec::new();
        for (i, record) in records.iter().enumerate() {
            let line = head_lines + 1 + u64::try_from(i).expect("line");
            if record.starts_with("SU") {
                usages.push(line);
            } else if record.starts_with("SY") {
                summaries.push(line);
            }
            text.push_str(record);
            text.push_str("\r\n");
        }
        // UGC lines come out per block, not per usage record: checked for no panic and memory.
        let expected = Expected {
            each_once: usages,
            also: summaries,
        };
        (wrap(text.into_bytes(), how), (!ugc).then_some(expected))
    })
}

/// A fixture (or its gzip or zip) with bytes flipped, inserted, removed or cut: anything may
/// happen but a panic or unbounded memory.
fn mutated(name: &'static str) -> impl Strategy<Value = (Vec<u8>, Option<Expected>)> {
    let original = fixture(name);
    (
        wrapping(),
        prop::bool::ANY,
        prop::collection::vec(
            (
                0..4_u8,
                any::<prop::sample::Index>(),
                prop::collection::vec(any::<u8>(), 1..8),
            ),
            1..8,
        ),
    )
        .prop_map(move |(how, after_wrapping, edits)| {
            let mut bytes = if after_wrapping {
                wrap(original.clone(), how)
            } else {
                original.clone()
            };
            for (op, at, data) in edits {
                if bytes.is_empty() {
                    bytes.extend_from_slice(&data);
                    continue;
                }
                let at = at.index(bytes.len());
                match op {
                    0 => bytes[at] ^= data[0] | 1,
                    1 => {
                        bytes.splice(at..at, data);
                    }
                    2 => {
                        let end = (at + usize::from(data[0] % 32)).min(bytes.len());
                        bytes.drain(at..end);
                    }
                    _ => bytes.truncate(at),
                }
            }
            if !after_wrapping {
                bytes = wrap(bytes, how);
            }
            (bytes, None)
        })
}

/// Any bytes, sometimes behind a real header.
fn arbitrary_bytes() -> impl Strategy<Value = (Vec<u8>, Option<Expected>)> {
    (
        prop::option::of(prop::sample::select(FIXTURES.to_vec())),
        prop::collection::vec(any::<u8>(), 0..4096),
        wrapping(),
    )
        .prop_map(|(header, tail, how)| {
            let mut bytes = header
                .map(|name| {
                    let f = fixture(name);
                    let cut = f
                        .iter()
                        .position(|b| *b == b'\n')
                        .map_or(f.len(), |p| p + 1);
                    f[..cut].to_vec()
                })
                .unwrap_or_default();
            bytes.extend(tail);
            (wrap(bytes, how), None)
        })
}

// ---------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------

macro_rules! tabular_targets {
    ($($test:ident => $fixture:literal),+ $(,)?) => {
        $(
            #[test]
            fn $test() {
                run($fixture, tabular_file($fixture));
                run($fixture, mutated($fixture));
            }
        )+
    };
}

tabular_targets!(
    fuzz_apple_itunes => "apple_itunes.txt",
    fuzz_apple_music => "apple_music.txt",
    fuzz_bandcamp => "bandcamp_utf16le.csv",
    fuzz_believe => "believe.csv",
    fuzz_cd_baby => "cdbaby.txt",
    fuzz_distrokid => "distrokid.tsv",
    fuzz_distrokid_v2 => "distrokid_v2.tsv",
    fuzz_orchard => "orchard_eu.csv",
    fuzz_spotify => "spotify.tsv",
    fuzz_symphonic => "symphonic.csv",
    fuzz_template => "template.csv",
    fuzz_tunecore => "tunecore.csv",
    fuzz_youtube => "youtube.csv",
);

#[test]
fn fuzz_dsr_basic_audio() {
    run("dsr_basic_audio.tsv", dsr_file(false));
    run("dsr_basic_audio.tsv", mutated("dsr_basic_audio.tsv"));
}

#[test]
fn fuzz_dsr_ugc() {
    run("dsr_ugc.tsv", dsr_file(true));
    run("dsr_ugc.tsv", mutated("dsr_ugc.tsv"));
}

#[test]
fn fuzz_containers_and_encodings() {
    run("any bytes", arbitrary_bytes());
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    proptest!(Config { cases: cases(), failure_persistence: None, ..Config::default() }, |(bytes in prop::collection::vec(any::<u8>(), 0..2048))| {
        let _ = TextEncoding::sniff(&bytes);
        let _ = detect(&bytes);
    });
}

/// A stream far larger than memory, never held whole: 2 GiB without a line break (generated
/// as it is read) fails at the line limit, and the process's memory hardly moves.
#[test]
fn an_endless_line_is_read_in_bounded_memory() {
    struct Endless {
        header: Cursor<Vec<u8>>,
        left: u64,
    }
    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.header.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            let n = buf
                .len()
                .min(usize::try_from(self.left).unwrap_or(usize::MAX));
            buf[..n].fill(b'7');
            self.left -= n as u64;
            Ok(n)
        }
    }
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let header = fixture("distrokid.tsv")
        .split(|b| *b == b'\n')
        .next()
        .map(|h| [h, b"\n"].concat())
        .expect("header");
    let outcome = within_memory(|| {
        let stream = Endless {
            header: Cursor::new(header),
            left: 2 << 30,
        };
        let mut reader = StatementReader::open(stream, ParseOptions::default()).expect("open");
        let items = reader.by_ref().count();
        (items, reader.finish().err().map(|e| e.to_string()))
    })
    .expect("bounded memory");
    assert_eq!(
        outcome,
        (
            0,
            Some("line 2 is longer than 1048576 bytes: not a statement (a file without line breaks?)".to_owned())
        )
    );
}
