//! `node(id:)`: any object by its global id, released by the same guard as every other path.

use async_graphql::{Context, ID, Interface, Object};

use super::agreements::Agreement;
use super::catalogue::{Release, Track};
use super::error::ApiResult;
use super::fx::Remittance;
use super::guard::lookup;
use super::ids::{self, Kind};
use super::organization::Organization;
use super::payees::Payee;
use super::payouts::{Payout, PayoutRun};
use super::recoupables::Recoupable;
use super::roster::{Artist, ArtistProfile};
use super::splits::{Split, SplitShare};
use super::statements::Statement;
use super::webhooks::{Webhook, WebhookDelivery};

#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Organization(Organization),
    Artist(Artist),
    ArtistProfile(ArtistProfile),
    Payee(Payee),
    Agreement(Agreement),
    Release(Release),
    Track(Track),
    Split(Split),
    SplitShare(SplitShare),
    Statement(Statement),
    PayoutRun(PayoutRun),
    Payout(Payout),
    Recoupable(Recoupable),
    Webhook(Webhook),
    WebhookDelivery(WebhookDelivery),
    Remittance(Remittance),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global id; null for an id of nothing and for an object the caller
    /// could not fetch directly (another organisation's or artist's), alike.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Node>> {
        let Some((kind, _)) = ids::decode_any(&id) else {
            return Ok(None);
        };
        let id = &id;
        Ok(match kind {
            Kind::Organization => lookup(ctx, kind, id)
                .await?
                .map(|s| Node::Organization(Organization(s))),
            Kind::Artist => lookup(ctx, kind, id)
                .await?
                .map(|s| Node::Artist(Artist(s))),
            Kind::ArtistProfile => lookup(ctx, kind, id)
                .await?
                .map(|s| Node::ArtistProfile(ArtistProfile(s))),
            Kind::Payee => lookup(ctx, kind, id).await?.map(|s| Node::Payee(Payee(s))),
            Kind::Agreement => lookup(ctx, kind, id)
                .await?
                .map(|s| Node::Agreement(Agreement(s))),
            Kind::Release => lookup(ctx, kind, id)
                .await?
                .map(|s| Node::Release(Release(s))),
            Kind::Track => lookup(ctx, kind, id).await?.map(|s| Node::Track(Track(s))),
            Kind::Split => lookup(ctx, kind, id).await?.map(|s| Node::Split(Split(s))),
            Kind::SplitShare => lookup(ctx, kind, id)
                .await?
                .map(|s| Node::SplitShare(SplitShare(s))),
            Kind::Statement => lookup(ctx, kind, id)
                .await?
                .map(|s| Node::Statement(Statement(s))),
            Kind::PayoutRun => lookup(ctx, kind, id)
                .await?
                .map(|s| Node::PayoutRun(PayoutRun(s))),
            Kind::Payout => lookup(ctx, kind, id)
                .await?
                .map(|s| Node::Payout(Payout(s))),
            Kind::Recoupable => lookup(ctx, kind, id)
                .await?
                .map(|s| Node::Recoupable(Recoupable(s))),
            Kind::Webhook => lookup(ctx, kind, id)
                .await?
                .map(|s| Node::Webhook(Webhook(s))),
            Kind::WebhookDelivery => lookup(ctx, kind, id)
                .await?
                .map(|s| Node::WebhookDelivery(WebhookDelivery(s))),
            Kind::Remittance => lookup(ctx, kind, id)
                .await?
                .map(|s| Node::Remittance(Remittance(s))),
            Kind::User | Kind::Member | Kind::Invitation | Kind::ApiKey => None,
        })
    }
}
