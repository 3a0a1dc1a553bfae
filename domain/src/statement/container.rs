//! Compressed uploads: `.gz` (one statement) and `.zip` (several), opened by their magic bytes
//! and read as streams. A plain file passes through as a single entry.
//!
//! ```no_run
//! # use domain::statement::{open_container, StatementReader, ParseOptions};
//! # fn run(file: std::fs::File) -> Result<(), domain::statement::ParseError> {
//! let mut container = open_container(file)?;
//! for index in 0..container.len() {
//!     let entry = container.entry(index)?;
//!     let reader = StatementReader::open(entry.reader, ParseOptions::default())?;
//!     for item in reader { let _ = item; }
//! }
//! # Ok(()) }
//! ```

use std::io::{Read, Seek, SeekFrom};

use flate2::read::MultiGzDecoder;

use super::ParseError;
use super::records::LimitExceeded;

/// Entries of a zip that are statements: by extension, skipping folders and macOS metadata.
const STATEMENT_EXTENSIONS: [&str; 4] = [".csv", ".tsv", ".txt", ".tab"];

/// An opened upload: a plain file, a gzip stream or a zip archive.
#[derive(Debug)]
pub struct Container<R: Read + Seek> {
    kind: Kind<R>,
    /// Most bytes one entry may yield (see [`super::Limits::max_decompressed_bytes`]).
    max_entry_bytes: u64,
}

#[derive(Debug)]
enum Kind<R: Read + Seek> {
    Plain(R),
    Gzip(R),
    Zip {
        archive: zip::ZipArchive<R>,
        /// (index in the archive, name) of the statement entries.
        entries: Vec<(usize, String)>,
    },
}

/// One statement inside a container, read as a stream.
pub struct ContainerEntry<'a> {
    /// The entry's name in the zip; empty for a plain or gzip file.
    pub name: String,
    pub reader: Box<dyn Read + 'a>,
}

impl std::fmt::Debug for ContainerEntry<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerEntry")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Opens an upload by its magic bytes: gzip (`1f 8b`), zip (`PK\x03\x04`) or plain, each
/// entry limited to [`super::Limits::DEFAULT_MAX_DECOMPRESSED_BYTES`].
///
/// # Errors
///
/// [`ParseError::Io`] when the file cannot be read, [`ParseError::Container`] when a zip is
/// corrupt or holds no CSV/TSV/TXT entry.
pub fn open_container<R: Read + Seek>(reader: R) -> Result<Container<R>, ParseError> {
    open_container_with(reader, super::Limits::DEFAULT_MAX_DECOMPRESSED_BYTES)
}

/// [`open_container`] with the most bytes an entry may yield: reading past it is an error
/// ([`ParseError::DecompressedTooLarge`] once it reaches the parser), so a small archive that
/// expands without end is refused at the limit, in bounded time and memory.
///
/// # Errors
///
/// As [`open_container`].
pub fn open_container_with<R: Read + Seek>(
    mut reader: R,
    max_entry_bytes: u64,
) -> Result<Container<R>, ParseError> {
    let mut magic = [0_u8; 4];
    let mut read = 0;
    while read < magic.len() {
        let n = reader.read(&mut magic[read..])?;
        if n == 0 {
            break;
        }
        read += n;
    }
    reader.seek(SeekFrom::Start(0))?;
    let kind = if read >= 2 && magic[..2] == [0x1f, 0x8b] {
        Kind::Gzip(reader)
    } else if read == 4 && &magic == b"PK\x03\x04" {
        let mut archive =
            zip::ZipArchive::new(reader).map_err(|e| ParseError::Container(e.to_string()))?;
        let mut entries = Vec::new();
        for index in 0..archive.len() {
            let file = archive
                .by_index_raw(index)
                .map_err(|e| ParseError::Container(e.to_string()))?;
            let name = file.name().to_owned();
            let lower = name.to_ascii_lowercase();
            let hidden = lower.starts_with("__macosx/")
                || lower.rsplit('/').next().is_some_and(|n| n.starts_with('.'));
            if file.is_file() && !hidden && STATEMENT_EXTENSIONS.iter().any(|e| lower.ends_with(e))
            {
                entries.push((index, name));
            }
        }
        if entries.is_empty() {
            return Err(ParseError::Container(
                "the zip holds no .csv, .tsv or .txt file".to_owned(),
            ));
        }
        Kind::Zip { archive, entries }
    } else {
        Kind::Plain(reader)
    };
    Ok(Container {
        kind,
        max_entry_bytes,
    })
}

/// A reader that fails once more than `limit` bytes came through it.
struct Limited<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Ask for one byte more than is left, to tell "exactly at the limit" from "past it".
        let most = usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX);
        let want = buf.len().min(most);
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(LimitExceeded::Decompressed {
                limit_bytes: self.limit,
            }
            .into());
        }
        self.left -= n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Container<R> {
    /// How many statements the container holds.
    #[must_use]
    pub fn len(&self) -> usize {
        match &self.kind {
            Kind::Plain(_) | Kind::Gzip(_) => 1,
            Kind::Zip { entries, .. } => entries.len(),
        }
    }

    /// Never true: an empty zip is refused by [`open_container`].
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry names (empty for a plain or gzip file).
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        match &self.kind {
            Kind::Plain(_) | Kind::Gzip(_) => vec![String::new()],
            Kind::Zip { entries, .. } => entries.iter().map(|(_, n)| n.clone()).collect(),
        }
    }

    /// Streams entry `index` (decompressing as it reads). Entries can be read again.
    ///
    /// # Errors
    ///
    /// [`ParseError::Container`] for an index out of range or a corrupt entry, [`ParseError::Io`].
    pub fn entry(&mut self, index: usize) -> Result<ContainerEntry<'_>, ParseError> {
        let limit = self.max_entry_bytes;
        fn limited<'a>(inner: Box<dyn Read + 'a>, limit: u64) -> Box<dyn Read + 'a> {
            Box::new(Limited {
                inner,
                left: limit,
                limit,
            })
        }
        match &mut self.kind {
            Kind::Plain(r) | Kind::Gzip(r) if index > 0 => {
                let _ = r;
                Err(ParseError::Container(format!("no entry {index}")))
            }
            Kind::Plain(r) => {
                r.seek(SeekFrom::Start(0))?;
                Ok(ContainerEntry {
                    name: String::new(),
                    reader: limited(Box::new(r), limit),
                })
            }
            Kind::Gzip(r) => {
                r.seek(SeekFrom::Start(0))?;
                Ok(ContainerEntry {
                    name: String::new(),
                    reader: limited(Box::new(MultiGzDecoder::new(r)), limit),
                })
            }
            Kind::Zip { archive, entries } => {
                let (archive_index, name) = entries
                    .get(index)
                    .cloned()
                    .ok_or_else(|| ParseError::Container(format!("no entry {index}")))?;
                let file = archive
                    .by_index(archive_index)
                    .map_err(|e| ParseError::Container(e.to_string()))?;
                Ok(ContainerEntry {
                    name,
                    reader: limited(Box::new(file), limit),
                })
            }
        }
    }
}
