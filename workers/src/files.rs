//! The file store for uploaded statements, readable by every worker machine.
//!
//! Files are stored once, keyed by content (`statements/<org>/<sha256>`), so a re-upload writes
//! nothing new. A local folder by default (a shared volume when several machines run workers),
//! or an S3-compatible bucket (AWS S3, MinIO, Ceph, R2…) by configuration. Transfers are
//! streamed: a statement can be far larger than the memory a worker should use, so uploads go
//! in 8 MiB parts (one plain PUT for a smaller file) and downloads are written to disk as they
//! arrive.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as StorePath;
use object_store::prefix::PrefixStore;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Size of one part of a multipart upload; a file no larger goes up in a single PUT.
const CHUNK_BYTES: usize = 8 * 1024 * 1024;
/// Parts of one upload in flight at once (each holds a chunk in memory).
const PARTS_IN_FLIGHT: usize = 2;
/// The prefix a readiness check lists: nothing is ever stored there, so the answer is small.
const PROBE_PREFIX: &str = "readiness-probe";

/// What every temporary file of this process is named with: `imprint-<pid>-…`, so that one a
/// killed process left behind can be told from one a live process is using.
#[must_use]
pub fn temp_prefix(kind: &str) -> String {
    format!("imprint-{}-{kind}-", std::process::id())
}

/// A named temporary file in `TMPDIR`, named by [`temp_prefix`] and removed when dropped.
///
/// # Errors
/// When it cannot be created.
pub fn named_temp(kind: &str) -> std::io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(&temp_prefix(kind))
        .tempfile()
}

/// Removes from `dir` the `imprint-<pid>-…` files of processes that no longer run (an API
/// killed during an upload, a worker killed while parsing a downloaded statement), and returns
/// how many. Files of live processes, this one included, are kept. Where a process cannot be
/// looked up (no `/proc`), nothing is removed.
pub fn clean_stale_temp_files(dir: &Path) -> usize {
    let proc_dir = Path::new("/proc");
    if !proc_dir.join("self").exists() {
        return 0;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("imprint-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file
            && pid != std::process::id()
            && !proc_dir.join(pid.to_string()).exists()
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(removed, dir = %dir.display(), "temporary files of stopped processes removed");
    }
    removed
}

/// A failure of the file store.
#[derive(Debug, thiserror::Error)]
pub enum FileStoreError {
    /// The store answered with an error (or could not be reached).
    #[error("file store: {0}")]
    Store(#[from] object_store::Error),
    /// A local file could not be read or written.
    #[error("file store: {0}")]
    Io(#[from] std::io::Error),
    /// The location is not one this build can open.
    #[error(
        "file store: unsupported location `{0}` (use a folder path, file:///path or s3://bucket/prefix)"
    )]
    Unsupported(String),
}

/// Where statement files are kept, as configured (`IMPRINT_FILE_STORE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileStoreLocation {
    /// A folder on this machine, or on a volume every worker machine mounts.
    Local(PathBuf),
    /// A bucket of an S3-compatible object store.
    S3(S3Location),
}

/// An S3-compatible bucket and how to reach it. Settings left `None` fall back to the
/// standard `AWS_*` environment (session token, web identity, container or instance
/// credentials), then to the defaults of AWS itself.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket name.
    pub bucket: String,
    /// A folder inside the bucket under which every key is kept (`""` for the bucket root).
    pub prefix: String,
    /// The region (`us-east-1` when unset).
    pub region: Option<String>,
    /// A custom endpoint (`http://127.0.0.1:9000` for MinIO); unset means AWS itself.
    pub endpoint: Option<String>,
    /// Static credentials: the access key id…
    pub access_key_id: Option<String>,
    /// …and its secret.
    pub secret_access_key: Option<String>,
    /// A session token that goes with temporary static credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("S3Location")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &hidden(&self.secret_access_key))
            .field("session_token", &hidden(&self.session_token))
            .finish()
    }
}

impl FileStoreLocation {
    /// Reads a location: a folder path, `file:///path`, or `s3://bucket[/prefix]` (the rest of
    /// an S3 location comes from other settings). The error says what is wrong with the value.
    ///
    /// # Errors
    /// An unknown scheme, an empty path, or an S3 URL without a valid bucket or with a prefix
    /// that is not a clean key path.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if let Some(path) = value.strip_prefix("file://") {
            if path.is_empty() {
                return Err("`file://` names no folder (use file:///path/to/folder)".into());
            }
            return Ok(Self::Local(PathBuf::from(path)));
        }
        if let Some(rest) = value.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!(
                    "`{value}` names no bucket (use s3://bucket or s3://bucket/prefix)"
                ));
            }
            check_bucket_name(bucket).map_err(|why| format!("`{bucket}` {why}"))?;
            let prefix = prefix.trim_matches('/');
            if !prefix.is_empty() {
                StorePath::parse(prefix)
                    .map_err(|e| format!("the prefix `{prefix}` is not a clean key path: {e}"))?;
            }
            return Ok(Self::S3(S3Location {
                bucket: bucket.to_owned(),
                prefix: prefix.to_owned(),
                ..S3Location::default()
            }));
        }
        if let Some((scheme, _)) = value.split_once("://") {
            return Err(format!(
                "unknown scheme `{scheme}://` (use a folder path, file:///path or s3://bucket/prefix)"
            ));
        }
        if value.is_empty() {
            return Err("empty (use a folder path, file:///path or s3://bucket/prefix)".into());
        }
        Ok(Self::Local(PathBuf::from(value)))
    }

    /// The location as a person would write it, without credentials.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Local(path) => path.display().to_string(),
            Self::S3(s3) if s3.prefix.is_empty() => format!("s3://{}", s3.bucket),
            Self::S3(s3) => format!("s3://{}/{}", s3.bucket, s3.prefix),
        }
    }
}

/// Checks an S3 endpoint URL (`http://host:port` or `https://host`); the error says why not.
///
/// # Errors
/// Anything but an http(s) URL with a host.
pub fn check_endpoint(endpoint: &str) -> Result<(), String> {
    let rest = endpoint
        .strip_prefix("https://")
        .or_else(|| endpoint.strip_prefix("http://"))
        .ok_or_else(|| format!("`{endpoint}` is not an http:// or https:// URL"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') || host.contains(char::is_whitespace) {
        return Err(format!("`{endpoint}` names no host"));
    }
    Ok(())
}

/// S3's bucket naming rules, which MinIO and the others follow too.
fn check_bucket_name(bucket: &str) -> Result<(), &'static str> {
    if !(3..=63).contains(&bucket.len()) {
        return Err("is not a bucket name: it must be 3 to 63 characters");
    }
    if !bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        return Err("is not a bucket name: use lowercase letters, digits, `.` and `-`");
    }
    let edges_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !edges_ok(bucket.chars().next()) || !edges_ok(bucket.chars().last()) {
        return Err("is not a bucket name: it must begin and end with a letter or digit");
    }
    Ok(())
}

/// The statement file store: local or S3-compatible, behind one interface.
#[derive(Clone)]
pub struct FileStore {
    store: Arc<dyn ObjectStore>,
    /// The folder of a local store, whose files the parser can read in place.
    local_root: Option<PathBuf>,
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
            local_root: Some(std::fs::canonicalize(dir)?),
            description: dir.display().to_string(),
        })
    }

    /// Opens a configured location. Nothing is sent over the network yet; [`FileStore::check`]
    /// tells whether the store answers.
    ///
    /// # Errors
    /// When a local folder cannot be created, or the S3 client cannot be built from the
    /// settings.
    pub fn open(location: &FileStoreLocation) -> Result<Self, FileStoreError> {
        // Every process that serves uploads or parses statements opens its store at start:
        // the moment to remove what killed ones left in `TMPDIR`.
        clean_stale_temp_files(&std::env::temp_dir());
        match location {
            FileStoreLocation::Local(dir) => Self::local(dir),
            FileStoreLocation::S3(s3) => Self::s3(s3),
        }
    }

    /// A store in an S3-compatible bucket.
    ///
    /// # Errors
    /// When the client cannot be built from the settings.
    pub fn s3(location: &S3Location) -> Result<Self, FileStoreError> {
        // object_store's HTTP client is reqwest with rustls and no crypto of its own: use ring,
        // the provider the rest of the process (sqlx, webhooks) already runs on. Installing it
        // a second time, or after another part of the process did, changes nothing.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // A statement can take minutes to download: no limit on a whole request, but a stalled
        // connection is noticed (a broken download resumes from where it stopped).
        let options = ClientOptions::new()
            .with_timeout_disabled()
            .with_read_timeout(Duration::from_secs(60))
            .with_connect_timeout(Duration::from_secs(10));
        // The standard AWS_* variables first (web identity, container credentials…), then the
        // settings Imprint was given, which win.
        let mut builder = AmazonS3Builder::from_env()
            .with_client_options(options)
            .with_bucket_name(&location.bucket);
        if let Some(region) = &location.region {
            builder = builder.with_region(region);
        }
        if let Some(endpoint) = &location.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_config(AmazonS3ConfigKey::S3Endpoint, endpoint)
                // Plain HTTP only where the configured endpoint asks for it (a local MinIO).
                .with_allow_http(endpoint.starts_with("http://"))
                // Buckets as a path (`endpoint/bucket/key`), which every S3 clone serves.
                .with_virtual_hosted_style_request(false);
        }
        if let (Some(key), Some(secret)) = (&location.access_key_id, &location.secret_access_key) {
            builder = builder
                .with_access_key_id(key)
                .with_secret_access_key(secret);
            if let Some(token) = &location.session_token {
                builder = builder.with_token(token);
            }
        }
        let bucket = builder.build()?;
        let store: Arc<dyn ObjectStore> = if location.prefix.is_empty() {
            Arc::new(bucket)
        } else {
            Arc::new(PrefixStore::new(bucket, location.prefix.as_str()))
        };
        Ok(Self {
            store,
            local_root: None,
            description: FileStoreLocation::S3(location.clone()).describe(),
        })
    }

    /// Where the files are, for messages (never with credentials).
    #[must_use]
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Asks the store whether it can be used: the folder exists, or the bucket answers a
    /// listing with these credentials. For readiness checks and the start.
    ///
    /// # Errors
    /// What the store answered, or why it could not be reached.
    pub async fn check(&self) -> Result<(), FileStoreError> {
        if let Some(root) = &self.local_root {
            let meta = tokio::fs::metadata(root).await?;
            if !meta.is_dir() {
                return Err(
                    std::io::Error::other(format!("{} is not a folder", root.display())).into(),
                );
            }
            return Ok(());
        }
        match self
            .store
            .list(Some(&StorePath::from(PROBE_PREFIX)))
            .next()
            .await
        {
            None | Some(Ok(_)) => Ok(()),
            Some(Err(err)) => Err(err.into()),
        }
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

    /// Copies a local file into the store under `key`: a file of up to 8 MiB in one request,
    /// a larger one as a multipart upload of 8 MiB parts, two in flight, so memory stays
    /// bounded whatever the size. A failed multipart upload is aborted.
    ///
    /// # Errors
    /// When reading the file or writing the store fails.
    pub async fn put_file(&self, key: &str, source: &Path) -> Result<(), FileStoreError> {
        let location = StorePath::from(key);
        let mut file = tokio::fs::File::open(source).await?;
        let size = file.metadata().await?.len();
        if size <= CHUNK_BYTES as u64 {
            let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(CHUNK_BYTES));
            file.read_to_end(&mut bytes).await?;
            self.store.put(&location, PutPayload::from(bytes)).await?;
            return Ok(());
        }
        let upload = self.store.put_multipart(&location).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, CHUNK_BYTES);
        let copied = copy_parts(&mut file, &mut writer).await;
        match copied {
            Ok(()) => {
                writer.finish().await?;
                Ok(())
            }
            Err(err) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(key, error = %abort, "failed upload not aborted");
                }
                Err(err)
            }
        }
    }

    /// A local file the (synchronous, streaming) parsers can read: for a local store the
    /// stored file itself; for a remote one a temporary copy, downloaded as a stream (in
    /// `TMPDIR`) and removed when the returned handle drops.
    ///
    /// # Errors
    /// When the file is missing or the download fails.
    pub async fn fetch_to_temp(&self, key: &str) -> Result<TempCopy, FileStoreError> {
        let location = StorePath::from(key);
        if let Some(root) = &self.local_root {
            let path = root.join(location.as_ref());
            if tokio::fs::metadata(&path).await.is_err() {
                // The store's own error, with its message, for a missing file.
                self.store.head(&location).await?;
            }
            return Ok(TempCopy { _temp: None, path });
        }
        let result = self.store.get(&location).await?;
        let temp = named_temp("statement")?;
        let path = temp.path().to_path_buf();
        let mut out =
            tokio::io::BufWriter::with_capacity(256 * 1024, tokio::fs::File::create(&path).await?);
        let mut stream = result.into_stream();
        while let Some(chunk) = stream.next().await {
            out.write_all(&chunk?).await?;
        }
        out.flush().await?;
        Ok(TempCopy {
            _temp: Some(temp),
            path,
        })
    }
}

/// Feeds a file into a multipart upload, waiting whenever the parts in flight are at the limit.
async fn copy_parts(
    file: &mut tokio::fs::File,
    writer: &mut WriteMultipart,
) -> Result<(), FileStoreError> {
    let mut buffer = vec![0_u8; 256 * 1024];
    loop {
        let read = file.read(&mut buffer).await?;
        if read == 0 {
            return Ok(());
        }
        writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        writer.write(&buffer[..read]);
    }
}

/// A local file holding a stored file's content; a temporary copy is deleted on drop.
#[derive(Debug)]
pub struct TempCopy {
    _temp: Option<tempfile::NamedTempFile>,
    /// Where to read it.
    pub path: PathBuf,
}

#[cfg(test)]
mod tests {
    #[test]
    fn temp_files_of_stopped_processes_are_removed_and_live_ones_kept() {
        if !std::path::Path::new("/proc/self").exists() {
            return;
        }
        let dir = tempfile::tempdir().expect("dir");
        // A pid above the kernel's maximum (4194304) never runs.
        let stale = dir.path().join("imprint-4999999-upload-abc");
        let mine = dir
            .path()
            .join(format!("{}x", super::temp_prefix("upload")));
        let live = dir.path().join("imprint-1-statement-x");
        let other = dir.path().join("unrelated-4999999");
        for path in [&stale, &mine, &live, &other] {
            std::fs::write(path, b"data").expect("write");
        }
        assert_eq!(super::clean_stale_temp_files(dir.path()), 1);
        assert!(!stale.exists());
        assert!(mine.exists() && live.exists() && other.exists());
        let named = super::named_temp("upload").expect("temp");
        let name = named
            .path()
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        assert!(
            name.starts_with(&format!("imprint-{}-upload-", std::process::id())),
            "{name}"
        );
    }

    use super::*;

    #[test]
    fn locations_are_read_from_their_urls() {
        assert_eq!(
            FileStoreLocation::parse("/var/imprint/files"),
            Ok(FileStoreLocation::Local("/var/imprint/files".into()))
        );
        assert_eq!(
            FileStoreLocation::parse("file:///srv/files"),
            Ok(FileStoreLocation::Local("/srv/files".into()))
        );
        let Ok(FileStoreLocation::S3(s3)) = FileStoreLocation::parse("s3://label-files/imprint/")
        else {
            panic!("an s3 location");
        };
        assert_eq!(
            (s3.bucket.as_str(), s3.prefix.as_str()),
            ("label-files", "imprint")
        );
        let Ok(FileStoreLocation::S3(s3)) = FileStoreLocation::parse("s3://label-files") else {
            panic!("an s3 location");
        };
        assert_eq!(s3.prefix, "");
        assert_eq!(
            FileStoreLocation::S3(s3).describe(),
            "s3://label-files".to_owned()
        );
    }

    #[test]
    fn bad_locations_say_what_is_wrong() {
        let err = |v: &str| FileStoreLocation::parse(v).expect_err(v);
        assert!(err("s3://").contains("names no bucket"));
        assert!(err("s3:///prefix").contains("names no bucket"));
        assert!(err("s3://Bad_Bucket").contains("is not a bucket name"));
        assert!(err("s3://ab").contains("3 to 63"));
        assert!(err("s3://bucket/a//b").contains("not a clean key path"));
        assert!(err("gs://bucket").contains("unknown scheme `gs://`"));
        assert!(err("file://").contains("names no folder"));
        assert!(err("  ").contains("empty"));
    }

    #[test]
    fn endpoints_must_be_http_urls_with_a_host() {
        assert!(check_endpoint("http://127.0.0.1:9000").is_ok());
        assert!(check_endpoint("https://s3.eu-west-1.amazonaws.com").is_ok());
        assert!(check_endpoint("127.0.0.1:9000").is_err());
        assert!(check_endpoint("http://").is_err());
        assert!(check_endpoint("https://:9000").is_err());
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let location = S3Location {
            bucket: "b".into(),
            access_key_id: Some("AKIDEXAMPLE".into()),
            secret_access_key: Some("wJalrXUtnFEMI".into()),
            session_token: Some("token-value".into()),
            ..S3Location::default()
        };
        let shown = format!("{location:?}");
        assert!(!shown.contains("wJalrXUtnFEMI") && !shown.contains("token-value"));
    }
}
