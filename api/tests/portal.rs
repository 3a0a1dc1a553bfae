//! The portal's own tests, run by `cargo test`: `npm ci` when `web/node_modules` is missing or
//! older than `web/package-lock.json`, `npm run build` (codegen, type check, bundle and its size
//! budget), then `npm test`: Vitest and the browser tests, which start this package's `imprint`
//! binary (`IMPRINT_BIN`) on a fresh SQLite database and drive Debian's Chromium through
//! playwright-core. Lives in `api` so that cargo builds the `imprint` binary for it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn npm(web: &Path, args: &[&str]) {
    let status = Command::new("npm")
        .args(args)
        .current_dir(web)
        .env("IMPRINT_BIN", env!("CARGO_BIN_EXE_imprint"))
        // The browser tests start their own server: none of the suite's database or Redis.
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("IMPRINT_DATABASE_URL")
        .env_remove("IMPRINT_REDIS_URL")
        .status()
        .unwrap_or_else(|e| panic!("npm {}: {e} (are node and npm installed?)", args.join(" ")));
    assert!(status.success(), "npm {} failed: {status}", args.join(" "));
}

#[test]
fn portal_unit_and_browser_tests() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web");
    let chromium = std::env::var_os("IMPRINT_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        chromium.exists(),
        "the portal's browser tests need Chromium at {}: `apt-get install chromium` (.ci/run installs it when missing), or set IMPRINT_CHROMIUM",
        chromium.display()
    );
    let installed = web.join("node_modules/.package-lock.json");
    if modified(&installed) < modified(&web.join("package-lock.json")) {
        npm(&web, &["ci", "--no-audit", "--no-fund"]);
    }
    npm(&web, &["run", "build"]);
    npm(&web, &["test"]);
}
