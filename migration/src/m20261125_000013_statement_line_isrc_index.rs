//! Drops `statement_lines (organization_id, isrc)`.
//!
//! Nothing looks statement lines up by ISRC: matching goes the other way (a line's ISRC to
//! the organisation's tracks), and since the parse job matches lines in memory before it
//! writes them, the only SQL matching left is by statement chunk (the `(statement_id, id)`
//! index) or over an organisation's unmatched lines (`(organization_id, track_id)`). Every
//! index costs each of the millions of inserted lines a btree insertion at a spot its ISRC
//! decides, all over the index: on PostgreSQL this one was a fifth of the insert's cost.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "idx_statement_lines_organization_id_isrc";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(NAME)
                    .table(Alias::new("statement_lines"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(Alias::new("statement_lines"))
                    .col(Alias::new("organization_id"))
                    .col(Alias::new("isrc"))
                    .to_owned(),
            )
            .await
    }
}
