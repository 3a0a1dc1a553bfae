//! The file store for uploaded statements, readable by every worker machine.
//!
//! Files are stored once, keyed by content (`statements/<org>/<sha256>`), so a re-upload writes
//! nothing new. A local folder by default; any `object_store` backend by URL. Transfers are
//! streamed in chunks: a statement can be far larger than the memory a worker should use.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHUNK_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FileStoreError {
    #[error("file store: {0}")]
    Store(#[from] object_store::Error),
    #[error("file store: {0}")]
    Io(#[from] std::io::Error),
    #[error("file store: unsupported location `{0}` (use a folder path or file://)")]
    Unsupported(String),
}

#[derive(Clone)]
pub struct FileStore {
    store: Arc<dyn ObjectStore>,
    description: String,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("location", &self.description)
            .finish()
    }
}

impl FileStore {
    /// A store in a local folder, created if missing.
    ///
    /// # Errors
    /// When the folder cannot be created.
    pub fn local(dir: &Path) -> Result<Self, FileStoreError> {
        std::fs::create_dir_all(dir)?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)?;
        Ok(Self {
            store: Arc::new(store),
            description: dir.display().to_string(),
        })
    }

    /// A store from a location: a plain folder path or `file:///path`.
    ///
    /// # Errors
    /// When the location is not supported or cannot be opened.
    pub fn open(location: &str) -> Result<Self, FileStoreError> {
        if let Some(path) = location.strip_prefix("file://") {
            return Self::local(Path::new(path));
        }
        if location.contains("://") {
            return Err(FileStoreError::Unsupported(location.to_owned()));
        }
        Self::local(Path::new(location))
    }

    /// The content key under which an organisation's statement file is kept.
    #[must_use]
    pub fn statement_key(organization_id: i64, sha256_hex: &str) -> String {
        format!("statements/{organization_id}/{sha256_hex}")
    }

    /// Whether a file is stored under `key`.
    ///
    /// # Errors
    /// When the store cannot be asked.
    pub async fn exists(&self, key: &str) -> Result<bool, FileStoreError> {
        match self.store.head(&StorePath::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Copies a local file into the store under `key`, streaming it in chunks.
    ///
    /// # Errors
    /// When reading the file or writing the store fails; a failed upload is aborted.
    pub async fn put_file(&self, key: &str, source: &Path) -> Result<(), FileStoreError> {
        let upload = self.store.put_multipart(&StorePath::from(key)).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, CHUNK_BYTES);
        let mut file = tokio::fs::File::open(source).await?;
        let mut buffer = vec![0_u8; 256 * 1024];
        loop {
            let read = match file.read(&mut buffer).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) => {
                    writer.abort().await?;
                    return Err(err.into());
                }
            };
            writer.wait_for_capacity(2).await?;
            writer.write(&buffer[..read]);
        }
        writer.finish().await?;
        Ok(())
    }

    /// Copies a stored file to a local temporary file that the (synchronous, streaming)
    /// parsers can read; the file is removed when the returned handle drops.
    ///
    /// # Errors
    /// When the file is missing or the copy fails.
    pub async fn fetch_to_temp(&self, key: &str) -> Result<TempCopy, FileStoreError> {
        let result = self.store.get(&StorePath::from(key)).await?;
        let temp = tempfile::NamedTempFile::new()?;
        let path = temp.path().to_path_buf();
        let mut out = tokio::fs::File::create(&path).await?;
        let mut stream = result.into_stream();
        while let Some(chunk) = stream.next().await {
            out.write_all(&chunk?).await?;
        }
        out.flush().await?;
        Ok(TempCopy { _temp: temp, path })
    }
}

/// A local copy of a stored file, deleted on drop.
#[derive(Debug)]
pub struct TempCopy {
    _temp: tempfile::NamedTempFile,
    pub path: PathBuf,
}
