//! An S3-compatible server for the file-store tests: moto (`pip install 'moto[server]'`), at
//! `IMPRINT_TEST_S3_ENDPOINT` when set (CI starts one), else a `moto_server` started on a free
//! port for one test. Without either, [`Moto::start`] says so and the test skips, as the
//! PostgreSQL scenarios do without `IMPRINT_TEST_DATABASE_URL`.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use workers::files::{FileStoreLocation, S3Location};

/// The variable naming a running S3-compatible endpoint.
pub const ENDPOINT_ENV: &str = "IMPRINT_TEST_S3_ENDPOINT";

/// An S3-compatible endpoint for one test; a server this test started stops with it.
pub struct Moto {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    child: Option<Child>,
    http: reqwest::Client,
}

impl Moto {
    /// The configured endpoint, or a `moto_server` of this test's own; `None` (with a note on
    /// stderr) when there is neither.
    #[must_use]
    pub fn start() -> Option<Self> {
        let http = reqwest::Client::new();
        if let Some(endpoint) = std::env::var(ENDPOINT_ENV).ok().filter(|v| !v.is_empty()) {
            return Some(Self {
                endpoint,
                child: None,
                http,
            });
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let spawned = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(mut child) = spawned else {
            eprintln!(
                "skipped: no S3 endpoint ({ENDPOINT_ENV} is not set and moto_server is not installed: pip install 'moto[server]')"
            );
            return None;
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if child.try_wait().ok().flatten().is_some()
                || started.elapsed() > Duration::from_secs(30)
            {
                let _ = child.kill();
                let _ = child.wait();
                eprintln!("skipped: moto_server did not start on port {port}");
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            child: Some(child),
            http,
        })
    }

    /// Creates a bucket (S3 CreateBucket).
    ///
    /// # Panics
    /// When the server refuses.
    pub async fn create_bucket(&self, bucket: &str) {
        let response = self
            .http
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .await
            .expect("create bucket");
        assert!(
            response.status().is_success(),
            "create bucket: {response:?}"
        );
    }

    /// Every key in the bucket, asked of the server itself (S3 ListObjectsV2).
    ///
    /// # Panics
    /// When the server cannot be asked.
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let body = self
            .http
            .get(format!("{}/{bucket}?list-type=2", self.endpoint))
            .send()
            .await
            .expect("list bucket")
            .text()
            .await
            .expect("listing");
        body.split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split_once("</Key>").map(|(key, _)| key.to_owned()))
            .collect()
    }

    /// A file-store location in `bucket` under `prefix`, with moto's test credentials.
    #[must_use]
    pub fn location(&self, bucket: &str, prefix: &str) -> FileStoreLocation {
        FileStoreLocation::S3(S3Location {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            region: Some("us-east-1".into()),
            endpoint: Some(self.endpoint.clone()),
            access_key_id: Some("testing".into()),
            secret_access_key: Some("testing".into()),
            session_token: None,
        })
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A bucket name no other test or run uses.
#[must_use]
pub fn unique_bucket() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    // Bucket names take `-`, not `_`; the counter keeps two tests of one process apart.
    format!(
        "imprint-t-{}-{}",
        crate::unique_suffix().replace('_', "-"),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
