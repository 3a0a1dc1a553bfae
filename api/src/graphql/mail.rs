//! The mail outbox as the API shows it: `Organization.outbox`, for the label's owners and
//! admins (`ManageMembers`: the mails carry invitation links and payees' addresses). Without an
//! SMTP server configured the mails wait here, `PENDING`.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::mail_outbox;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::access::{ContextExt, Permission};
use super::connection::{Page, PageArgs, paginate};
use super::enums::{MailKind, MailStatus};
use super::error::ApiResult;
use super::guard::Seen;
use super::ids::{self, Kind};

/// One mail to one recipient, written with the event it tells of.
pub struct OutboxMail(pub Seen<mail_outbox::Model>);

#[Object]
impl OutboxMail {
    /// The outbox row's number (the mail's place in the outbox; not a node id).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> ApiResult<MailKind> {
        MailKind::from_db(&self.0.kind)
    }
    /// `PENDING` until the SMTP server accepts it (or while no server is configured).
    async fn status(&self) -> ApiResult<MailStatus> {
        MailStatus::from_db(&self.0.status)
    }
    /// Empty for a `SKIPPED` digest (a quiet week).
    async fn recipient(&self) -> &str {
        &self.0.recipient
    }
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    async fn text_body(&self) -> &str {
        &self.0.text_body
    }
    async fn html_body(&self) -> &str {
        &self.0.html_body
    }
    /// The payout whose statement PDF goes attached.
    async fn attachment_payout_id(&self) -> Option<ID> {
        self.0.payout_id.map(|id| ids::encode(Kind::Payout, id))
    }
    /// Attempts started so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_attempt_at
    }
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The organisation's outbox, oldest first.
///
/// # Errors
/// FORBIDDEN without `ManageMembers`.
pub async fn organization_outbox(
    ctx: &Context<'_>,
    organization_id: i64,
    args: &PageArgs,
) -> ApiResult<Page<OutboxMail>> {
    ctx.authorize(organization_id, Permission::ManageMembers)?;
    let select =
        mail_outbox::Entity::find().filter(mail_outbox::Column::OrganizationId.eq(organization_id));
    paginate(
        ctx,
        select,
        mail_outbox::Column::Id,
        args,
        |m| m.id,
        OutboxMail,
    )
    .await
}
