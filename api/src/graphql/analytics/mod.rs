//! Roster analytics, read from the monthly roll-ups: one indexed aggregate per query, whatever
//! the number of statement lines behind it, over the smallest grain that keeps what it asks for;
//! answers by track or release grouped in the server from the roll-up held as columns.
//!
//! # Layout
//!
//! - `types`: the GraphQL types (dimensions, filter, figures, rows, the overview).
//! - `sql`: the filter as a WHERE clause (and as conditions on rows in memory), the grain that
//!   answers it, the aggregates.
//! - `columnar`: answers by track or release, grouped in the server from an organisation's
//!   roll-up rows held as columns.
//! - `cache`: answers kept by organisation version, the versions, the rows named beside the
//!   figures, and the single flight and bound of cold answers.
//! - `resolvers`: the `analytics` and `rosterOverview` queries.

mod cache;
mod columnar;
mod resolvers;
mod sql;
mod types;

pub use cache::{AnalyticsCache, ObservedScopes};
pub use resolvers::AnalyticsQuery;
pub use types::{
    AnalyticsDimension, AnalyticsFigures, AnalyticsFilter, AnalyticsResult, AnalyticsRow,
    ArtistSummary, PeriodInput, RosterOverview,
};
