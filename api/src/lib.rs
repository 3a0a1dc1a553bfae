//! Imprint's API: the GraphQL schema on actix-web, authentication, and the `imprint` binary.
//!
//! # Layout
//! - [`config`]: settings from the environment; a bad value fails at start, naming the variable.
//! - [`app`]: connects the database, queue, event bus and file store; runs the server.
//! - [`http`]: routes (`/graphql`, `/graphql/ws`, `/healthz`, `/readyz`, `/metrics`).
//! - [`graphql`]: the schema, one module per area; [`graphql::access`] is the authorization rule.
//! - [`auth`]: password hashes, tokens, API keys, the calling principal.
//! - [`demo`]: the demo label and collective that `imprint demo` seeds.
//! - [`telemetry`]: logs and metrics.

pub mod app;
pub mod auth;
pub mod config;
pub mod demo;
pub mod downloads;
pub mod graphiql;
pub mod graphql;
pub mod http;
pub mod portal;
pub mod responses;
pub mod state;
pub mod telemetry;
