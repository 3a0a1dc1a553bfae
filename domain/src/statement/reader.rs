//! [`StatementReader`]: open a file, detect its layout, stream its items.

use std::io::Read;

use super::decode::TextStream;
use super::detect::{Detected, detect_with};
use super::dsr::Dsr;
use super::records::LimitExceeded;
use super::tabular::Tabular;
use super::{
    Format, Item, LineError, ParseError, ParseOptions, Reconciliation, SNIFF_LEN,
    amount_out_of_range,
};

/// Streams the [`Item`]s of one statement file. Memory stays bounded whatever the file size.
///
/// Iteration ends early when the file breaks a [`super::Limits`] limit (a line or cell too
/// long, too much decompressed data); [`StatementReader::finish`] then returns that error, and
/// the statement is to be failed rather than kept half read.
///
/// ```no_run
/// # use domain::statement::{StatementReader, ParseOptions, Item};
/// # fn run(file: std::fs::File) -> Result<(), domain::statement::ParseError> {
/// let mut reader = StatementReader::open(file, ParseOptions::default())?;
/// for item in reader.by_ref() {
///     match item {
///         Item::Line(line) => { /* store it */ let _ = line; }
///         Item::Error(error) => { /* statement_errors */ let _ = error; }
///         Item::Skipped { .. } => {}
///     }
/// }
/// let reconciliation = reader.finish()?;
/// # let _ = reconciliation; Ok(()) }
/// ```
#[derive(Debug)]
pub struct StatementReader<R: Read> {
    detected: Detected,
    parser: Parser<R>,
}

#[derive(Debug)]
enum Parser<R: Read> {
    Tabular(Box<Tabular<R>>),
    Dsr(Box<Dsr<R>>),
}

impl<R: Read> StatementReader<R> {
    /// Reads the first [`SNIFF_LEN`] bytes, detects the layout, and gets ready to stream.
    ///
    /// # Errors
    ///
    /// A [`ParseError`] when the file cannot be read at all: empty, binary, compressed (see
    /// [`super::open_container`]), an unknown layout, a required column missing, a limit
    /// broken within the first bytes, or I/O.
    pub fn open(mut reader: R, options: ParseOptions) -> Result<Self, ParseError> {
        let mut sample = Vec::with_capacity(SNIFF_LEN);
        (&mut reader)
            .take(SNIFF_LEN as u64)
            .read_to_end(&mut sample)?;
        let detected = detect_with(&sample, &options)?;
        let stream = TextStream::new(sample, reader, detected.encoding);
        let parser = match detected.format {
            Format::DdexDsrBasicAudio | Format::DdexDsrUgc => Parser::Dsr(Box::new(Dsr::new(
                stream,
                detected.encoding,
                detected.format,
                options.limits,
            ))),
            _ => Parser::Tabular(Box::new(Tabular::new(
                stream,
                &detected,
                options.template,
                options.default_currency,
                options.limits,
            ))),
        };
        Ok(Self { detected, parser })
    }

    /// The detected format.
    #[must_use]
    pub fn format(&self) -> Format {
        self.detected.format
    }

    /// Everything detection found (encoding, delimiter, header row).
    #[must_use]
    pub fn detected(&self) -> &Detected {
        &self.detected
    }

    /// What the file declares against what was read. Call after iterating to the end.
    ///
    /// # Errors
    ///
    /// The limit the file broke ([`ParseError::LineTooLong`], [`ParseError::CellTooLong`],
    /// [`ParseError::DecompressedTooLarge`]), when iteration stopped for one: what was read
    /// before it is not the whole statement.
    pub fn finish(self) -> Result<Reconciliation, ParseError> {
        let fatal: Option<LimitExceeded> = match &self.parser {
            Parser::Tabular(t) => t.fatal(),
            Parser::Dsr(d) => d.fatal(),
        };
        if let Some(limit) = fatal {
            return Err(limit.into());
        }
        Ok(match &self.parser {
            Parser::Tabular(t) => t.reconciliation(),
            Parser::Dsr(d) => d.reconciliation(),
        })
    }
}

impl<R: Read> Iterator for StatementReader<R> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        match &mut self.parser {
            // The tabular reader checks amounts itself, where it has the row to quote.
            Parser::Tabular(t) => t.next(),
            Parser::Dsr(d) => match d.next()? {
                Item::Line(line) => Some(match amount_out_of_range(&line) {
                    Some(reason) => Item::Error(LineError::new(line.line_number, reason, "")),
                    None => Item::Line(line),
                }),
                other => Some(other),
            },
        }
    }
}
