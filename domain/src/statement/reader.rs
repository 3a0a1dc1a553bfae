//! [`StatementReader`]: open a file, detect its layout, stream its items.

use std::io::Read;

use super::decode::TextStream;
use super::detect::{Detected, detect_with};
use super::dsr::Dsr;
use super::tabular::Tabular;
use super::{Format, Item, ParseError, ParseOptions, Reconciliation, SNIFF_LEN};

/// Streams the [`Item`]s of one statement file. Memory stays bounded whatever the file size.
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
/// let reconciliation = reader.finish();
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
    /// [`super::open_container`]), an unknown layout, a required column missing, or I/O.
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
            ))),
            _ => Parser::Tabular(Box::new(Tabular::new(
                stream,
                &detected,
                options.template,
                options.default_currency,
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
    #[must_use]
    pub fn finish(self) -> Reconciliation {
        match &self.parser {
            Parser::Tabular(t) => t.reconciliation(),
            Parser::Dsr(d) => d.reconciliation(),
        }
    }
}

impl<R: Read> Iterator for StatementReader<R> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        match &mut self.parser {
            Parser::Tabular(t) => t.next(),
            Parser::Dsr(d) => d.next(),
        }
    }
}
