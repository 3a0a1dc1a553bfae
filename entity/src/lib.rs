//! Imprint's sea-orm entities, one module per table, and the database connection.
//!
//! Conventions shared by every table (see `migration`): `id` is an `i64` auto-increment key,
//! every table but `users` and `auth_tokens` carries `organization_id`, money is `*_nanos: i64`
//! beside a `currency` string, shares are `*_ppb: i64`, enum-like columns are plain `String`s
//! whose valid values belong to `domain`, timestamps are `DateTimeUtc` and dates `Date`
//! (`chrono::NaiveDate`).

pub mod db;
pub mod prelude;

pub mod agreement;
pub mod analytics_monthly;
pub mod api_key;
pub mod artist;
pub mod artist_profile;
pub mod audit_log;
pub mod auth_token;
pub mod exchange_rate;
pub mod fx_setting;
pub mod identifier_alias;
pub mod import_template;
pub mod invitation;
pub mod ledger_entry;
pub mod mail_outbox;
pub mod membership;
pub mod organization;
pub mod payee;
pub mod payout;
pub mod payout_run;
pub mod payout_run_held_statement;
pub mod recoupable;
pub mod release;
pub mod remittance;
pub mod remittance_statement;
pub mod split;
pub mod split_share;
pub mod statement;
pub mod statement_error;
pub mod statement_exchange_rate;
pub mod statement_line;
pub mod track;
pub mod track_artist;
pub mod user;
pub mod webhook;
pub mod webhook_delivery;
