//! One file per job. Each loads its state by id, does its work through `domain`, stores the
//! result, and can run any number of times with the effect of one run.

pub mod allocate_statement;
pub mod analytics_rollups;
pub mod deliver_mail;
pub mod deliver_webhook;
pub mod line_writer;
pub mod parse_statement;
pub mod refresh_analytics;
pub mod run_payout;
