//! `node(id:)`: any object by its global id, under the same authorization as its list.

use async_graphql::{Context, ID, Interface, Object};
use entity::{
    agreement, artist, organization, payee, payout, payout_run, recoupable, release, split, track,
};
use sea_orm::EntityTrait;

use super::access::{ContextExt, Permission};
use super::agreements::Agreement;
use super::catalogue::{Release, Track};
use super::error::{ApiError, ApiResult};
use super::ids::{self, Kind};
use super::organization::Organization;
use super::payees::Payee;
use super::roster::Artist;
use super::splits::Split;

#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Organization(Organization),
    Artist(Artist),
    Payee(Payee),
    Agreement(Agreement),
    Release(Release),
    Track(Track),
    Split(Split),
    Statement(super::statements::Statement),
    PayoutRun(super::payouts::PayoutRun),
    Payout(super::payouts::Payout),
    Recoupable(super::recoupables::Recoupable),
    Webhook(super::webhooks::Webhook),
    WebhookDelivery(super::webhooks::WebhookDelivery),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global id; FORBIDDEN when it belongs to an organisation (or artist)
    /// the caller may not see.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Node>> {
        let Some((kind, row)) = ids::decode_any(&id) else {
            return Ok(None);
        };
        let db = ctx.db();
        let read = Permission::ReadCatalogue;
        Ok(Some(match kind {
            Kind::Organization => {
                ctx.authorize(row, read)?;
                let Some(m) = organization::Entity::find_by_id(row).one(db).await? else {
                    return Ok(None);
                };
                Node::Organization(Organization(m))
            }
            Kind::Artist => {
                let Some(m) = artist::Entity::find_by_id(row).one(db).await? else {
                    return Ok(None);
                };
                ctx.authorize(m.organization_id, read)?.check_artist(m.id)?;
                Node::Artist(Artist(m))
            }
            Kind::Payee => {
                let Some(m) = payee::Entity::find_by_id(row).one(db).await? else {
                    return Ok(None);
                };
                let access = ctx.authorize(m.organization_id, read)?;
                if access.artist_id.is_some() && m.artist_id != access.artist_id {
                    return Err(ApiError::Forbidden("this payee belongs to another artist"));
                }
                Node::Payee(Payee(m))
            }
            Kind::Agreement => {
                let Some(m) = agreement::Entity::find_by_id(row).one(db).await? else {
                    return Ok(None);
                };
                ctx.authorize(m.organization_id, read)?
                    .check_artist(m.artist_id)?;
                Node::Agreement(Agreement(m))
            }
            Kind::Release => {
                let Some(m) = release::Entity::find_by_id(row).one(db).await? else {
                    return Ok(None);
                };
                ctx.authorize(m.organization_id, read)?
                    .check_artist(m.artist_id)?;
                Node::Release(Release(m))
            }
            Kind::Track => {
                let Some(m) = track::Entity::find_by_id(row).one(db).await? else {
                    return Ok(None);
                };
                let access = ctx.authorize(m.organization_id, read)?;
                let release = release::Entity::find_by_id(m.release_id)
                    .one(db)
                    .await?
                    .ok_or(ApiError::NotFound("Release"))?;
                access.check_artist(release.artist_id)?;
                Node::Track(Track(m))
            }
            Kind::Split => {
                let Some(m) = split::Entity::find_by_id(row).one(db).await? else {
                    return Ok(None);
                };
                let access = ctx.authorize(m.organization_id, read)?;
                let release = release::Entity::find_by_id(m.release_id)
                    .one(db)
                    .await?
                    .ok_or(ApiError::NotFound("Release"))?;
                access.check_artist(release.artist_id)?;
                Node::Split(Split(m))
            }
            Kind::Statement => {
                if entity::statement::Entity::find_by_id(row)
                    .one(db)
                    .await?
                    .is_none()
                {
                    return Ok(None);
                }
                Node::Statement(super::statements::Statement(
                    super::statements::load_statement(ctx, &id).await?,
                ))
            }
            Kind::PayoutRun => {
                if payout_run::Entity::find_by_id(row).one(db).await?.is_none() {
                    return Ok(None);
                }
                let (run, _) = super::payouts::load_run(ctx, &id, Permission::ReadMoney).await?;
                Node::PayoutRun(super::payouts::PayoutRun(run))
            }
            Kind::Payout => {
                if payout::Entity::find_by_id(row).one(db).await?.is_none() {
                    return Ok(None);
                }
                let (p, _) = super::payouts::load_payout(db, ctx.principal(), row).await?;
                Node::Payout(super::payouts::Payout(p))
            }
            Kind::Recoupable => {
                let Some(m) = recoupable::Entity::find_by_id(row).one(db).await? else {
                    return Ok(None);
                };
                let access = ctx.authorize(m.organization_id, Permission::ReadMoney)?;
                if let Some(artist_id) = m.artist_id {
                    access.check_artist(artist_id)?;
                } else if access.artist_id.is_some() {
                    return Err(ApiError::Forbidden(
                        "this recoupable belongs to another artist",
                    ));
                }
                Node::Recoupable(super::recoupables::Recoupable(m))
            }
            Kind::Webhook => match super::webhooks::webhook_node(ctx, row).await? {
                Some(webhook) => Node::Webhook(webhook),
                None => return Ok(None),
            },
            Kind::WebhookDelivery => match super::webhooks::delivery_node(ctx, row).await? {
                Some(delivery) => Node::WebhookDelivery(delivery),
                None => return Ok(None),
            },
            Kind::User | Kind::Member | Kind::Invitation | Kind::ApiKey => return Ok(None),
        }))
    }
}
