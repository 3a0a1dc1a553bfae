//! Text encoding: sniffed from the first bytes, then decoded while streaming.
//!
//! UTF-16 (with a BOM) is transcoded to UTF-8 by a streaming decoder. UTF-8 and Windows-1252
//! files are read as bytes and each cell is decoded on its own, so a UTF-8 file with a stray
//! Latin-1 cell past the sniffed prefix still reads (that cell is flagged). BOMs and NUL bytes
//! are removed.

use std::io::{self, Chain, Cursor, Read};

use encoding_rs::{UTF_16BE, UTF_16LE, WINDOWS_1252};
use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};
use serde::{Deserialize, Serialize};

/// The text encoding of a statement file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextEncoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    /// Not valid UTF-8: read as Windows-1252 (a superset of Latin-1's printable range).
    Windows1252,
}

impl TextEncoding {
    /// Sniffs the encoding from the first bytes of a file.
    #[must_use]
    pub fn sniff(sample: &[u8]) -> Self {
        if sample.starts_with(&[0xEF, 0xBB, 0xBF]) {
            Self::Utf8Bom
        } else if sample.starts_with(&[0xFF, 0xFE]) {
            Self::Utf16Le
        } else if sample.starts_with(&[0xFE, 0xFF]) {
            Self::Utf16Be
        } else if looks_utf16_without_bom(sample, 1) {
            Self::Utf16Le
        } else if looks_utf16_without_bom(sample, 0) {
            Self::Utf16Be
        } else if valid_utf8_prefix(sample) {
            Self::Utf8
        } else {
            Self::Windows1252
        }
    }

    fn is_utf16(self) -> bool {
        matches!(self, Self::Utf16Le | Self::Utf16Be)
    }
}

/// ASCII text in UTF-16 without a BOM: every other byte is NUL.
fn looks_utf16_without_bom(sample: &[u8], nul_offset: usize) -> bool {
    let pairs = sample.len() / 2;
    if pairs < 8 {
        return false;
    }
    let nuls = sample
        .chunks_exact(2)
        .filter(|p| p[nul_offset] == 0 && p[1 - nul_offset] != 0)
        .count();
    nuls * 10 >= pairs * 9
}

/// Valid UTF-8, allowing the sample to end in the middle of a character.
fn valid_utf8_prefix(sample: &[u8]) -> bool {
    match std::str::from_utf8(sample) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && sample.len() - e.valid_up_to() < 4,
    }
}

/// The sample as text, for detection.
pub(crate) fn decode_sample(sample: &[u8], encoding: TextEncoding) -> String {
    let text = match encoding {
        TextEncoding::Utf8 | TextEncoding::Utf8Bom => {
            let body = sample
                .strip_prefix(&[0xEF, 0xBB, 0xBF][..])
                .unwrap_or(sample);
            String::from_utf8_lossy(body).into_owned()
        }
        TextEncoding::Utf16Le => {
            let body = sample.strip_prefix(&[0xFF, 0xFE][..]).unwrap_or(sample);
            let even = &body[..body.len() - body.len() % 2];
            UTF_16LE.decode_without_bom_handling(even).0.into_owned()
        }
        TextEncoding::Utf16Be => {
            let body = sample.strip_prefix(&[0xFE, 0xFF][..]).unwrap_or(sample);
            let even = &body[..body.len() - body.len() % 2];
            UTF_16BE.decode_without_bom_handling(even).0.into_owned()
        }
        TextEncoding::Windows1252 => WINDOWS_1252
            .decode_without_bom_handling(sample)
            .0
            .into_owned(),
    };
    text.replace('\0', "")
}

/// Decodes one cell's bytes: UTF-8 (falling back to Windows-1252, second value `true`) or
/// Windows-1252.
pub(crate) fn decode_cell(bytes: &[u8], encoding: TextEncoding) -> (String, bool) {
    if encoding == TextEncoding::Windows1252 {
        return (
            WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
                .into_owned(),
            false,
        );
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_owned(), false),
        Err(_) => (
            WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
                .into_owned(),
            true,
        ),
    }
}

/// The sniffed prefix put back in front of the rest of the stream.
pub(crate) type Rejoined<R> = Chain<Cursor<Vec<u8>>, R>;

/// A byte stream ready for the record reader: UTF-8 (or Windows-1252 bytes), no BOM, no NULs.
#[derive(Debug)]
pub(crate) struct TextStream<R: Read> {
    inner: Inner<R>,
}

enum Inner<R: Read> {
    Bytes(Rejoined<R>),
    Transcoded(DecodeReaderBytes<Rejoined<R>, Vec<u8>>),
}

impl<R: Read> std::fmt::Debug for Inner<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bytes(_) => f.write_str("Bytes"),
            Self::Transcoded(_) => f.write_str("Transcoded"),
        }
    }
}

impl<R: Read> TextStream<R> {
    /// `prefix` is what was read for sniffing; `rest` the remainder of the same stream.
    pub(crate) fn new(mut prefix: Vec<u8>, rest: R, encoding: TextEncoding) -> Self {
        if encoding.is_utf16() {
            let joined = Cursor::new(prefix).chain(rest);
            let enc = if encoding == TextEncoding::Utf16Le {
                UTF_16LE
            } else {
                UTF_16BE
            };
            // The builder strips the BOM it sees and uses it over the given encoding.
            let decoder = DecodeReaderBytesBuilder::new()
                .encoding(Some(enc))
                .build(joined);
            return Self {
                inner: Inner::Transcoded(decoder),
            };
        }
        if prefix.starts_with(&[0xEF, 0xBB, 0xBF]) {
            prefix.drain(..3);
        }
        Self {
            inner: Inner::Bytes(Cursor::new(prefix).chain(rest)),
        }
    }
}

impl<R: Read> Read for TextStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = match &mut self.inner {
                Inner::Bytes(r) => r.read(buf)?,
                Inner::Transcoded(r) => r.read(buf)?,
            };
            if n == 0 {
                return Ok(0);
            }
            // NULs carry nothing in a text statement (padding, half-decoded UTF-16): drop them.
            let mut kept = 0;
            for i in 0..n {
                if buf[i] != 0 {
                    buf[kept] = buf[i];
                    kept += 1;
                }
            }
            if kept > 0 {
                return Ok(kept);
            }
        }
    }
}
