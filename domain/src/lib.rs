//! Imprint's business rules, pure: no database, no network, no async, no clock.
//!
//! Everything that decides money, validity or access lives here so that it can be unit and
//! property tested without I/O; `entity`, `workers` and `api` load data, call these functions
//! and store the results.
//!
//! # Layout
//!
//! - [`money`]: nano-unit amounts, currencies, exact decimal parsing and the two named roundings
//!   (half-even at ingest, down to the minor unit at payout).
//! - [`share`]: shares in parts per billion, split validation, largest-remainder allocation.
//! - [`ids`]: ISRC, UPC/EAN and ISWC, canonicalised and check-digit verified.
//! - [`catalogue`]: release status (and its transitions), release type, track roles, stores,
//!   profile claim state.
//! - [`consent`]: split consent: who confirms a share, what changing a split resets, whether an
//!   unconfirmed split is paid or held.
//! - [`agreement`]: an artist's agreement terms and their validation.
//! - [`allocation`]: a statement line divided among its payees by split, revenue share,
//!   reversion and recoupment, exactly.
//! - [`recoupment`]: advances and expenses recouped from artist earnings, shared costs.
//! - [`payout`]: reserves, minimum payout, rounding to the minor unit, carry-forward, and the
//!   conservation check.
//! - [`analytics`]: the analytics roll-up grains, and which one answers a query.
//! - [`period`]: whole-month analytics periods: the default one, the one before.
//! - [`auth`]: member roles and their permissions, API key scopes.
//! - [`statement`]: statement parsers (distributor and store reports, DDEX DSR) to lines.
//! - [`text`]: title and e-mail normalisation for matching and identity.
//! - [`similarity`]: how much an unmatched statement line looks like a track (suggestions).
//! - [`enums`]: the error shared by the string-backed enums above.

pub mod agreement;
pub mod allocation;
pub mod analytics;
pub mod auth;
pub mod catalogue;
pub mod consent;
pub mod enums;
pub mod fx;
pub mod ids;
pub mod mail;
pub mod money;
pub mod payee_statement;
pub mod payout;
pub mod period;
pub mod rails;
pub mod recoupment;
pub mod share;
pub mod similarity;
pub mod statement;
pub mod tax;
pub mod text;
pub mod webhook;
pub mod year_end;
