//! Black-box tests of the GraphQL API over HTTP, on every backend this run was given.

mod api {
    pub mod access_paths;
    pub mod analytics;
    pub mod authorization;
    pub mod chaos;
    pub mod exchange_rates;
    pub mod file_store;
    pub mod generated_access;
    pub mod hostile_files;
    pub mod journey;
    pub mod limits;
    pub mod live_payouts;
    pub mod mail;
    pub mod matching_flow;
    pub mod members;
    pub mod money;
    pub mod money_rules;
    pub mod overview_filters;
    pub mod payee_history;
    pub mod payee_statements;
    pub mod payout_races;
    pub mod payout_rails;
    pub mod platform;
    pub mod portal;
    pub mod principal_cache;
    pub mod profile_claims;
    pub mod reconciled_payouts;
    pub mod recoupables;
    pub mod sessions;
    pub mod split_consent;
    pub mod statements;
    pub mod unmatched_identifiers;
    pub mod webhooks;
    pub mod withholding;
}
