//! GraphiQL on `GET /graphql`, working offline: its scripts and styles (GraphiQL 3, React 18,
//! vendored unmodified in `api/graphiql/`) are served from `/graphql/assets/`, embedded in the
//! release binary.
//!
//! The page has a Content-Security-Policy of its own, the portal's ([`crate::portal::policy`])
//! but with `style-src 'unsafe-inline'`: GraphiQL's editor (CodeMirror) and its popovers position
//! themselves with inline `style` attributes. Scripts stay `'self'` only; the page starts
//! GraphiQL from a file (`graphiql-init.js`), not an inline script.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

#[derive(rust_embed::Embed)]
#[folder = "graphiql/"]
struct Assets;

const PAGE: &str = include_str!("../graphiql/index.html");

fn policy(req: &HttpRequest) -> String {
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; font-src 'self' data:; connect-src 'self'{}; \
         frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'",
        crate::portal::websocket_origins(req)
    )
}

/// `GET /graphql`.
pub async fn page(req: HttpRequest) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, policy(&req)))
        .content_type("text/html; charset=utf-8")
        .body(PAGE)
}

/// `GET /graphql/assets/{file}`: cached for a day (the names carry no hash).
pub async fn asset(req: HttpRequest, file: web::Path<String>) -> HttpResponse {
    let Some(asset) = Assets::get(&file) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("not found");
    };
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .insert_header((header::CONTENT_SECURITY_POLICY, policy(&req)))
        .content_type(asset.metadata.mimetype())
        .body(asset.data.into_owned())
}
