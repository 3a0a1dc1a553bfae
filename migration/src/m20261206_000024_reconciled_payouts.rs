//! Payouts limited to reconciled money (issue 15):
//!
//! - `payout_run_held_statements`: the statements a run held back because the organisation
//!   pays only reconciled money and no remittance paid them when the run computed. Their
//!   entries are not taken up by that run, so the next run pays them once reconciled.
//! - `remittances.dedup_key`: the remittance's organisation-wide identity (reference, amount,
//!   currency, day, statements); unique, so a double click records it once. Null on rows
//!   recorded before.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("payout_run_held_statements"))
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Alias::new("payout_run_id"))
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Alias::new("statement_id"))
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Alias::new("organization_id"))
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(Alias::new("payout_run_id"))
                            .col(Alias::new("statement_id")),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                Alias::new("payout_run_held_statements"),
                                Alias::new("payout_run_id"),
                            )
                            .to(Alias::new("payout_runs"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_payout_run_held_statements_statement")
                    .table(Alias::new("payout_run_held_statements"))
                    .col(Alias::new("statement_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("remittances"))
                    .add_column(ColumnDef::new(Alias::new("dedup_key")).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_remittances_dedup")
                    .table(Alias::new("remittances"))
                    .col(Alias::new("organization_id"))
                    .col(Alias::new("dedup_key"))
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_remittances_dedup")
                    .table(Alias::new("remittances"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("remittances"))
                    .drop_column(Alias::new("dedup_key"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new("payout_run_held_statements"))
                    .to_owned(),
            )
            .await
    }
}
