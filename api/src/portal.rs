//! The portal: the web app built from `web/` (`web/dist`), served at `/` beside the API.
//!
//! - Files under `/assets/` carry a content hash in their name (Vite's build): cached for a
//!   year, `immutable`.
//! - `index.html` and the other top-level files: `no-cache` (revalidated by `ETag`).
//! - Any other GET path without a file extension is a client route: `index.html` (the SPA
//!   fallback), except the API's own paths ([`is_api_path`]), which stay "not found".
//! - Every portal response carries a strict Content-Security-Policy ([`policy`]).
//!
//! The release binary embeds `web/dist` as it was at build time (`api/build.rs` builds it);
//! a debug build reads it from the source tree; `IMPRINT_WEB_DIR` serves another folder.
//! Without a built portal `/` says how to build one.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::Digest;

/// The built portal, embedded at compile time (release) or read from `web/dist` (debug).
#[derive(rust_embed::Embed)]
#[folder = "../web/dist/"]
#[allow_missing = true]
struct Built;

/// Where the portal's files come from.
#[derive(Clone, Debug)]
pub enum Portal {
    /// `web/dist` as built with this binary.
    Embedded,
    /// A folder on disk (`IMPRINT_WEB_DIR`).
    Folder(PathBuf),
}

/// One file of the portal.
struct File {
    body: Cow<'static, [u8]>,
    content_type: String,
    etag: String,
}

/// Paths that belong to the API: never answered with the portal's `index.html`.
const API_PATHS: &[&str] = &["/graphql", "/downloads", "/healthz", "/readyz", "/metrics"];

/// Whether `path` is the API's: one of [`API_PATHS`] or under it. (The statement downloads,
/// `/payouts/{id}/statement.csv|pdf`, end in an extension, which is never a client route.)
#[must_use]
pub fn is_api_path(path: &str) -> bool {
    API_PATHS.iter().any(|api| {
        path.strip_prefix(api)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// The portal's Content-Security-Policy: everything from this origin only, no inline script,
/// no plugins, no `<base>`, never framed. `connect-src` names the WebSocket origin of the host
/// the page was served from (graphql-ws), since not every browser counts `ws:` as `'self'`.
#[must_use]
pub fn policy(req: &HttpRequest) -> String {
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         font-src 'self' data:; connect-src 'self'{}; frame-ancestors 'none'; \
         object-src 'none'; base-uri 'none'; form-action 'self'",
        websocket_origins(req)
    )
}

/// ` ws://host wss://host` for the request's host, or nothing for a host that is not a plain
/// `name[:port]` (it is written into a header).
pub(crate) fn websocket_origins(req: &HttpRequest) -> String {
    let info = req.connection_info();
    let host = info.host();
    let plain = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if plain {
        format!(" ws://{host} wss://{host}")
    } else {
        String::new()
    }
}

impl Portal {
    fn file(&self, path: &str) -> Option<File> {
        match self {
            Self::Embedded => {
                let file = Built::get(path)?;
                Some(File {
                    content_type: file.metadata.mimetype().to_owned(),
                    etag: hex::encode(file.metadata.sha256_hash()),
                    body: file.data,
                })
            }
            Self::Folder(root) => {
                let full = inside(root, path)?;
                let body = std::fs::read(full).ok()?;
                Some(File {
                    content_type: mime_guess::from_path(path)
                        .first_or_octet_stream()
                        .to_string(),
                    etag: hex::encode(sha2::Sha256::digest(&body)),
                    body: Cow::Owned(body),
                })
            }
        }
    }
}

/// `relative` under `root`, or `None` when it would leave it or names a hidden file.
fn inside(root: &Path, relative: &str) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    for segment in relative.split('/') {
        if segment.is_empty() || segment.starts_with('.') || segment.contains('\\') {
            return None;
        }
        path.push(segment);
    }
    path.is_file().then_some(path)
}

/// The default service: the portal's files, its client routes, and "not found" for the rest.
pub async fn serve(req: HttpRequest, portal: web::Data<Portal>) -> HttpResponse {
    let path = req.path();
    if !(req.method() == Method::GET || req.method() == Method::HEAD) || is_api_path(path) {
        return not_found();
    }
    let relative = path.trim_start_matches('/');
    let portal = Portal::clone(&portal);
    let lookup = relative.to_owned();
    let found = web::block(move || {
        let file = if lookup.is_empty() {
            None
        } else {
            portal.file(&lookup)
        };
        file.map(|f| (f, false)).or_else(|| {
            // A client route (no extension): the app's index.html.
            let route = !lookup.rsplit('/').next().unwrap_or_default().contains('.');
            route
                .then(|| portal.file("index.html"))
                .flatten()
                .map(|f| (f, true))
        })
    })
    .await
    .ok()
    .flatten();
    match found {
        Some((file, is_index)) => {
            let immutable = !is_index && relative.starts_with("assets/");
            respond(&req, file, immutable)
        }
        None if relative.is_empty() || !relative.contains('.') => not_built(&req),
        None => not_found(),
    }
}

fn respond(req: &HttpRequest, file: File, immutable: bool) -> HttpResponse {
    let etag = format!("\"{}\"", file.etag);
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::ETAG, etag))
        .insert_header((header::CONTENT_SECURITY_POLICY, policy(req)));
    if unchanged {
        return response.finish();
    }
    response
        .content_type(file.content_type)
        .body(file.body.into_owned())
}

fn not_found() -> HttpResponse {
    HttpResponse::build(StatusCode::NOT_FOUND)
        .content_type("text/plain; charset=utf-8")
        .body("not found")
}

/// `/` when no portal was built: how to build one. No script, no inline style.
fn not_built(req: &HttpRequest) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, policy(req)))
        .content_type("text/html; charset=utf-8")
        .body(NOT_BUILT)
}

const NOT_BUILT: &str = "<!doctype html>
<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Imprint</title></head>
<body>
<h1>Imprint</h1>
<p>The API is running: <a href=\"/graphql\">GraphiQL</a> at <code>/graphql</code>.</p>
<p>The portal (the web app in <code>web/</code>) was not built into this binary. Build it with
Node.js and npm installed: <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then
rebuild Imprint (<code>cargo run --release --bin imprint -- serve</code> embeds it), or serve
the built folder as it is with <code>IMPRINT_WEB_DIR=web/dist</code>.</p>
</body></html>
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_are_never_client_routes() {
        for path in [
            "/graphql",
            "/graphql/ws",
            "/graphql/assets/x.js",
            "/downloads",
            "/downloads/x",
            "/healthz",
            "/readyz",
            "/metrics",
        ] {
            assert!(is_api_path(path), "{path}");
        }
        for path in [
            "/",
            "/graphqlx",
            "/roster",
            "/metrics-board",
            "/money/payouts",
        ] {
            assert!(!is_api_path(path), "{path}");
        }
    }

    #[test]
    fn a_folder_path_cannot_leave_the_folder() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("index.html"), "x").expect("write");
        assert!(inside(dir.path(), "index.html").is_some());
        assert!(inside(dir.path(), "../index.html").is_none());
        assert!(inside(dir.path(), "a//index.html").is_none());
        assert!(inside(dir.path(), ".env").is_none());
        assert!(inside(dir.path(), "missing.js").is_none());
    }
}
