//! Physical lines to records, with their 1-based line numbers.
//!
//! Written here rather than taken from the `csv` crate because line numbers must be exact
//! (the crate's record positions lag by one after a CRLF terminator). RFC 4180 quoting: a field
//! that starts with `"` runs to its closing quote, `""` inside is a quote, and a quoted field may
//! span lines. A quote anywhere else is an ordinary character (`12" vinyl`). CR, LF and CRLF
//! all end a line.

use std::io::{self, BufRead};

use super::Limits;

/// Longest run of physical lines one quoted record may span before it is cut off.
const MAX_LINES_PER_RECORD: usize = 1000;

/// A limit a hostile file ran into: carried inside an [`io::Error`] so that it travels through
/// the decoders and buffers between the file and the record reader, and turned into a
/// [`super::ParseError`] at the top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LimitExceeded {
    #[error("line {line_number} is longer than {limit_bytes} bytes")]
    Line {
        line_number: u64,
        limit_bytes: usize,
    },
    #[error("line {line_number} has a cell longer than {limit_bytes} bytes")]
    Cell {
        line_number: u64,
        limit_bytes: usize,
    },
    #[error("the file decompresses to more than {limit_bytes} bytes")]
    Decompressed { limit_bytes: u64 },
}

impl LimitExceeded {
    /// The limit inside a read error, if that is what the error is.
    pub(crate) fn find(error: &io::Error) -> Option<Self> {
        error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<Self>())
            .copied()
    }
}

impl From<LimitExceeded> for io::Error {
    fn from(limit: LimitExceeded) -> Self {
        Self::other(limit)
    }
}

/// A record: its first physical line number and its cells (raw bytes).
#[derive(Debug)]
pub(crate) struct Record {
    pub line_number: u64,
    pub cells: Vec<Vec<u8>>,
    /// A quoted cell was still open at the end of the file (or after too many lines).
    pub unterminated: bool,
}

#[derive(Debug)]
pub(crate) struct Records<R: BufRead> {
    reader: R,
    delimiter: u8,
    quoting: bool,
    line_number: u64,
    buf: Vec<u8>,
    limits: Limits,
}

impl<R: BufRead> Records<R> {
    pub(crate) fn new(reader: R, delimiter: u8, quoting: bool, limits: Limits) -> Self {
        Self {
            reader,
            delimiter,
            quoting,
            line_number: 0,
            buf: Vec::new(),
            limits,
        }
    }

    /// Appends one physical line, without its terminator, to `buf`; `false` at the end.
    ///
    /// One buffer serves every record, so reading a line allocates nothing once the buffer
    /// has grown to the longest line. The buffer never grows past the line limit (a record
    /// spanning lines counts whole): a file without line breaks is refused at the limit
    /// rather than read into memory.
    fn physical_line(&mut self) -> io::Result<bool> {
        let start = self.buf.len();
        // The terminator (`\r\n`) is not counted against the limit.
        let most = self.limits.max_line_bytes.saturating_add(2);
        let mut read_any = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            read_any = true;
            let (take, done) = match available.iter().position(|b| *b == b'\n') {
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            };
            if self.buf.len() + take > most {
                return Err(LimitExceeded::Line {
                    line_number: self.line_number + 1,
                    limit_bytes: self.limits.max_line_bytes,
                }
                .into());
            }
            self.buf.extend_from_slice(&available[..take]);
            self.reader.consume(take);
            if done {
                break;
            }
        }
        if !read_any {
            return Ok(false);
        }
        self.line_number += 1;
        while self.buf.len() > start && matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        Ok(true)
    }

    /// The next non-blank record, or `None` at the end of the stream.
    ///
    /// # Errors
    ///
    /// Read errors of the underlying stream.
    pub(crate) fn next_record(&mut self) -> io::Result<Option<Record>> {
        loop {
            self.buf.clear();
            if !self.physical_line()? {
                return Ok(None);
            }
            let line_number = self.line_number;
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let mut spanned = 1;
            loop {
                let (cells, open) = split_record(&self.buf, self.delimiter, self.quoting);
                if cells.iter().any(|c| c.len() > self.limits.max_cell_bytes) {
                    return Err(LimitExceeded::Cell {
                        line_number,
                        limit_bytes: self.limits.max_cell_bytes,
                    }
                    .into());
                }
                if !open {
                    return Ok(Some(Record {
                        line_number,
                        cells,
                        unterminated: false,
                    }));
                }
                if spanned >= MAX_LINES_PER_RECORD {
                    return Ok(Some(Record {
                        line_number,
                        cells,
                        unterminated: true,
                    }));
                }
                self.buf.push(b'\n');
                if self.physical_line()? {
                    spanned += 1;
                } else {
                    self.buf.pop();
                    return Ok(Some(Record {
                        line_number,
                        cells,
                        unterminated: true,
                    }));
                }
            }
        }
    }
}

/// Splits one record; the flag says a quoted cell is still open at the end.
///
/// An unquoted cell (nearly all of them) is copied once, at its exact size; a quoted one is
/// built byte by byte, since `""` inside shrinks it.
pub(crate) fn split_record(text: &[u8], delimiter: u8, quoting: bool) -> (Vec<Vec<u8>>, bool) {
    let mut cells = Vec::with_capacity(text.iter().filter(|b| **b == delimiter).count() + 1);
    let mut i = 0;
    loop {
        if quoting && text.get(i) == Some(&b'"') {
            // A quoted cell: to its closing quote, then (unquoted) to the delimiter.
            let mut cell = Vec::new();
            let mut in_quotes = true;
            i += 1;
            while i < text.len() {
                let b = text[i];
                if in_quotes {
                    if b == b'"' {
                        if text.get(i + 1) == Some(&b'"') {
                            cell.push(b'"');
                            i += 1;
                        } else {
                            in_quotes = false;
                        }
                    } else {
                        cell.push(b);
                    }
                } else if b == delimiter {
                    break;
                } else {
                    cell.push(b);
                }
                i += 1;
            }
            cells.push(cell);
            if in_quotes {
                return (cells, true);
            }
        } else {
            let end = text[i..]
                .iter()
                .position(|b| *b == delimiter)
                .map_or(text.len(), |p| i + p);
            cells.push(text[i..end].to_vec());
            i = end;
        }
        if i >= text.len() {
            return (cells, false);
        }
        // At a delimiter: the next cell starts after it (an empty last cell when it ends the text).
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The splitter as first written, byte by byte.
    fn reference(text: &[u8], delimiter: u8, quoting: bool) -> (Vec<Vec<u8>>, bool) {
        let mut cells = Vec::new();
        let mut cell = Vec::new();
        let mut in_quotes = false;
        let mut at_start = true;
        let mut i = 0;
        while i < text.len() {
            let b = text[i];
            if in_quotes {
                if b == b'"' {
                    if text.get(i + 1) == Some(&b'"') {
                        cell.push(b'"');
                        i += 1;
                    } else {
                        in_quotes = false;
                    }
                } else {
                    cell.push(b);
                }
            } else if b == delimiter {
                cells.push(std::mem::take(&mut cell));
                at_start = true;
                i += 1;
                continue;
            } else if quoting && b == b'"' && at_start {
                in_quotes = true;
            } else {
                cell.push(b);
            }
            at_start = false;
            i += 1;
        }
        cells.push(cell);
        (cells, in_quotes)
    }

    #[test]
    fn splits_as_the_byte_by_byte_reader() {
        let cases: [&[u8]; 16] = [
            b"",
            b",",
            b"a,",
            b",,a",
            b"\"a\"b\"c\",d",
            b"\"\",\"\"\"\"",
            b"\"open,cell",
            b"\"closed\"",
            b"x,\"",
            b"12\" vinyl,\"a,b\"",
            b"\"say \"\"hi\"\"\",x\ny",
            b"a\tb\t\"c\td\"",
            b" \"a\",b",
            b"\"a\"\"",
            b"\"\"\"",
            b"\"a\nb\",\"",
        ];
        for text in cases {
            for (delimiter, quoting) in [(b',', true), (b'\t', true), (b'\t', false)] {
                assert_eq!(
                    split_record(text, delimiter, quoting),
                    reference(text, delimiter, quoting),
                    "{:?}",
                    String::from_utf8_lossy(text)
                );
            }
        }
    }

    #[test]
    fn a_quoted_cell_open_at_the_end_of_the_file() {
        let data = b"a,\"b\r\n\r\nc";
        let mut r = Records::new(&data[..], b',', true, Limits::default());
        let rec = r.next_record().expect("read").expect("record");
        assert_eq!(rec.line_number, 1);
        assert!(rec.unterminated);
        assert_eq!(rec.cells, vec![b"a".to_vec(), b"b\n\nc".to_vec()]);
        assert!(r.next_record().expect("read").is_none());
    }

    #[test]
    fn quotes_and_lines() {
        let data = b"h1,h2\r\n\"a,1\",\"say \"\"hi\"\"\"\r\n\r\nc,\"multi\nline\"\n12\" vinyl,x";
        let mut r = Records::new(&data[..], b',', true, Limits::default());
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().expect("read") {
            out.push((rec.line_number, rec.cells));
        }
        assert_eq!(out[0], (1, vec![b"h1".to_vec(), b"h2".to_vec()]));
        assert_eq!(out[1], (2, vec![b"a,1".to_vec(), b"say \"hi\"".to_vec()]));
        assert_eq!(out[2], (4, vec![b"c".to_vec(), b"multi\nline".to_vec()]));
        assert_eq!(out[3], (6, vec![b"12\" vinyl".to_vec(), b"x".to_vec()]));
    }
}
