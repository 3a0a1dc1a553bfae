//! Black-box tests of the GraphQL API over HTTP, on every backend this run was given.

mod api {
    pub mod analytics;
    pub mod authorization;
    pub mod file_store;
    pub mod journey;
    pub mod limits;
    pub mod live_payouts;
    pub mod members;
    pub mod money;
    pub mod payee_statements;
    pub mod platform;
    pub mod principal_cache;
    pub mod recoupables;
    pub mod sessions;
    pub mod statements;
    pub mod webhooks;
}
