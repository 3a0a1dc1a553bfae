//! `statement_lines (statement_id, id)` in place of `(statement_id, line_number)`.
//!
//! Everything that walks a statement's lines does it in id order, a page or chunk at a time
//! (`WHERE statement_id = $1 AND id > $2 ORDER BY id LIMIT n`: allocation, the `lines`
//! connection). With the old index that is a scan of the whole statement and a sort per chunk,
//! quadratic in the statement's size (a million-line statement: a second per 2,000-line chunk
//! on PostgreSQL); with this one it is a range scan. Nothing looks lines up by line number.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD: &str = "idx_statement_lines_statement_id_line_number";
const NEW: &str = "idx_statement_lines_statement_id_id";

fn index(name: &str, second: &str) -> IndexCreateStatement {
    Index::create()
        .name(name)
        .table(Alias::new("statement_lines"))
        .col(Alias::new("statement_id"))
        .col(Alias::new(second))
        .to_owned()
}

fn drop(name: &str) -> IndexDropStatement {
    Index::drop()
        .name(name)
        .table(Alias::new("statement_lines"))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(index(NEW, "id")).await?;
        manager.drop_index(drop(OLD)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(index(OLD, "line_number")).await?;
        manager.drop_index(drop(NEW)).await
    }
}
