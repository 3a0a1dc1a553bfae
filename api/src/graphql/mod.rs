//! The GraphQL schema: one module per area, merged into the roots here.
//!
//! The schema is built in this library (not in the binary) so tests can execute it without
//! HTTP and `imprint schema` can print it.

pub mod access;
pub mod accounts;
pub mod agreements;
pub mod analytics;
pub mod audit;
pub mod catalogue;
pub mod connection;
pub mod enums;
pub mod error;
pub mod fx;
pub mod gate;
pub mod guard;
pub mod ids;
pub mod ledger;
pub mod loaders;
pub mod mail;
pub mod money;
pub mod node;
pub mod organization;
pub mod payees;
pub mod payment_details;
pub mod payouts;
pub mod rails;
pub mod recoupables;
pub mod refs;
pub mod roster;
pub mod splits;
pub mod statements;
pub mod tax;
pub mod unmatched;
pub mod webhooks;

use async_graphql::{MergedObject, MergedSubscription, Schema};

use crate::state::AppState;

#[derive(MergedObject, Default)]
pub struct Query(
    accounts::AccountsQuery,
    organization::OrganizationQuery,
    node::NodeQuery,
    statements::StatementsQuery,
    analytics::AnalyticsQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    accounts::AccountsMutation,
    roster::RosterMutation,
    payees::PayeesMutation,
    agreements::AgreementsMutation,
    catalogue::CatalogueMutation,
    splits::SplitsMutation,
    statements::StatementsMutation,
    statements::ImportTemplatesMutation,
    payouts::PayoutsMutation,
    payment_details::PaymentDetailsMutation,
    rails::RailsMutation,
    recoupables::RecoupablesMutation,
    ledger::LedgerMutation,
    fx::FxMutation,
    webhooks::WebhooksMutation,
    tax::TaxMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(
    statements::StatementsSubscription,
    payouts::PayoutsSubscription,
);

pub type ImprintSchema = Schema<Query, Mutation, Subscription>;

/// Limits that keep one query from costing the server more than a page of a client ever needs.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub depth: usize,
    pub complexity: usize,
}

/// Builds the schema. `state` is `None` only to print the SDL.
#[must_use]
pub fn build(state: Option<AppState>, limits: Limits) -> ImprintSchema {
    let mut builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .limit_depth(limits.depth)
    .limit_complexity(limits.complexity)
    .extension(gate::MutationGate)
    .register_output_type::<node::Node>();
    if let Some(state) = state {
        builder = builder.data(state);
    }
    builder.finish()
}

/// The SDL, as checked into `api/schema.graphql`.
#[must_use]
pub fn sdl() -> String {
    build(
        None,
        Limits {
            depth: 12,
            complexity: 5000,
        },
    )
    .sdl()
}
