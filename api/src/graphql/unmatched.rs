//! `Statement.unmatchedIdentifiers`: a statement's unmatched lines grouped by the identifier
//! the statement gives them (ISRC, else UPC, else title and artist), each group with its line
//! count, its exact revenue and the organisation's tracks that look like it.
//!
//! The grouping is one SQL `GROUP BY` over the statement's unmatched lines; Rust only reads the
//! page of groups. Suggestions are ranked by [`domain::similarity`], against the organisation's
//! tracks read once per page.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, Object};
use entity::track;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement as Sql};

use super::access::ContextExt;
use super::catalogue::Track;
use super::connection::{ConnectionFields, Page, PageArgs, decode_cursor, encode_cursor};
use super::error::{ApiError, ApiResult};
use super::guard;
use super::money::Money;

/// How many tracks each group suggests at most.
const SUGGESTIONS_PER_GROUP: usize = 5;

/// What identifies the lines of a group.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnmatchedIdentifierKind {
    /// The lines carry this ISRC.
    Isrc,
    /// The lines carry no ISRC, and this UPC.
    Upc,
    /// The lines carry neither: only a title and an artist name.
    TitleArtist,
}

/// Why a track is suggested for a group.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuggestionReason {
    /// The track has the group's ISRC.
    IsrcExact,
    /// The track's ISRC is one typo away from the group's.
    IsrcOneTypo,
    /// The title (and artist) look alike.
    TitleArtist,
}

impl From<domain::similarity::Reason> for SuggestionReason {
    fn from(r: domain::similarity::Reason) -> Self {
        match r {
            domain::similarity::Reason::IsrcExact => Self::IsrcExact,
            domain::similarity::Reason::IsrcOneTypo => Self::IsrcOneTypo,
            domain::similarity::Reason::TitleArtist => Self::TitleArtist,
        }
    }
}

/// A track that looks like an unmatched group.
pub struct TrackSuggestion {
    track: Track,
    score: u8,
    reason: SuggestionReason,
}

#[Object]
impl TrackSuggestion {
    async fn track(&self) -> &Track {
        &self.track
    }
    /// How alike, 0 to 100 (`domain::similarity`): 100 for the same ISRC.
    async fn score(&self) -> i32 {
        i32::from(self.score)
    }
    async fn reason(&self) -> SuggestionReason {
        self.reason
    }
}

/// The unmatched lines of a statement that share an identifier (and a currency).
pub struct UnmatchedIdentifier {
    kind: UnmatchedIdentifierKind,
    isrc: Option<String>,
    upc: Option<String>,
    title: Option<String>,
    artist_name: Option<String>,
    line_count: i64,
    revenue: Money,
    suggestions: Vec<TrackSuggestion>,
}

#[Object]
impl UnmatchedIdentifier {
    async fn kind(&self) -> UnmatchedIdentifierKind {
        self.kind
    }
    /// What `matchStatementLines` takes to match the group (its ISRC or UPC); null for a
    /// group known only by title and artist.
    async fn identifier(&self) -> Option<&str> {
        match self.kind {
            UnmatchedIdentifierKind::Isrc => self.isrc.as_deref(),
            UnmatchedIdentifierKind::Upc => self.upc.as_deref(),
            UnmatchedIdentifierKind::TitleArtist => None,
        }
    }
    async fn isrc(&self) -> Option<&str> {
        self.isrc.as_deref()
    }
    async fn upc(&self) -> Option<&str> {
        self.upc.as_deref()
    }
    /// The title the lines give (the first in alphabetical order when they differ).
    async fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }
    /// The artist name the lines give (the first in alphabetical order when they differ).
    async fn artist_name(&self) -> Option<&str> {
        self.artist_name.as_deref()
    }
    async fn line_count(&self) -> i64 {
        self.line_count
    }
    /// The exact sum of the lines, in their statement currency.
    async fn revenue(&self) -> &Money {
        &self.revenue
    }
    /// The organisation's tracks most like the group, best first.
    async fn suggestions(&self) -> &[TrackSuggestion] {
        &self.suggestions
    }
}

/// The group key of an unmatched line: its ISRC, else its UPC, else its title and artist; and
/// its currency, so that a revenue is one currency's.
const GROUPED: &str = "SELECT \
       CASE WHEN isrc IS NOT NULL THEN 'isrc' WHEN upc IS NOT NULL THEN 'upc' ELSE 'title' END AS kind, \
       COALESCE(isrc, upc, '') AS ident, \
       CASE WHEN isrc IS NULL AND upc IS NULL THEN COALESCE(title, '') ELSE '' END AS g_title, \
       CASE WHEN isrc IS NULL AND upc IS NULL THEN COALESCE(artist_name, '') ELSE '' END AS g_artist, \
       currency, isrc, upc, title, artist_name, amount_nanos \
     FROM statement_lines \
     WHERE organization_id = $1 AND statement_id = $2 AND track_id IS NULL AND release_id IS NULL";

/// One page of a statement's unmatched groups, most lines first. The cursor is the position
/// of the group in that order: matching a group meanwhile moves the later ones up one place.
///
/// The caller is the statement's resolver, which has already checked that the caller may read
/// the statement's lines (`money_access`).
///
/// # Errors
/// A bad cursor or page size, a revenue too large to report, or a database failure.
pub async fn page(
    ctx: &Context<'_>,
    organization_id: i64,
    statement_id: i64,
    args: &PageArgs,
) -> ApiResult<Page<UnmatchedIdentifier>> {
    let db = ctx.db();
    let backend = db.get_database_backend();
    let limit = args.limit()?;
    let offset = match &args.after {
        Some(after) => u64::try_from(decode_cursor(after)?)
            .map_err(|_| ApiError::BadRequest(format!("`{after}` is not a cursor of this list")))?,
        None => 0,
    };
    let count = db
        .query_one_raw(Sql::from_sql_and_values(
            backend,
            format!(
                "SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM ({GROUPED}) l \
                 GROUP BY kind, ident, g_title, g_artist, currency) g"
            ),
            [organization_id.into(), statement_id.into()],
        ))
        .await?;
    let total_count: i64 = match count {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    let sql = format!(
        "SELECT kind, currency, MIN(isrc) AS isrc, MIN(upc) AS upc, MIN(title) AS title, \
           MIN(artist_name) AS artist_name, COUNT(*) AS line_count, {sums} \
         FROM ({GROUPED}) l \
         GROUP BY kind, ident, g_title, g_artist, currency \
         ORDER BY COUNT(*) DESC, kind, ident, g_title, g_artist, currency \
         LIMIT $3 OFFSET $4",
        sums = workers::sums::split_sum("amount_nanos", "revenue"),
    );
    let page_size = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let rows = db
        .query_all_raw(Sql::from_sql_and_values(
            backend,
            sql,
            [
                organization_id.into(),
                statement_id.into(),
                page_size.into(),
                i64::try_from(offset).unwrap_or(i64::MAX).into(),
            ],
        ))
        .await?;
    let has_next_page = rows.len() as u64 > limit;
    let mut groups = Vec::with_capacity(rows.len());
    for row in rows
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
    {
        let kind: String = row.try_get("", "kind")?;
        let currency: String = row.try_get("", "currency")?;
        let revenue = workers::sums::total(&row, "revenue")?.map_err(|err| {
            ApiError::BadRequest(format!("the revenue of a group cannot be reported: {err}"))
        })?;
        let kind = match kind.as_str() {
            "isrc" => UnmatchedIdentifierKind::Isrc,
            "upc" => UnmatchedIdentifierKind::Upc,
            _ => UnmatchedIdentifierKind::TitleArtist,
        };
        let isrc: Option<String> = row.try_get("", "isrc")?;
        let upc: Option<String> = row.try_get("", "upc")?;
        groups.push(UnmatchedIdentifier {
            kind,
            // A UPC group has no ISRC, a title group neither.
            isrc: isrc.filter(|_| kind == UnmatchedIdentifierKind::Isrc),
            upc: if kind == UnmatchedIdentifierKind::TitleArtist {
                None
            } else {
                upc
            },
            title: row.try_get("", "title")?,
            artist_name: row.try_get("", "artist_name")?,
            line_count: row.try_get("", "line_count")?,
            revenue: Money::from_nanos(revenue, &currency),
            suggestions: Vec::new(),
        });
    }
    if !groups.is_empty() {
        suggest(ctx, organization_id, &mut groups).await?;
    }
    let mut connection = Connection::with_additional_fields(
        offset > 0,
        has_next_page,
        ConnectionFields {
            total_count: u64::try_from(total_count).unwrap_or(0),
        },
    );
    for (i, group) in groups.into_iter().enumerate() {
        let position = offset + i as u64 + 1;
        connection.edges.push(Edge::new(
            encode_cursor(i64::try_from(position).unwrap_or(i64::MAX)),
            group,
        ));
    }
    Ok(connection)
}

/// Fills each group's suggestions: the organisation's tracks (with their release's artist)
/// read once, ranked by [`domain::similarity::rank`], and released through the guard.
async fn suggest(
    ctx: &Context<'_>,
    organization_id: i64,
    groups: &mut [UnmatchedIdentifier],
) -> ApiResult<()> {
    let db = ctx.db();
    let rows = db
        .query_all_raw(Sql::from_sql_and_values(
            db.get_database_backend(),
            "SELECT t.id AS id, t.isrc AS isrc, t.title AS title, a.name AS artist \
             FROM tracks t JOIN releases r ON r.id = t.release_id \
             LEFT JOIN artists a ON a.id = r.artist_id \
             WHERE t.organization_id = $1 ORDER BY t.id",
            [organization_id.into()],
        ))
        .await?;
    // Each track's matching keys, computed once for every group of the page.
    let mut catalogue: Vec<(i64, domain::similarity::Keys)> = Vec::with_capacity(rows.len());
    for row in rows {
        let isrc: Option<String> = row.try_get("", "isrc")?;
        let title: String = row.try_get("", "title")?;
        let artist: Option<String> = row.try_get("", "artist")?;
        catalogue.push((
            row.try_get("", "id")?,
            domain::similarity::Keys::of_track(&domain::similarity::TrackIdentity {
                isrc: isrc.as_deref(),
                title: &title,
                artist: artist.as_deref(),
            }),
        ));
    }
    let ranked: Vec<Vec<(i64, domain::similarity::Likeness)>> = groups
        .iter()
        .map(|group| {
            let line = domain::similarity::Keys::of_line(&domain::similarity::LineIdentity {
                isrc: group.isrc.as_deref(),
                title: group.title.as_deref(),
                artist: group.artist_name.as_deref(),
            });
            domain::similarity::rank(
                &line,
                catalogue.iter().map(|(id, keys)| (*id, keys)),
                SUGGESTIONS_PER_GROUP,
            )
        })
        .collect();
    let wanted: Vec<i64> = ranked.iter().flatten().map(|(id, _)| *id).collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let tracks = track::Entity::find()
        .filter(track::Column::OrganizationId.eq(organization_id))
        .filter(track::Column::Id.is_in(wanted))
        .all(db)
        .await?;
    let seen: std::collections::HashMap<i64, guard::Seen<track::Model>> =
        guard::admit_all(ctx, tracks)
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
    for (group, found) in groups.iter_mut().zip(ranked) {
        group.suggestions = found
            .into_iter()
            .filter_map(|(id, likeness)| {
                seen.get(&id).map(|t| TrackSuggestion {
                    track: Track(t.clone()),
                    score: likeness.score,
                    reason: likeness.reason.into(),
                })
            })
            .collect();
    }
    Ok(())
}
