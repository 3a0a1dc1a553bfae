//! Builds the portal (`web/`, a Vite app) so `imprint serve` can embed `web/dist`.
//!
//! - No `web/package.json`: nothing to build; the binary serves a page saying how to build it.
//! - `IMPRINT_SKIP_WEB_BUILD=1`: skipped (a Rust-only build, or `web/dist` built by hand).
//! - No `npm` on the path: a warning; the binary embeds whatever `web/dist` holds.
//! - Otherwise `npm ci` when `web/node_modules` is missing or older than the lock file, and
//!   `npm run build` when a source of `web/` is newer than `web/dist/index.html`.
//!
//! A failed npm step is a warning, not a failed Rust build: the API works without the portal.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

/// What `web/` holds besides its sources: never watched, never compared.
const NOT_SOURCES: &[&str] = &["node_modules", "dist", "screenshots"];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=IMPRINT_SKIP_WEB_BUILD");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let web = manifest.join("../web");
    if !web.join("package.json").is_file() {
        return;
    }
    let sources = sources(&web);
    for source in &sources {
        println!("cargo:rerun-if-changed={}", source.display());
    }
    let index = web.join("dist/index.html");
    if std::env::var_os("IMPRINT_SKIP_WEB_BUILD").is_some_and(|v| !v.is_empty() && v != "0") {
        stamp(&index);
        return;
    }
    if Command::new("npm")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        println!(
            "cargo:warning=npm not found: the portal (web/) is not built; install Node.js and npm, or build it by hand (`cd web && npm ci && npm run build`)"
        );
        stamp(&index);
        return;
    }
    let lock = web.join("package-lock.json");
    let installed = web.join("node_modules/.package-lock.json");
    if newest(std::slice::from_ref(&lock)) > modified(&installed)
        || !web.join("node_modules").is_dir()
    {
        let install = if lock.is_file() { "ci" } else { "install" };
        if !npm(&web, &[install]) {
            stamp(&index);
            return;
        }
    }
    if newest(&sources) > modified(&index) {
        npm(&web, &["run", "build"]);
    }
    stamp(&index);
}

/// Runs npm in `web/`, its output on this script's stderr (cargo shows it on failure).
fn npm(web: &Path, args: &[&str]) -> bool {
    let ok = Command::new("npm")
        .args(args)
        .current_dir(web)
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .is_ok_and(|status| status.success());
    if !ok {
        println!(
            "cargo:warning=`npm {}` failed in web/: the portal is not (re)built",
            args.join(" ")
        );
    }
    ok
}

/// The build's identity in the crate's environment, so the crate (and the portal it embeds in
/// a release build) is compiled again when `web/dist` is rebuilt, by this script or by hand.
fn stamp(index: &Path) {
    if index.is_file() {
        println!("cargo:rerun-if-changed={}", index.display());
    }
    let when = modified(index)
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis());
    println!("cargo:rustc-env=IMPRINT_PORTAL_BUILT={when}");
}

/// The top-level files of `web/` and its `src/` and `public/` folders.
fn sources(web: &Path) -> Vec<PathBuf> {
    let mut sources = Vec::new();
    if let Ok(entries) = std::fs::read_dir(web) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let path = entry.path();
            if NOT_SOURCES.iter().any(|n| name == *n) {
                continue;
            }
            if path.is_file() || name == "src" || name == "public" {
                sources.push(path);
            }
        }
    }
    sources.sort();
    sources
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time under `paths` (folders walked whole).
fn newest(paths: &[PathBuf]) -> Option<SystemTime> {
    let mut newest = None;
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                stack.extend(entries.flatten().map(|e| e.path()));
            }
        } else if let Some(time) = modified(&path) {
            newest = newest.max(Some(time));
        }
    }
    newest
}
