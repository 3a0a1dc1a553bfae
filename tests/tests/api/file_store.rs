//! Statements kept on an S3-compatible file store (moto, see [`tests::s3`]): the store itself
//! (multipart uploads keyed by content, downloads, errors), and statements uploaded through
//! GraphQL, stored once under their sha-256 in the bucket and parsed by the workers from there.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};
use tests::s3::{Moto, unique_bucket};
use tests::{Backend, TestApp, decode_id, fixtures};
use workers::FileStore;
use workers::ingest::sha256_file;

const LINES: usize = 30_000;

/// `size` bytes that do not compress or repeat, as a statement's would not.
fn write_file(path: &Path, size: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut left = size;
    while left > 0 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let bytes = seed.to_le_bytes();
        let n = left.min(bytes.len());
        out.write_all(&bytes[..n]).expect("write");
        left -= n;
    }
    out.flush().expect("flush");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_megabyte_file_round_trips_through_s3_keyed_by_its_sha256() {
    let Some(moto) = Moto::start() else { return };
    let bucket = unique_bucket();
    moto.create_bucket(&bucket).await;
    let store = FileStore::open(&moto.location(&bucket, "imprint/test")).expect("s3 store");
    store.check().await.expect("the bucket answers");
    assert_eq!(store.description(), format!("s3://{bucket}/imprint/test"));

    // 20 MiB and a bit: a multipart upload of three 8 MiB parts, the last one short.
    let dir = tempfile::tempdir().expect("temp dir");
    let big = dir.path().join("big.tsv");
    write_file(&big, 20 * 1024 * 1024 + 12_345);
    let sha256 = sha256_file(&big).expect("sha256");
    let key = FileStore::statement_key(7, &sha256);
    assert!(!store.exists(&key).await.expect("head"));
    store.put_file(&key, &big).await.expect("upload");
    assert!(store.exists(&key).await.expect("head"));
    assert_eq!(
        moto.keys(&bucket).await,
        vec![format!("imprint/test/statements/7/{sha256}")],
        "one object, under the prefix, named by its content"
    );

    let copy = store.fetch_to_temp(&key).await.expect("download");
    assert_eq!(
        std::fs::metadata(&copy.path).expect("copy").len(),
        20 * 1024 * 1024 + 12_345
    );
    assert_eq!(sha256_file(&copy.path).expect("sha256"), sha256);
    let temp = copy.path.clone();
    drop(copy);
    assert!(!temp.exists(), "the temporary copy is removed");

    // A small file goes up in one request, and comes back the same.
    let small = dir.path().join("small.tsv");
    write_file(&small, 1_000);
    let small_sha = sha256_file(&small).expect("sha256");
    let small_key = FileStore::statement_key(7, &small_sha);
    store.put_file(&small_key, &small).await.expect("upload");
    let copy = store.fetch_to_temp(&small_key).await.expect("download");
    assert_eq!(sha256_file(&copy.path).expect("sha256"), small_sha);
    assert_eq!(moto.keys(&bucket).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_or_file_is_an_error_not_an_empty_answer() {
    let Some(moto) = Moto::start() else { return };
    let missing = FileStore::open(&moto.location(&unique_bucket(), "")).expect("s3 store");
    let err = missing.check().await.expect_err("no such bucket");
    assert!(err.to_string().starts_with("file store:"), "{err}");

    let bucket = unique_bucket();
    moto.create_bucket(&bucket).await;
    let store = FileStore::open(&moto.location(&bucket, "")).expect("s3 store");
    store.check().await.expect("the bucket answers");
    let key = FileStore::statement_key(1, &"0".repeat(64));
    assert!(!store.exists(&key).await.expect("head"));
    store
        .fetch_to_temp(&key)
        .await
        .expect_err("nothing stored under that key");
}

async fn statement_on_s3(backend: Backend) {
    let Some(moto) = Moto::start() else { return };
    let bucket = unique_bucket();
    moto.create_bucket(&bucket).await;
    let location = moto.location(&bucket, "label");
    let Some(app) = TestApp::spawn_with_file_store(backend, location).await else {
        return;
    };
    let ready: Value = app
        .client
        .get(format!("{}/readyz", app.base_url))
        .send()
        .await
        .expect("readyz")
        .json()
        .await
        .expect("json");
    assert_eq!(ready["files"], "ok", "{ready}");

    let token = app.sign_up("keeper@files.test").await;
    let org = app.create_organization(&token, "Bucket Records").await;
    let tracks = fixtures::catalogue(50);
    let mut file = Vec::new();
    fixtures::write_distrokid(&mut file, &tracks, LINES, 10).expect("statement");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("statement.tsv");
    std::fs::write(&path, &file).expect("write");
    let sha256 = sha256_file(&path).expect("sha256");

    let upload = app
        .upload_statement(&token, &org, "distrokid.tsv", file.clone())
        .await;
    assert_eq!(
        upload["data"]["uploadStatement"]["duplicate"], false,
        "{upload}"
    );
    let id = upload["data"]["uploadStatement"]["statement"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("upload failed: {upload}"))
        .to_owned();
    let statement = app.wait_for_statement(&token, &id).await;
    assert_eq!(statement["status"], "PARSED", "{statement}");
    assert_eq!(statement["lineCount"], json!(LINES));

    // The same file again: the statement it already is, and nothing more in the bucket.
    let again = app
        .upload_statement(&token, &org, "distrokid-again.tsv", file)
        .await;
    assert_eq!(
        again["data"]["uploadStatement"]["duplicate"], true,
        "{again}"
    );
    assert_eq!(
        moto.keys(&bucket).await,
        vec![format!("label/statements/{}/{sha256}", decode_id(&org))],
        "one object, under the prefix, named by its content"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    statement_on_s3(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    statement_on_s3(Backend::Postgres).await;
}
