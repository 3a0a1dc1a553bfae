//! Roster analytics, read from the monthly roll-ups: one indexed aggregate per query, whatever
//! the number of statement lines behind it.

mod cache;
mod resolvers;
mod sql;
mod types;

pub use cache::{AnalyticsCache, ObservedScopes};
pub use resolvers::AnalyticsQuery;
pub use types::{
    AnalyticsDimension, AnalyticsFigures, AnalyticsFilter, AnalyticsResult, AnalyticsRow,
    ArtistSummary, PeriodInput, RosterOverview,
};
