//! Relay cursor connections over keyset pagination.
//!
//! Lists are ordered by id and paged with `first`/`after`: the cursor is the last id seen, so a
//! page costs one indexed range scan however deep the client pages, and rows inserted meanwhile
//! never shift a page.

use async_graphql::Context;
use async_graphql::connection::{Connection, Edge};
use async_graphql::{OutputType, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};

use super::access::ContextExt;
use super::error::{ApiError, ApiResult};
use super::guard::{self, Guarded, Seen};

pub const DEFAULT_PAGE_SIZE: i32 = 20;
pub const MAX_PAGE_SIZE: i32 = 100;

/// Extra fields on every connection.
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct ConnectionFields {
    /// How many items the whole list holds (all pages).
    pub total_count: u64,
}

pub type Page<T> = Connection<String, T, ConnectionFields>;

pub(crate) fn encode_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("c:{id}"))
}

pub(crate) fn decode_cursor(cursor: &str) -> ApiResult<i64> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("c:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| ApiError::BadRequest(format!("`{cursor}` is not a cursor from this API")))
}

/// Arguments every list takes.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
}

impl PageArgs {
    #[must_use]
    pub fn new(first: Option<i32>, after: Option<String>) -> Self {
        Self { first, after }
    }

    pub(crate) fn limit(&self) -> ApiResult<u64> {
        match self.first {
            None => Ok(DEFAULT_PAGE_SIZE as u64),
            Some(n) if (0..=MAX_PAGE_SIZE).contains(&n) => Ok(n as u64),
            Some(n) => Err(ApiError::BadRequest(format!(
                "first must be between 0 and {MAX_PAGE_SIZE}, got {n}"
            ))),
        }
    }
}

/// Pages `select` (already filtered to what the caller may see) by `id_column`.
///
/// # Errors
/// A bad cursor or page size, or a database failure.
/// One page of `select`, each row released through [`guard::admit_all`]: the query narrows
/// the rows to the caller's, and the guard makes sure of it.
pub async fn paginate<E, T>(
    ctx: &Context<'_>,
    select: Select<E>,
    id_column: E::Column,
    args: &PageArgs,
    id_of: impl Fn(&E::Model) -> i64,
    node: impl Fn(Seen<E::Model>) -> T,
) -> ApiResult<Page<T>>
where
    E: EntityTrait,
    E::Model: Guarded,
    T: OutputType,
{
    let db = ctx.db();
    let limit = args.limit()?;
    let total_count = select.clone().count(db).await?;
    let mut page = select;
    if let Some(after) = &args.after {
        page = page.filter(id_column.gt(decode_cursor(after)?));
    }
    let mut rows = page
        .order_by_asc(id_column)
        .limit(limit + 1)
        .all(db)
        .await?;
    let has_next_page = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let mut connection = Connection::with_additional_fields(
        args.after.is_some(),
        has_next_page,
        ConnectionFields { total_count },
    );
    for row in guard::admit_all(ctx, rows).await? {
        connection
            .edges
            .push(Edge::new(encode_cursor(id_of(&row)), node(row)));
    }
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_foreign_strings() {
        assert_eq!(decode_cursor(&encode_cursor(99)).ok(), Some(99));
        assert!(decode_cursor("bm9wZQ").is_err());
        assert!(PageArgs::new(Some(101), None).limit().is_err());
        assert!(PageArgs::new(Some(-1), None).limit().is_err());
        assert_eq!(
            PageArgs::default().limit().ok(),
            Some(DEFAULT_PAGE_SIZE as u64)
        );
    }
}
