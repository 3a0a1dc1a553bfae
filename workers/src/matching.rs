//! Matching statement lines to the catalogue: ISRC → track, a remembered alias → track,
//! UPC → release, then normalised title + artist → track. Everything stays inside the
//! statement's own organisation. Set-based SQL over chunks of a statement's lines, so a
//! million-line statement is a few hundred statements, not a million, and memory stays flat.

use std::collections::HashMap;

use entity::{artist, statement_line, track, track_artist};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QuerySelect,
    Statement,
};

/// Placeholders as `$1…`, which both backends' drivers bind in order of first appearance.
fn stmt(backend: DbBackend, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(backend, sql, values)
}

/// Lines per matching UPDATE when one statement is matched. Inside the parse job's
/// transaction SQLite copies every page an UPDATE changes into a statement journal kept until
/// the UPDATE ends (over a million lines about 200 MB, all of it in RAM under
/// `temp_store=memory`), and a whole-statement UPDATE is planned over the organisation's
/// `(organization_id, isrc)` or `(organization_id, track_id)` index, every statement's lines.
/// A chunk found through the `(statement_id, id)` index journals a few MB and reads only its
/// own lines.
const CHUNK_LINES: i64 = 20_000;

/// Which lines one UPDATE covers: a chunk of one statement's lines by id, or every line of the
/// organisation.
struct Scope {
    /// SQL conditions ending in `AND`, after `organization_id = $1 AND`.
    sql: &'static str,
    values: Vec<sea_orm::Value>,
}

impl Scope {
    fn values(&self) -> Vec<sea_orm::Value> {
        self.values.clone()
    }
}

/// One scope for the organisation, or a scope per chunk of the statement's lines.
async fn scopes(
    db: &impl ConnectionTrait,
    organization_id: i64,
    statement_id: Option<i64>,
) -> Result<Vec<Scope>, DbErr> {
    let Some(statement_id) = statement_id else {
        return Ok(vec![Scope {
            sql: "",
            values: vec![organization_id.into()],
        }]);
    };
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(stmt(
            backend,
            "SELECT MIN(id) AS first_id, MAX(id) AS last_id FROM statement_lines WHERE statement_id = $1",
            vec![statement_id.into()],
        ))
        .await?;
    let (first, last) = match row {
        Some(row) => (
            row.try_get::<Option<i64>>("", "first_id")?,
            row.try_get::<Option<i64>>("", "last_id")?,
        ),
        None => (None, None),
    };
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(Vec::new());
    };
    let mut scopes = Vec::new();
    let mut after = first - 1;
    while after < last {
        let upto = after.saturating_add(CHUNK_LINES).min(last);
        scopes.push(Scope {
            sql: "statement_id = $2 AND id > $3 AND id <= $4 AND",
            values: vec![
                organization_id.into(),
                statement_id.into(),
                after.into(),
                upto.into(),
            ],
        });
        after = upto;
    }
    Ok(scopes)
}

/// Matches the unmatched lines of one statement (or, with `statement_id = None`, every
/// unmatched line of the organisation). Returns how many lines it matched.
///
/// # Errors
/// Database failures.
pub async fn match_lines(
    db: &impl ConnectionTrait,
    organization_id: i64,
    statement_id: Option<i64>,
) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let scopes = scopes(db, organization_id, statement_id).await?;
    let mut matched = 0;

    for scope in &scopes {
        let scope_sql = scope.sql;
        // 1. ISRC → track, and its release in the same write: every UPDATE rewrites the row
        // (on PostgreSQL a new version with all its index entries), so filling the release
        // afterwards would write each matched line twice.
        let sql = format!(
            "UPDATE statement_lines SET match_method = 'isrc', \
               track_id = (SELECT t.id FROM tracks t WHERE t.organization_id = $1 AND t.isrc = statement_lines.isrc), \
               release_id = (SELECT t.release_id FROM tracks t WHERE t.organization_id = $1 AND t.isrc = statement_lines.isrc) \
             WHERE organization_id = $1 AND {scope_sql} track_id IS NULL AND release_id IS NULL AND isrc IS NOT NULL \
               AND EXISTS (SELECT 1 FROM tracks t WHERE t.organization_id = $1 AND t.isrc = statement_lines.isrc)"
        );
        matched += db
            .execute_raw(stmt(backend, &sql, scope.values()))
            .await?
            .rows_affected();

        // 2. A remembered alias (an identifier a manager assigned to a track), by ISRC or UPC.
        for column in ["isrc", "upc"] {
            let sql = format!(
                "UPDATE statement_lines SET match_method = 'alias', \
                   track_id = (SELECT a.track_id FROM identifier_aliases a WHERE a.organization_id = $1 AND a.identifier = statement_lines.{column}), \
                   release_id = (SELECT t.release_id FROM identifier_aliases a JOIN tracks t ON t.id = a.track_id \
                     WHERE a.organization_id = $1 AND a.identifier = statement_lines.{column}) \
                 WHERE organization_id = $1 AND {scope_sql} track_id IS NULL AND release_id IS NULL AND {column} IS NOT NULL \
                   AND EXISTS (SELECT 1 FROM identifier_aliases a WHERE a.organization_id = $1 AND a.identifier = statement_lines.{column})"
            );
            matched += db
                .execute_raw(stmt(backend, &sql, scope.values()))
                .await?
                .rows_affected();
        }

        // 3. UPC → release (a sale of the whole release, or a line without an ISRC).
        let sql = format!(
            "UPDATE statement_lines SET match_method = 'upc', \
               release_id = (SELECT r.id FROM releases r WHERE r.organization_id = $1 AND r.upc = statement_lines.upc) \
             WHERE organization_id = $1 AND {scope_sql} track_id IS NULL AND release_id IS NULL AND upc IS NOT NULL \
               AND EXISTS (SELECT 1 FROM releases r WHERE r.organization_id = $1 AND r.upc = statement_lines.upc)"
        );
        matched += db
            .execute_raw(stmt(backend, &sql, scope.values()))
            .await?
            .rows_affected();
    }

    // 4. Normalised title + artist → track, for what is left.
    matched += match_by_title(db, organization_id, statement_id).await?;

    // Every line matched to a track belongs to its release; the steps above set both, this
    // catches a line left with a track and no release.
    for scope in &scopes {
        let scope_sql = scope.sql;
        let sql = format!(
            "UPDATE statement_lines SET release_id = (SELECT t.release_id FROM tracks t WHERE t.id = statement_lines.track_id) \
             WHERE organization_id = $1 AND {scope_sql} track_id IS NOT NULL AND release_id IS NULL"
        );
        db.execute_raw(stmt(backend, &sql, scope.values())).await?;
    }
    Ok(matched)
}

async fn match_by_title(
    db: &impl ConnectionTrait,
    organization_id: i64,
    statement_id: Option<i64>,
) -> Result<u64, DbErr> {
    let mut pending = statement_line::Entity::find()
        .select_only()
        .column(statement_line::Column::Title)
        .column(statement_line::Column::ArtistName)
        .distinct()
        .filter(statement_line::Column::OrganizationId.eq(organization_id))
        .filter(statement_line::Column::TrackId.is_null())
        .filter(statement_line::Column::ReleaseId.is_null())
        .filter(statement_line::Column::Title.is_not_null());
    if let Some(id) = statement_id {
        pending = pending.filter(statement_line::Column::StatementId.eq(id));
    }
    let pairs: Vec<(Option<String>, Option<String>)> = pending.into_tuple().all(db).await?;
    if pairs.is_empty() {
        return Ok(0);
    }
    // The catalogue's (title, primary artist) keys; a key shared by two tracks is ambiguous
    // and matches neither.
    let tracks: Vec<(i64, String)> = track::Entity::find()
        .select_only()
        .column(track::Column::Id)
        .column(track::Column::Title)
        .filter(track::Column::OrganizationId.eq(organization_id))
        .into_tuple()
        .all(db)
        .await?;
    let credits: Vec<(i64, i64)> = track_artist::Entity::find()
        .select_only()
        .column(track_artist::Column::TrackId)
        .column(track_artist::Column::ArtistId)
        .filter(track_artist::Column::OrganizationId.eq(organization_id))
        .into_tuple()
        .all(db)
        .await?;
    let artists: HashMap<i64, String> = artist::Entity::find()
        .select_only()
        .column(artist::Column::Id)
        .column(artist::Column::Name)
        .filter(artist::Column::OrganizationId.eq(organization_id))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, name)| (id, domain::text::normalize_title(&name)))
        .collect();
    let titles: HashMap<i64, String> = tracks
        .into_iter()
        .map(|(id, t)| (id, domain::text::normalize_title(&t)))
        .collect();
    let mut index: HashMap<(String, String), Option<i64>> = HashMap::new();
    for (track_id, artist_id) in credits {
        let (Some(title), Some(name)) = (titles.get(&track_id), artists.get(&artist_id)) else {
            continue;
        };
        index
            .entry((title.clone(), name.clone()))
            .and_modify(|existing| {
                if *existing != Some(track_id) {
                    *existing = None;
                }
            })
            .or_insert(Some(track_id));
    }
    let backend = db.get_database_backend();
    let mut matched = 0;
    for (title, artist_name) in pairs {
        let (Some(title), Some(artist_name)) = (title, artist_name) else {
            continue;
        };
        let key = (
            domain::text::normalize_title(&title),
            domain::text::normalize_title(&artist_name),
        );
        let Some(Some(track_id)) = index.get(&key) else {
            continue;
        };
        let mut values: Vec<sea_orm::Value> = vec![
            (*track_id).into(),
            organization_id.into(),
            title.into(),
            artist_name.into(),
        ];
        let scope = match statement_id {
            Some(id) => {
                values.push(id.into());
                "AND statement_id = $5"
            }
            None => "",
        };
        let sql = format!(
            "UPDATE statement_lines SET track_id = $1, match_method = 'title', \
               release_id = (SELECT t.release_id FROM tracks t WHERE t.id = $1) \
             WHERE organization_id = $2 AND title = $3 AND artist_name = $4 {scope} AND track_id IS NULL AND release_id IS NULL"
        );
        matched += db
            .execute_raw(stmt(backend, &sql, values))
            .await?
            .rows_affected();
    }
    Ok(matched)
}

/// Recounts a statement's matched and unmatched lines after matching changed them.
///
/// # Errors
/// Database failures, or a statement that does not exist.
pub async fn refresh_counts(
    db: &impl ConnectionTrait,
    statement_id: i64,
) -> Result<entity::statement::Model, DbErr> {
    use sea_orm::{ActiveModelTrait, PaginatorTrait, Set};
    let st = entity::statement::Entity::find_by_id(statement_id)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("statement {statement_id}")))?;
    let unmatched = statement_line::Entity::find()
        .filter(statement_line::Column::StatementId.eq(statement_id))
        .filter(statement_line::Column::TrackId.is_null())
        .filter(statement_line::Column::ReleaseId.is_null())
        .count(db)
        .await?;
    let unmatched = i64::try_from(unmatched).unwrap_or(i64::MAX);
    let mut active: entity::statement::ActiveModel = st.clone().into();
    active.unmatched_count = Set(unmatched);
    active.matched_count = Set(st.line_count - unmatched);
    active.updated_at = Set(chrono::Utc::now());
    active.update(db).await
}
