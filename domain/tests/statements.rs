//! Statement parsers against the project's own synthetic fixtures (tests/fixtures/statements),
//! and, when present, against the real sample files in `../shared/samples`.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::NaiveDate;
use domain::statement::{
    ColumnMapping, Fingerprinter, Format, Item, Limits, LineError, LineFlag, ParseError,
    ParseOptions, Period, Reconciliation, StatementLine, StatementReader, detect, fingerprint,
    open_container, open_container_with, parse_amount,
};
use rust_decimal::Decimal;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/statements")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

struct Parsed {
    format: Format,
    lines: Vec<StatementLine>,
    errors: Vec<LineError>,
    skipped: Vec<(u64, String)>,
    reconciliation: Reconciliation,
}

fn parse_with(bytes: Vec<u8>, options: ParseOptions) -> Parsed {
    let mut reader = StatementReader::open(Cursor::new(bytes), options).expect("open statement");
    let format = reader.format();
    let (mut lines, mut errors, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for item in reader.by_ref() {
        match item {
            Item::Line(l) => lines.push(l),
            Item::Error(e) => errors.push(e),
            Item::Skipped {
                line_number,
                reason,
            } => skipped.push((line_number, reason)),
        }
    }
    Parsed {
        format,
        lines,
        errors,
        skipped,
        reconciliation: reader.finish().expect("within the limits"),
    }
}

fn parse(bytes: Vec<u8>) -> Parsed {
    parse_with(bytes, ParseOptions::default())
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal literal")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn month(y: i32, m: u32) -> Option<Period> {
    let start = date(y, m, 1);
    let end = if m == 12 {
        date(y + 1, 1, 1)
    } else {
        date(y, m + 1, 1)
    }
    .pred_opt()
    .expect("day before");
    Some(Period { start, end })
}

fn total(lines: &[StatementLine]) -> Decimal {
    lines.iter().map(|l| l.amount).sum()
}

fn amounts(lines: &[StatementLine]) -> Vec<Decimal> {
    lines.iter().map(|l| l.amount).collect()
}

fn territories(lines: &[StatementLine]) -> Vec<Option<&str>> {
    lines.iter().map(|l| l.territory.as_deref()).collect()
}

#[test]
fn distrokid_classic() {
    let p = parse(fixture("distrokid.tsv"));
    assert_eq!(p.format, Format::DistroKid);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.lines.len(), 5);
    // 12 decimals rounded half-even to 9; `.5` without a leading zero; a missing cell = zero.
    assert_eq!(
        amounts(&p.lines),
        [
            dec("3.12345679"),
            dec("0.5"),
            dec("-0.69"),
            dec("0"),
            dec("0.02")
        ]
    );
    assert_eq!(total(&p.lines), dec("2.95345679"));
    assert_eq!(
        territories(&p.lines),
        [Some("US"), Some("GB"), Some("DE"), None, Some("FR")]
    );
    let first = &p.lines[0];
    assert_eq!(first.line_number, 2);
    assert_eq!(first.isrc.as_deref(), Some("QZABC2400001"));
    assert_eq!(first.upc.as_deref(), Some("036000291452"));
    assert_eq!(first.sale_period, month(2024, 1));
    assert_eq!(first.reporting_period, Some(Period::day(date(2024, 3, 5))));
    assert_eq!(first.quantity, 1200);
    assert_eq!(first.currency, "USD");
    assert!(first.flags.is_empty());
    // The blank line (4) still counts as a physical line.
    assert_eq!(p.lines[2].line_number, 5);
    assert!(p.lines[2].flags.contains(&LineFlag::UpcCheckDigit));
    assert_eq!(p.lines[3].territory_raw.as_deref(), Some("OU"));
    assert!(p.lines[3].flags.contains(&LineFlag::TerritoryUnknown));
    assert!(p.lines[3].flags.contains(&LineFlag::AmountMissing));
    assert_eq!(p.lines[4].isrc.as_deref(), Some("BADISRC"));
    assert!(p.lines[4].flags.contains(&LineFlag::IsrcInvalid));
}

#[test]
fn distrokid_v2() {
    let p = parse(fixture("distrokid_v2.tsv"));
    assert_eq!(p.format, Format::DistroKidV2);
    assert_eq!(amounts(&p.lines), [dec("12"), dec("0.7")]);
    assert_eq!(p.lines[0].usage_type.as_deref(), Some("stream"));
    assert_eq!(p.lines[1].usage_type.as_deref(), Some("download"));
    assert_eq!(territories(&p.lines), [Some("SE"), Some("US")]);
    assert_eq!(p.lines[0].sale_period, month(2024, 11));
}

#[test]
fn distrokid_latin1_decodes() {
    let mut bytes = b"Reporting Date\tSale Month\tStore\tArtist\tTitle\tISRC\tUPC\tQuantity\tTeam Percentage\tSong/Album\tCountry of Sale\tSongwriter Royalties Withheld\tEarnings (USD)\r\n".to_vec();
    bytes.extend_from_slice(b"2024-03-05\t2024-01\tDeezer\tZo\xe9 Caf\xe9\tD\xe9j\xe0 vu\tFRABC2400001\t036000291452\t1\t100\tSong\tFR\t0\t0.01\r\n");
    let p = parse(bytes);
    assert_eq!(p.format, Format::DistroKid);
    assert_eq!(p.lines.len(), 1);
    assert_eq!(p.lines[0].artist_name.as_deref(), Some("Zoé Café"));
    assert_eq!(p.lines[0].title.as_deref(), Some("Déjà vu"));
}

#[test]
fn cd_baby() {
    let p = parse(fixture("cdbaby.txt"));
    assert_eq!(p.format, Format::CdBaby);
    assert_eq!(amounts(&p.lines), [dec("0.012361235"), dec("0.7")]);
    assert_eq!(territories(&p.lines), [Some("FR"), Some("CA")]);
    let l = &p.lines[0];
    assert_eq!(l.isrc.as_deref(), Some("QZA992400001"));
    assert_eq!(l.upc.as_deref(), Some("0036000291452"));
    assert_eq!(l.sale_period, month(2024, 8));
    assert_eq!(l.reporting_period, Some(Period::day(date(2024, 10, 15))));
    assert_eq!(l.usage_type.as_deref(), Some("stream"));
    assert_eq!(l.store.as_deref(), Some("Deezer"));
    assert_eq!(l.release_title.as_deref(), Some("Paper Moons"));
}

#[test]
fn tunecore_with_exchange_rate() {
    let p = parse(fixture("tunecore.csv"));
    assert_eq!(p.format, Format::TuneCore);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(amounts(&p.lines), [dec("3.20"), dec("987.60"), dec("0.05")]);
    assert_eq!(total(&p.lines), dec("990.85"));
    assert!(p.lines.iter().all(|l| l.currency == "GBP"));
    assert_eq!(
        p.lines[1].original_amount,
        Some((dec("1234.50"), "USD".to_owned()))
    );
    assert_eq!(p.lines[1].quantity, 1000);
    assert_eq!(p.lines[0].sale_period, month(2024, 5));
    // 0.04 × 0.8 = 0.032, not 0.05: one warning naming line 4.
    assert_eq!(
        p.reconciliation.warnings.len(),
        1,
        "{:?}",
        p.reconciliation.warnings
    );
    assert!(p.reconciliation.warnings[0].contains("1 line(s) (lines 4)"));
}

#[test]
fn symphonic_voids_and_bad_number() {
    let p = parse(fixture("symphonic.csv"));
    assert_eq!(p.format, Format::Symphonic);
    assert_eq!(amounts(&p.lines), [dec("2.7"), dec("-0.7")]);
    assert_eq!(p.lines[1].quantity, -1);
    assert_eq!(territories(&p.lines), [Some("DE"), Some("US")]);
    assert_eq!(p.lines[0].sale_period, month(2025, 6));
    assert_eq!(p.lines[0].reporting_period, month(2025, 6));
    assert_eq!(p.lines[1].sale_period, month(2025, 5));
    // A bad number is a line error; the good lines are kept.
    assert_eq!(p.errors.len(), 1);
    assert_eq!(p.errors[0].line_number, 4);
    assert!(
        p.errors[0].reason.contains("Royalty ($US)"),
        "{}",
        p.errors[0].reason
    );
    assert!(p.errors[0].raw.contains("Deezer"));
    assert_eq!(p.skipped, [(5, "totals row".to_owned())]);
}

#[test]
fn orchard_eu_decimal_comma() {
    let p = parse(fixture("orchard_eu.csv"));
    assert_eq!(p.format, Format::Orchard);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    // Label Share Net Receipts as is: the 70 % split is already applied.
    assert_eq!(
        amounts(&p.lines),
        [dec("4.20"), dec("-0.69"), dec("1234.56")]
    );
    assert_eq!(p.lines[0].quantity, 1500);
    assert!(p.lines.iter().all(|l| l.currency == "EUR"));
    assert_eq!(p.lines[0].reporting_period, month(2017, 10));
    assert_eq!(p.lines[0].sale_period, month(2017, 9));
    assert_eq!(territories(&p.lines), [Some("NL"), Some("BE"), Some("DE")]);
}

#[test]
fn believe_country_names() {
    let p = parse(fixture("believe.csv"));
    assert_eq!(p.format, Format::Believe);
    assert_eq!(amounts(&p.lines), [dec("0.85"), dec("0.85"), dec("0.0408")]);
    assert_eq!(territories(&p.lines), [Some("FR"), Some("GB"), Some("KR")]);
    assert_eq!(p.lines[0].sale_period, month(2025, 5));
    assert_eq!(p.lines[0].reporting_period, month(2025, 7));
    assert!(p.lines.iter().all(|l| l.currency == "EUR"));
}

#[test]
fn apple_itunes_returns_and_currency_per_row() {
    let p = parse(fixture("apple_itunes.txt"));
    assert_eq!(p.format, Format::AppleItunesFinancial);
    assert_eq!(amounts(&p.lines), [dec("1.40"), dec("-0.70"), dec("9.10")]);
    assert_eq!(p.lines[1].quantity, -1);
    assert_eq!(p.lines[2].currency, "CAD");
    assert_eq!(
        p.lines[0].sale_period,
        Some(Period {
            start: date(2024, 3, 3),
            end: date(2024, 3, 30)
        })
    );
    assert_eq!(p.lines[2].upc.as_deref(), Some("036000291452"));
}

#[test]
fn apple_music_preamble() {
    let p = parse(fixture("apple_music.txt"));
    assert_eq!(p.format, Format::AppleMusicStreams);
    assert_eq!(amounts(&p.lines), [dec("2"), dec("0.05")]);
    assert_eq!(p.lines[0].line_number, 6);
    assert_eq!(territories(&p.lines), [Some("DE"), Some("AT")]);
    assert!(p.lines.iter().all(|l| l.currency == "EUR"));
    assert_eq!(
        p.lines[0].sale_period,
        Some(Period {
            start: date(2025, 4, 1),
            end: date(2025, 4, 30)
        })
    );
}

#[test]
fn spotify_long_decimals() {
    let p = parse(fixture("spotify.tsv"));
    assert_eq!(p.format, Format::Spotify);
    // 33 places, rounded half-even once: ...7895000…01 rounds up, 0E-18 is zero, 0.0000000025 → 0.000000002.
    assert_eq!(
        amounts(&p.lines),
        [dec("3.12345679"), dec("0"), dec("0.000000002")]
    );
    assert_eq!(p.lines[1].upc.as_deref(), Some("4006381333931"));
    assert_eq!(p.lines[0].sale_period, month(2025, 2));
    assert_eq!(p.lines[0].line_number, 4);
}

#[test]
fn bandcamp_utf16_payouts_refunds_no_buyer_data() {
    let p = parse(fixture("bandcamp_utf16le.csv"));
    assert_eq!(p.format, Format::Bandcamp);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.lines.len(), 4);
    assert_eq!(p.skipped.len(), 1);
    assert_eq!(p.skipped[0].0, 5);
    assert_eq!(
        amounts(&p.lines),
        [dec("6.25"), dec("1.60"), dec("-6.25"), dec("1016.50")]
    );
    assert_eq!(p.lines[1].currency, "EUR");
    assert_eq!(p.lines[2].quantity, -1);
    assert_eq!(p.lines[0].usage_type.as_deref(), Some("download"));
    assert_eq!(p.lines[3].usage_type.as_deref(), Some("physical"));
    assert_eq!(p.lines[0].sale_period, Some(Period::day(date(2024, 3, 2))));
    assert_eq!(
        territories(&p.lines),
        [Some("DE"), Some("JP"), Some("DE"), Some("US")]
    );
    let dump = format!("{:?}", p.lines);
    for personal in ["Buyer", "example.invalid", "Invented"] {
        assert!(
            !dump.contains(personal),
            "buyer data {personal} leaked into lines"
        );
    }
}

#[test]
fn youtube_gzip_container() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&fixture("youtube.csv")).expect("gzip");
    let bytes = gz.finish().expect("gzip finish");
    let mut container = open_container(Cursor::new(bytes)).expect("open gz");
    assert_eq!(container.len(), 1);
    let entry = container.entry(0).expect("entry");
    let reader = StatementReader::open(entry.reader, ParseOptions::default()).expect("open");
    assert_eq!(reader.format(), Format::YouTubeAssets);
    let lines: Vec<StatementLine> = reader
        .filter_map(|i| match i {
            Item::Line(l) => Some(l),
            _ => None,
        })
        .collect();
    assert_eq!(amounts(&lines), [dec("1.234567"), dec("0.05")]);
    assert_eq!(lines[0].quantity, 15000);
    assert_eq!(lines[0].usage_type.as_deref(), Some("ugc"));
    assert_eq!(lines[0].sale_period, Some(Period::day(date(2025, 3, 1))));
    assert_eq!(territories(&lines), [Some("BR"), Some("JP")]);
}

#[test]
fn zip_container_with_several_statements() {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("a/distrokid.tsv", options)
        .expect("zip entry");
    zip.write_all(&fixture("distrokid.tsv")).expect("zip write");
    zip.start_file("readme.pdf", options).expect("zip entry");
    zip.write_all(b"%PDF").expect("zip write");
    zip.start_file("b/cdbaby.txt", options).expect("zip entry");
    zip.write_all(&fixture("cdbaby.txt")).expect("zip write");
    let bytes = zip.finish().expect("zip finish").into_inner();
    let mut container = open_container(Cursor::new(bytes)).expect("open zip");
    assert_eq!(container.names(), ["a/distrokid.tsv", "b/cdbaby.txt"]);
    let mut found = Vec::new();
    for i in 0..container.len() {
        let entry = container.entry(i).expect("entry");
        let reader = StatementReader::open(entry.reader, ParseOptions::default()).expect("open");
        let format = reader.format();
        found.push((
            format,
            reader.filter(|i| matches!(i, Item::Line(_))).count(),
        ));
    }
    assert_eq!(found, [(Format::DistroKid, 5), (Format::CdBaby, 2)]);
}

#[test]
fn dsr_basic_audio_prorates_exactly() {
    let p = parse(fixture("dsr_basic_audio.tsv"));
    assert_eq!(p.format, Format::DdexDsrBasicAudio);
    assert_eq!(p.lines.len(), 4);
    // S1: 100.00 over 3 declared usages (1 + 1 in block 1, 1 in block 2); S2: 1.000000001 over 10.
    assert_eq!(
        amounts(&p.lines),
        [
            dec("33.333333334"),
            dec("33.333333333"),
            dec("1.000000001"),
            dec("33.333333333")
        ]
    );
    assert_eq!(total(&p.lines), dec("101.000000001"));
    assert_eq!(
        p.reconciliation.declared_total,
        Some((dec("101.000000001"), "USD".to_owned()))
    );
    assert_eq!(
        territories(&p.lines),
        [Some("NO"), Some("NO"), Some("SE"), Some("NO")]
    );
    let first = &p.lines[0];
    assert_eq!(first.line_number, 8);
    assert_eq!(first.isrc.as_deref(), Some("NOABC2500001"));
    assert_eq!(first.title.as_deref(), Some("Fjord One"));
    assert_eq!(first.release_title.as_deref(), Some("Fjord Songs"));
    assert_eq!(first.upc.as_deref(), Some("036000291452"));
    assert_eq!(first.usage_type.as_deref(), Some("stream"));
    assert_eq!(first.sale_period, month(2025, 1));
    assert_eq!(
        first.original_amount,
        Some((dec("333.33333334"), "NOK".to_owned()))
    );
    assert_eq!(p.lines[3].upc.as_deref(), Some("4006381333931"));
    // SU pointing at a summary the file lacks.
    assert_eq!(p.errors.len(), 1);
    assert_eq!(p.errors[0].line_number, 12);
    assert!(p.errors[0].reason.contains("S9"));
    // FOOT says 16 lines and 3 blocks; the file has 15 non-blank lines and 2 blocks.
    assert_eq!(p.reconciliation.declared_line_count, Some(16));
    let warnings = p.reconciliation.warnings.join("\n");
    assert!(
        warnings.contains("16 lines in file, the file has 15"),
        "{warnings}"
    );
    assert!(
        warnings.contains("3 blocks in file, the file has 2"),
        "{warnings}"
    );
    assert_eq!(p.reconciliation.warnings.len(), 2, "{warnings}");
}

#[test]
fn dsr_ugc_sums_licensor_amounts() {
    let p = parse(fixture("dsr_ugc.tsv"));
    assert_eq!(p.format, Format::DdexDsrUgc);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(amounts(&p.lines), [dec("12.50"), dec("1.0")]);
    assert_eq!(
        p.lines.iter().map(|l| l.quantity).collect::<Vec<_>>(),
        [500, 40]
    );
    assert_eq!(
        p.lines[0].sale_period,
        Some(Period {
            start: date(2025, 1, 1),
            end: date(2025, 3, 31)
        })
    );
    assert_eq!(
        p.lines[1].sale_period,
        Some(Period {
            start: date(2025, 1, 15),
            end: date(2025, 1, 20)
        })
    );
    assert_eq!(territories(&p.lines), [Some("BR"), Some("BR")]);
    assert_eq!(p.lines[0].store.as_deref(), Some("Invented Video"));
    assert_eq!(p.lines[0].isrc.as_deref(), Some("BRABC2500007"));
    assert_eq!(
        p.reconciliation.declared_total,
        Some((dec("13.5"), "USD".to_owned()))
    );
    assert_eq!(p.reconciliation.declared_line_count, Some(13));
    assert!(
        p.reconciliation.warnings.is_empty(),
        "{:?}",
        p.reconciliation.warnings
    );
}

#[test]
fn template_mapping() {
    let mapping = ColumnMapping {
        template_id: 42,
        isrc: None,
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
    };
    // Labels save mappings as import templates: JSON round trip.
    let json = serde_json::to_string(&mapping).expect("serialise mapping");
    assert_eq!(
        serde_json::from_str::<ColumnMapping>(&json).expect("deserialise mapping"),
        mapping
    );
    let p = parse_with(
        fixture("template.csv"),
        ParseOptions {
            template: Some(mapping),
            default_currency: None,
            ..ParseOptions::default()
        },
    );
    assert_eq!(p.format, Format::Template(42));
    assert_eq!(p.format.to_string(), "template:42");
    assert_eq!(amounts(&p.lines), [dec("1.50"), dec("0.60")]);
    assert_eq!(territories(&p.lines), [Some("IT"), Some("ES")]);
    assert_eq!(p.lines[0].sale_period, month(2025, 3));
    assert_eq!(p.lines[0].title.as_deref(), Some("Ocean Road"));
}

#[test]
fn missing_required_column_names_it() {
    let bytes = b"Reporting Date\tSale Month\tStore\tArtist\tTitle\tISRC\tUPC\tQuantity\tTeam Percentage\tSong/Album\tCountry of Sale\n2024-01-01\t2024-01\tSpotify\tA\tB\tQZABC2400001\t036000291452\t1\t100\tSong\tUS\n".to_vec();
    match StatementReader::open(Cursor::new(bytes), ParseOptions::default()) {
        Err(ParseError::MissingColumn { format, column }) => {
            assert_eq!(format, Format::DistroKid);
            assert_eq!(column, "Earnings (USD)");
        }
        other => panic!("expected a missing column, got {other:?}"),
    }
}

#[test]
fn unreadable_files() {
    assert!(matches!(
        StatementReader::open(Cursor::new(Vec::new()), ParseOptions::default()),
        Err(ParseError::Empty)
    ));
    assert!(matches!(
        StatementReader::open(Cursor::new(b"\r\n\n".to_vec()), ParseOptions::default()),
        Err(ParseError::Empty)
    ));
    let binary: Vec<u8> = (0..4096_u32)
        .map(|i| u8::try_from((i * 7919) % 251).expect("byte"))
        .collect();
    assert!(
        matches!(detect(&binary), Err(ParseError::Binary)),
        "{:?}",
        detect(&binary)
    );
    assert!(matches!(
        detect(b"name,colour,size\nx,red,3\n"),
        Err(ParseError::UnknownFormat)
    ));
    assert!(matches!(
        detect(&[0x1f, 0x8b, 8, 0]),
        Err(ParseError::Container(_))
    ));
    let message = detect(b"a;b;c\n").expect_err("unknown").to_string();
    assert!(message.contains("unknown statement layout"), "{message}");
}

#[test]
fn truncated_file_keeps_what_it_read() {
    let mut bytes = fixture("distrokid.tsv");
    // Cut in the middle of the third data row.
    bytes.truncate(bytes.len() - 150);
    let p = parse(bytes);
    assert_eq!(p.format, Format::DistroKid);
    assert_eq!(p.lines.len(), 4, "{:?}", p.lines);
    assert_eq!(p.lines[0].amount, dec("3.12345679"));
    // The last, truncated row ends inside its store cell: kept, flagged, no amount.
    assert_eq!(p.lines[3].store.as_deref(), Some("Dee"));
    assert!(p.lines[3].flags.contains(&LineFlag::AmountMissing));
}

#[test]
fn detection_finds_header_and_encoding() {
    let d = detect(&fixture("spotify.tsv")).expect("detect");
    assert_eq!(d.format, Format::Spotify);
    assert_eq!(d.header_line, 3);
    assert_eq!(d.delimiter, b'\t');
    let d = detect(&fixture("bandcamp_utf16le.csv")).expect("detect");
    assert_eq!(d.format, Format::Bandcamp);
    assert_eq!(d.delimiter, b',');
    // Header names are matched case- and whitespace-insensitively.
    let d = detect(
        b"  REPORT DATE \tsales date\tQuantity\tPrice\tSUBTOTAL\tIsrc\tBarcode\tCDBabySku\n",
    )
    .expect("detect");
    assert_eq!(d.format, Format::CdBaby);
}

#[test]
fn amounts_parse_exactly() {
    assert_eq!(parse_amount("(12.34)", false), Ok(dec("-12.34")));
    assert_eq!(parse_amount("1,234.56", false), Ok(dec("1234.56")));
    assert_eq!(parse_amount("1.234,56", true), Ok(dec("1234.56")));
    assert_eq!(parse_amount("100,00%", true), Ok(dec("100")));
    assert_eq!(parse_amount("0E-18", false), Ok(dec("0")));
    assert_eq!(
        parse_amount("7.37725782924135E+016", false),
        Ok(dec("73772578292413500"))
    );
    assert_eq!(parse_amount(".021330", false), Ok(dec("0.02133")));
    assert_eq!(parse_amount("0.0000000005", false), Ok(dec("0")));
    assert_eq!(parse_amount("0.0000000015", false), Ok(dec("0.000000002")));
    assert_eq!(
        parse_amount("-0.0000000025000000000000000000000001", false),
        Ok(dec("-0.000000003"))
    );
    assert!(parse_amount("12,3", false).is_err());
    assert!(parse_amount("abc", false).is_err());
}

#[test]
fn fingerprints_match_across_overlapping_files() {
    let file_a = fixture("distrokid.tsv");
    // A second export covering an overlapping range: the first two rows again, one new row.
    let text = String::from_utf8(file_a.clone()).expect("utf8");
    let rows: Vec<&str> = text.split('\n').collect();
    let file_b = format!(
        "{}\n{}\n{}\n2024-03-05\t2024-03\tQobuz\tNova Ray\tNew\tQZABC2400009\t036000291452\t1\t100\tSong\tUS\t0\t0.1\n",
        rows[0], rows[2], rows[1]
    );
    let keys = |bytes: Vec<u8>| {
        let p = parse(bytes);
        let mut f = Fingerprinter::new();
        p.lines
            .iter()
            .map(|l| f.key(l, p.format))
            .collect::<Vec<_>>()
    };
    let a = keys(file_a);
    let b = keys(file_b.into_bytes());
    assert_eq!(b[0], a[1]);
    assert_eq!(b[1], a[0]);
    assert!(!a.contains(&b[2]));

    // Two identical rows in one file are kept apart by the occurrence counter.
    let p = parse(fixture("distrokid_v2.tsv"));
    let mut f = Fingerprinter::new();
    let one = f.key(&p.lines[0], p.format);
    let two = f.key(&p.lines[0], p.format);
    assert_ne!(one, two);
    assert_eq!(one.digest_hex(), two.digest_hex());
    assert_eq!((one.occurrence(), two.occurrence()), (1, 2));
    let base = fingerprint(&p.lines[0], p.format);
    assert_eq!(base.len(), 64);
    assert!(base.starts_with(&one.digest_hex()));
    // The line number is not part of the fingerprint.
    let mut moved = p.lines[0].clone();
    moved.line_number = 999;
    assert_eq!(fingerprint(&moved, p.format), base);
}

#[test]
fn format_names() {
    for f in Format::BUILT_IN {
        assert_eq!(Format::from_name(f.as_str()), Some(f));
        assert_eq!(f.to_string(), f.as_str());
    }
    assert_eq!(Format::DdexDsrBasicAudio.as_str(), "ddex_dsr_basic_audio");
}

// ---------------------------------------------------------------------------------------------
// Real sample files (not in the repository): parsed, then checked against an independent
// computation done here on the raw text with string-decimal arithmetic.

fn samples_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("IMPRINT_SAMPLES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples"));
    dir.is_dir().then_some(dir)
}

/// Sums decimal strings exactly as integers of 10⁻¹² (enough for these samples' digits), each
/// rounded half-even to 9 places first as ingest does.
fn sum_strings<'a>(values: impl Iterator<Item = &'a str>) -> Decimal {
    const SCALE: usize = 12;
    let mut sum: i128 = 0;
    for v in values {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        let (neg, digits) = v.strip_prefix('-').map_or((false, v), |d| (true, d));
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        assert!(frac.len() <= SCALE, "too many digits in {v}");
        let padded = format!("{int}{frac}{}", "0".repeat(SCALE - frac.len()));
        let n: i128 = padded.parse().expect("digits");
        let (q, r) = (n / 1000, n % 1000);
        let rounded = if r > 500 || (r == 500 && q % 2 == 1) {
            q + 1
        } else {
            q
        };
        sum += if neg { -rounded } else { rounded };
    }
    Decimal::from_i128_with_scale(sum, 9).normalize()
}

/// Data rows of a delimited text (header first), by simple splitting (these samples have no
/// quoted delimiters), with quotes stripped.
fn table(text: &str, delimiter: char) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rows = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(delimiter)
                .map(|c| c.trim_matches('"').to_owned())
                .collect::<Vec<_>>()
        });
    let header = rows.next().expect("header");
    (header, rows.collect())
}

fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("column {name}"))
}

fn utf16le(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes[2..]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).expect("utf-16")
}

struct Expect {
    file: &'static str,
    format: Format,
    lines: usize,
    total: &'static str,
    currency: &'static str,
}

#[test]
fn real_samples_when_present() {
    let Some(dir) = samples_dir() else {
        #[expect(clippy::print_stdout, reason = "a skip note for the test log")]
        {
            println!("skip: no samples directory (set IMPRINT_SAMPLES_DIR)");
        }
        return;
    };
    let expectations = [
        Expect {
            file: "trackshift_DistroKid_NonAscii.tsv",
            format: Format::DistroKid,
            lines: 4,
            total: "10",
            currency: "USD",
        },
        Expect {
            file: "trackshift_CdBaby_Test.txt",
            format: Format::CdBaby,
            lines: 2,
            total: "0.159653994",
            currency: "USD",
        },
        Expect {
            file: "trackshift_Tunecore_Test.csv",
            format: Format::TuneCore,
            lines: 4,
            total: "0.1355",
            currency: "GBP",
        },
        Expect {
            file: "bandcamp-sales-report_utf16le_bom.csv",
            format: Format::Bandcamp,
            lines: 22,
            total: "168.35",
            currency: "USD",
        },
        Expect {
            file: "apple-itunes-financial_DL_80032046_AU.txt",
            format: Format::AppleItunesFinancial,
            lines: 249,
            total: "635.62",
            currency: "AUD",
        },
        Expect {
            file: "ddex-dsr_basicaudio_DSR_PADPIDA00123456743_PADPIDA0123456766K_UnlimitedMusicMonthly_2020-06-01--2020-06-30__1of1_20200703T075930.tsv",
            format: Format::DdexDsrBasicAudio,
            lines: 15,
            total: "5000",
            currency: "GBP",
        },
        Expect {
            file: "ddex-dsr_ugc_youtube_DSR_TEST_YouTube_AdSupport-music_2015-Q4_IS_1of1_20160121T150926.tsv",
            format: Format::DdexDsrUgc,
            lines: 3,
            total: "198.88",
            currency: "USD",
        },
    ];
    for e in expectations {
        let path = dir.join(e.file);
        let bytes =
            std::fs::read(&path).unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
        let independent = independent_total(e.format, &bytes);
        let p = parse(bytes);
        assert_eq!(p.format, e.format, "{}", e.file);
        assert!(p.errors.is_empty(), "{}: {:?}", e.file, p.errors);
        assert_eq!(p.lines.len(), e.lines, "{}", e.file);
        assert!(
            p.lines.iter().all(|l| l.currency == e.currency),
            "{}",
            e.file
        );
        assert_eq!(total(&p.lines), dec(e.total), "{}", e.file);
        assert_eq!(
            independent,
            (e.lines, dec(e.total)),
            "{}: independent count",
            e.file
        );
    }
}

/// Count and total computed from the raw text without the parser.
fn independent_total(format: Format, bytes: &[u8]) -> (usize, Decimal) {
    match format {
        Format::Bandcamp => {
            let text = utf16le(bytes);
            // Quoted commas would break the simple split; this sample has none in the money
            // columns, and the net amount is the 25th column.
            let (header, rows) = table(&text, ',');
            let (kind, net) = (column(&header, "item type"), column(&header, "net amount"));
            let earnings: Vec<&Vec<String>> = rows.iter().filter(|r| r[kind] != "payout").collect();
            (
                earnings.len(),
                sum_strings(earnings.iter().map(|r| r[net].as_str())),
            )
        }
        Format::DdexDsrBasicAudio | Format::DdexDsrUgc => {
            let text = String::from_utf8(bytes.to_vec()).expect("utf8");
            let records: Vec<Vec<&str>> = text
                .lines()
                .map(|l| l.trim_end_matches('\r').split('\t').collect())
                .collect();
            if format == Format::DdexDsrBasicAudio {
                let usages = records.iter().filter(|r| r[0].starts_with("SU")).count();
                (
                    usages,
                    sum_strings(
                        records
                            .iter()
                            .filter(|r| r[0].starts_with("SY"))
                            .map(|r| r[11]),
                    ),
                )
            } else {
                let mut blocks: Vec<&str> = records
                    .iter()
                    .filter(|r| r[0].starts_with("SU03"))
                    .map(|r| r[1])
                    .collect();
                blocks.dedup();
                (
                    blocks.len(),
                    sum_strings(
                        records
                            .iter()
                            .filter(|r| r[0].starts_with("LI01"))
                            .map(|r| r[9]),
                    ),
                )
            }
        }
        _ => {
            let text = String::from_utf8(bytes.to_vec()).expect("utf8");
            let (delimiter, money) = match format {
                Format::DistroKid => ('\t', "Earnings (USD)"),
                Format::CdBaby => ('\t', "Subtotal"),
                Format::TuneCore => (',', "Total Earned"),
                Format::AppleItunesFinancial => ('\t', "Extended Partner Share"),
                other => panic!("no independent computation for {other}"),
            };
            let (header, rows) = table(&text, delimiter);
            let i = column(&header, money);
            (rows.len(), sum_strings(rows.iter().map(|r| r[i].as_str())))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile files: limits, out-of-range amounts, silent misreads.
// ---------------------------------------------------------------------------------------------

const DK_HEADER: &str = "Reporting Date\tSale Month\tStore\tArtist\tTitle\tISRC\tUPC\tQuantity\tTeam Percentage\tSong/Album\tCountry of Sale\tSongwriter Royalties Withheld\tEarnings (USD)";

/// A DistroKid row earning `amount`, with `sale_month` as its sale month.
fn dk_row(sale_month: &str, amount: &str) -> String {
    format!(
        "2024-03-05\t{sale_month}\tSpotify\tNova Ray\tGlass Harbor\tQZABC2400001\t036000291452\t1\t100\tSong\tUS\t0\t{amount}"
    )
}

fn dk_file(rows: &[String]) -> Vec<u8> {
    let mut text = DK_HEADER.to_owned();
    for row in rows {
        text.push_str("\r\n");
        text.push_str(row);
    }
    text.push_str("\r\n");
    text.into_bytes()
}

fn limits(line: usize, cell: usize, decompressed: u64) -> ParseOptions {
    ParseOptions {
        limits: Limits {
            max_line_bytes: line,
            max_cell_bytes: cell,
            max_decompressed_bytes: decompressed,
        },
        ..ParseOptions::default()
    }
}

/// Reads a whole file through the container and the parser as the worker does; the limit
/// error, if any, from wherever it surfaced.
fn read_all(bytes: Vec<u8>, options: &ParseOptions) -> Result<Parsed, ParseError> {
    let mut container =
        open_container_with(Cursor::new(bytes), options.limits.max_decompressed_bytes)?;
    let entry = container.entry(0)?;
    let mut reader = StatementReader::open(entry.reader, options.clone())?;
    let format = reader.format();
    let (mut lines, mut errors, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for item in reader.by_ref() {
        match item {
            Item::Line(l) => lines.push(l),
            Item::Error(e) => errors.push(e),
            Item::Skipped {
                line_number,
                reason,
            } => skipped.push((line_number, reason)),
        }
    }
    Ok(Parsed {
        format,
        lines,
        errors,
        skipped,
        reconciliation: reader.finish()?,
    })
}

#[test]
fn an_amount_out_of_range_is_a_line_error_and_the_good_lines_stay() {
    let p = parse(dk_file(&[
        dk_row("2024-01", "1.50"),
        dk_row("2024-01", "9300000000"),
        dk_row("2024-01", "-9223372036.854775809"),
        dk_row("2024-01", "9223372036.854775807"),
        dk_row("2024-01", "2.25"),
    ]));
    assert_eq!(
        amounts(&p.lines),
        [dec("1.50"), dec("9223372036.854775807"), dec("2.25")]
    );
    let errors: Vec<(u64, &str)> = p
        .errors
        .iter()
        .map(|e| (e.line_number, e.reason.as_str()))
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].0, 3);
    assert!(errors[0].1.contains("out of range"), "{errors:?}");
    assert!(p.errors[0].raw.contains("9300000000"));
    assert_eq!(errors[1].0, 4);
}

#[test]
fn a_line_without_end_fails_the_file_at_the_limit() {
    // 8 MiB without a line break after a valid header, read with a 64 KiB line limit.
    let mut bytes = dk_file(&[dk_row("2024-01", "1")]);
    bytes.extend(std::iter::repeat_n(b'x', 8 * 1024 * 1024));
    let error = read_all(bytes, &limits(64 * 1024, 4096, u64::MAX)).err();
    assert!(
        matches!(
            error,
            Some(ParseError::LineTooLong {
                line_number: 3,
                limit_bytes: 65_536
            })
        ),
        "{error:?}"
    );
    let message = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("line 3 is longer than 65536 bytes"),
        "{message}"
    );
    // At the default limit (1 MiB), the same.
    let mut bytes = dk_file(&[]);
    bytes.extend(std::iter::repeat_n(b'7', 3 * 1024 * 1024));
    assert!(matches!(
        read_all(bytes, &ParseOptions::default()).err(),
        Some(ParseError::LineTooLong { line_number: 2, .. })
    ));
}

#[test]
fn a_cell_over_the_limit_fails_the_file() {
    let long_title = "la".repeat(3000);
    let row = dk_row("2024-01", "1").replace("Glass Harbor", &long_title);
    let error = read_all(dk_file(&[row]), &limits(1 << 20, 4096, u64::MAX)).err();
    assert!(
        matches!(
            error,
            Some(ParseError::CellTooLong {
                line_number: 2,
                limit_bytes: 4096
            })
        ),
        "{error:?}"
    );
    // DSR too (no quoting, its own reader).
    let mut dsr = fixture("dsr_basic_audio.tsv");
    dsr.extend(format!("RE01\tB9\t{}\r\n", "y".repeat(5000)).as_bytes());
    let error = read_all(dsr, &limits(1 << 20, 4096, u64::MAX)).err();
    assert!(
        matches!(error, Some(ParseError::CellTooLong { .. })),
        "{error:?}"
    );
}

#[test]
fn a_gzip_bomb_fails_at_the_decompressed_limit() {
    // 8 MiB of valid rows compress to a few tens of KiB; the limit is 1 MiB.
    let row = dk_row("2024-01", "0.01");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(DK_HEADER.as_bytes()).expect("gzip");
    let mut written = 0;
    while written < 8 * 1024 * 1024 {
        gz.write_all(b"\r\n").expect("gzip");
        gz.write_all(row.as_bytes()).expect("gzip");
        written += row.len() + 2;
    }
    let bytes = gz.finish().expect("gzip finish");
    assert!(bytes.len() < 1024 * 1024, "{}", bytes.len());
    let started = std::time::Instant::now();
    let error = read_all(bytes.clone(), &limits(1 << 20, 1 << 16, 1024 * 1024)).err();
    assert!(
        matches!(
            error,
            Some(ParseError::DecompressedTooLarge {
                limit_bytes: 1_048_576
            })
        ),
        "{error:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(
        error
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("decompresses to more than 1048576 bytes")
    );
    // Within the limit, the same file reads.
    let p = read_all(bytes, &limits(1 << 20, 1 << 16, 16 * 1024 * 1024)).expect("reads");
    assert!(p.lines.len() > 70_000, "{}", p.lines.len());
    // A zip entry is limited the same way.
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("bomb.tsv", options).expect("zip entry");
    zip.write_all(DK_HEADER.as_bytes()).expect("zip write");
    for _ in 0..20_000 {
        zip.write_all(b"\r\n").expect("zip write");
        zip.write_all(row.as_bytes()).expect("zip write");
    }
    let bytes = zip.finish().expect("zip finish").into_inner();
    let error = read_all(bytes, &limits(1 << 20, 1 << 16, 1024 * 1024)).err();
    assert!(
        matches!(error, Some(ParseError::DecompressedTooLarge { .. })),
        "{error:?}"
    );
}

#[test]
fn a_row_with_more_cells_than_the_header_is_a_line_error() {
    let shifted = dk_row("2024-01", "1.00").replace("Glass Harbor", "Glass\tHarbor");
    let trailing_empty = format!("{}\t\t", dk_row("2024-01", "2.00"));
    let p = parse(dk_file(&[
        shifted,
        trailing_empty,
        dk_row("2024-01", "3.00"),
    ]));
    assert_eq!(amounts(&p.lines), [dec("2.00"), dec("3.00")]);
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert_eq!(p.errors[0].line_number, 2);
    assert!(
        p.errors[0]
            .reason
            .contains("the row has 14 cells but the header has 13"),
        "{}",
        p.errors[0].reason
    );
}

#[test]
fn ambiguous_thousands_separators_are_refused() {
    let p = parse(dk_file(&[
        dk_row("2024-01", "0,123"),
        dk_row("2024-01", "1,234"),
        dk_row("2024-01", "1,234.50"),
        dk_row("2024-01", "1,234,567"),
        dk_row("2024-01", "0.123"),
    ]));
    assert_eq!(
        amounts(&p.lines),
        [dec("1234.50"), dec("1234567"), dec("0.123")]
    );
    let lines: Vec<u64> = p.errors.iter().map(|e| e.line_number).collect();
    assert_eq!(lines, [2, 3]);
    assert!(p.errors[0].reason.contains("ambiguous"), "{:?}", p.errors);
    assert!(parse_amount("0,123", false).is_err());
    assert!(parse_amount("1.234", true).is_err());
    assert_eq!(parse_amount("1.234,5", true), Ok(dec("1234.5")));
    assert_eq!(parse_amount("0,5", true), Ok(dec("0.5")));
    // A quantity is a whole number: `1,234` can only be a thousand and more; `0,123` cannot be.
    let mut quantity = dk_row("2024-01", "1.00").replace("\t1\t100\t", "\t\"1,234\"\t100\t");
    let p = parse(dk_file(&[quantity.clone()]));
    assert_eq!(p.lines[0].quantity, 1234);
    quantity = quantity.replace("1,234", "0,123");
    assert_eq!(parse(dk_file(&[quantity])).errors.len(), 1);
}

#[test]
fn an_unreadable_date_is_flagged_on_its_line() {
    let p = parse(dk_file(&[
        dk_row("2024-01", "1.00"),
        dk_row("Sometime in 2024", "2.00"),
        dk_row("", "3.00"),
    ]));
    assert_eq!(p.lines.len(), 3);
    assert!(!p.lines[0].flags.contains(&LineFlag::DateUnreadable));
    assert!(p.lines[1].flags.contains(&LineFlag::DateUnreadable));
    assert_eq!(p.lines[1].sale_period, None);
    // An empty cell is no date, not an unreadable one.
    assert!(!p.lines[2].flags.contains(&LineFlag::DateUnreadable));
}

#[test]
fn the_unknown_layout_message_points_at_templates() {
    let message = detect(b"name,colour,size\nx,red,3\n")
        .expect_err("unknown")
        .to_string();
    assert!(message.contains("createImportTemplate"), "{message}");
    assert!(message.contains("reparseStatement"), "{message}");
}

#[test]
fn dsr_foot_counts_compare_records_with_records_and_blocks_with_blocks() {
    let text = String::from_utf8(fixture("dsr_basic_audio.tsv")).expect("utf-8");
    let foot_at = text.rfind("FOOT\t").expect("a FOOT record");
    let (body, _) = text.split_at(foot_at);
    let records = body.lines().filter(|l| !l.trim().is_empty()).count() + 1;
    // A FOOT that tells the truth: no warning about counts.
    let honest = format!("{body}FOOT\t{records}\t{records}\t2\t2\t2\r\n");
    let p = parse(honest.into_bytes());
    assert_eq!(p.reconciliation.declared_line_count, Some(records as u64));
    assert!(
        !p.reconciliation
            .warnings
            .iter()
            .any(|w| w.contains("FOOT declares")),
        "{:?}",
        p.reconciliation.warnings
    );
    // A wrong block count, in the file's or the report's column, is flagged.
    for foot in ["2\t2\t2\t5\t5", "2\t2\t2\t2\t7"] {
        let foot = foot.replacen('2', &records.to_string(), 2);
        let lying = format!("{body}FOOT\t{foot}\r\n");
        let p = parse(lying.into_bytes());
        let warnings = p.reconciliation.warnings.join("\n");
        assert!(warnings.contains("blocks in"), "{foot}: {warnings}");
        assert!(warnings.contains("the file has 2"), "{foot}: {warnings}");
    }
}

#[test]
fn dsr_sample_has_no_false_count_warning() {
    let Some(dir) = samples_dir() else {
        eprintln!("skipped: no samples directory");
        return;
    };
    let Some(path) = std::fs::read_dir(&dir)
        .expect("samples")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("basicaudio"))
    else {
        eprintln!("skipped: no DSR Basic Audio sample");
        return;
    };
    let bytes = std::fs::read(&path).expect("sample");
    let p = parse(bytes.clone());
    assert!(
        !p.reconciliation
            .warnings
            .iter()
            .any(|w| w.contains("FOOT declares")),
        "{:?}",
        p.reconciliation.warnings
    );
    // The same file with FOOT's block counts wrong is flagged.
    let text = String::from_utf8(bytes).expect("utf-8");
    let lying = text.replace("FOOT\t33\t33\t1\t3\t3", "FOOT\t33\t33\t1\t4\t4");
    assert_ne!(lying, text, "the sample's FOOT changed");
    let p = parse(lying.into_bytes());
    assert!(
        p.reconciliation
            .warnings
            .iter()
            .any(|w| w.contains("FOOT declares 4 blocks in file, the file has 3")),
        "{:?}",
        p.reconciliation.warnings
    );
}
