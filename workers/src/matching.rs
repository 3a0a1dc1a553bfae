//! Matching statement lines to the catalogue: ISRC → track, a remembered alias → track,
//! UPC → release, then normalised title + artist → track. Everything stays inside the
//! statement's own organisation. Set-based SQL over chunks of a statement's lines, so a
//! million-line statement is a few hundred statements, not a million, and memory stays flat.
//!
//! The parse job does not use the SQL: it loads the organisation's catalogue once
//! ([`CatalogueIndex`]) and matches each line in memory before it is inserted, by the same
//! rules in the same order, so a line is written once, matched, instead of written and then
//! rewritten by an UPDATE (on PostgreSQL a new row version with all its index entries, which
//! cost more than the insert itself). The SQL remains for lines already stored: an alias set by
//! hand (`matchStatementLines`), and lines an earlier, killed attempt of the job left behind.

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

/// The stored lines one matching pass covers.
#[derive(Debug, Clone, Copy)]
enum Lines {
    /// Every line of the organisation.
    Organization,
    /// The lines of one statement with an id up to `upto` (all of them with `None`).
    Statement { id: i64, upto: Option<i64> },
}

/// One scope for the organisation, or a scope per chunk of the statement's lines.
async fn scopes(
    db: &impl ConnectionTrait,
    organization_id: i64,
    lines: Lines,
) -> Result<Vec<Scope>, DbErr> {
    let Lines::Statement {
        id: statement_id,
        upto,
    } = lines
    else {
        return Ok(vec![Scope {
            sql: "",
            values: vec![organization_id.into()],
        }]);
    };
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(stmt(
            backend,
            "SELECT MIN(id) AS first_id, MAX(id) AS last_id FROM statement_lines \
             WHERE statement_id = $1 AND id <= $2",
            vec![statement_id.into(), upto.unwrap_or(i64::MAX).into()],
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
    let lines = match statement_id {
        Some(id) => Lines::Statement { id, upto: None },
        None => Lines::Organization,
    };
    match_stored(db, organization_id, lines).await
}

/// Matches the unmatched lines of one statement whose id is at most `upto`: those an earlier
/// attempt of the parse job stored before it was killed, or every line with `i64::MAX`.
/// Returns how many lines it matched.
///
/// # Errors
/// Database failures.
pub async fn match_statement_lines_upto(
    db: &impl ConnectionTrait,
    organization_id: i64,
    statement_id: i64,
    upto: i64,
) -> Result<u64, DbErr> {
    let lines = Lines::Statement {
        id: statement_id,
        upto: Some(upto),
    };
    match_stored(db, organization_id, lines).await
}

async fn match_stored(
    db: &impl ConnectionTrait,
    organization_id: i64,
    lines: Lines,
) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let scopes = scopes(db, organization_id, lines).await?;
    let mut matched = 0;

    for scope in &scopes {
        let scope_sql = scope.sql;
        // 1. ISRC → track, and its release in the same write: every UPDATE rewrites the row
        // (on PostgreSQL a new version with all its index entries), so filling the release
        // afterwards would write each matched line twice.
        let mut updates = vec![format!(
            "UPDATE statement_lines SET match_method = 'isrc', \
               track_id = (SELECT t.id FROM tracks t WHERE t.organization_id = $1 AND t.isrc = statement_lines.isrc), \
               release_id = (SELECT t.release_id FROM tracks t WHERE t.organization_id = $1 AND t.isrc = statement_lines.isrc) \
             WHERE organization_id = $1 AND {scope_sql} track_id IS NULL AND release_id IS NULL AND isrc IS NOT NULL \
               AND EXISTS (SELECT 1 FROM tracks t WHERE t.organization_id = $1 AND t.isrc = statement_lines.isrc)"
        )];

        // 2. A remembered alias (an identifier a manager assigned to a track), by ISRC or UPC.
        for column in ["isrc", "upc"] {
            updates.push(format!(
                "UPDATE statement_lines SET match_method = 'alias', \
                   track_id = (SELECT a.track_id FROM identifier_aliases a WHERE a.organization_id = $1 AND a.identifier = statement_lines.{column}), \
                   release_id = (SELECT t.release_id FROM identifier_aliases a JOIN tracks t ON t.id = a.track_id \
                     WHERE a.organization_id = $1 AND a.identifier = statement_lines.{column}) \
                 WHERE organization_id = $1 AND {scope_sql} track_id IS NULL AND release_id IS NULL AND {column} IS NOT NULL \
                   AND EXISTS (SELECT 1 FROM identifier_aliases a WHERE a.organization_id = $1 AND a.identifier = statement_lines.{column})"
            ));
        }

        // 3. UPC → release (a sale of the whole release, or a line without an ISRC).
        updates.push(format!(
            "UPDATE statement_lines SET match_method = 'upc', \
               release_id = (SELECT r.id FROM releases r WHERE r.organization_id = $1 AND r.upc = statement_lines.upc) \
             WHERE organization_id = $1 AND {scope_sql} track_id IS NULL AND release_id IS NULL AND upc IS NOT NULL \
               AND EXISTS (SELECT 1 FROM releases r WHERE r.organization_id = $1 AND r.upc = statement_lines.upc)"
        ));

        // In this order: each step takes only the lines the ones before left unmatched.
        for sql in &updates {
            matched += db
                .execute_raw(stmt(backend, sql, scope.values()))
                .await?
                .rows_affected();
        }
    }

    // 4. Normalised title + artist → track, for what is left.
    matched += match_by_title(db, organization_id, lines).await?;

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
    lines: Lines,
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
    let (statement_id, upto) = match lines {
        Lines::Statement { id, upto } => (Some(id), upto),
        Lines::Organization => (None, None),
    };
    if let Some(id) = statement_id {
        pending = pending.filter(statement_line::Column::StatementId.eq(id));
    }
    if let Some(upto) = upto {
        pending = pending.filter(statement_line::Column::Id.lte(upto));
    }
    let pairs: Vec<(Option<String>, Option<String>)> = pending.into_tuple().all(db).await?;
    if pairs.is_empty() {
        return Ok(0);
    }
    let index = title_index(db, organization_id).await?;
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
        let Some(Some((track_id, _))) = index.get(&key) else {
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
                values.push(upto.unwrap_or(i64::MAX).into());
                "AND statement_id = $5 AND id <= $6"
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

/// The catalogue's (normalised title, normalised credited artist) keys, each to its track and
/// the track's release; a key shared by two tracks is ambiguous and matches neither (`None`).
/// Every credit counts, whatever its role.
async fn title_index(
    db: &impl ConnectionTrait,
    organization_id: i64,
) -> Result<HashMap<(String, String), Option<(i64, i64)>>, DbErr> {
    let tracks: Vec<(i64, i64, String)> = track::Entity::find()
        .select_only()
        .column(track::Column::Id)
        .column(track::Column::ReleaseId)
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
    let titles: HashMap<i64, (String, i64)> = tracks
        .into_iter()
        .map(|(id, release_id, t)| (id, (domain::text::normalize_title(&t), release_id)))
        .collect();
    let mut index: HashMap<(String, String), Option<(i64, i64)>> = HashMap::new();
    for (track_id, artist_id) in credits {
        let (Some((title, release_id)), Some(name)) =
            (titles.get(&track_id), artists.get(&artist_id))
        else {
            continue;
        };
        index
            .entry((title.clone(), name.clone()))
            .and_modify(|existing| {
                if existing.is_some_and(|(id, _)| id != track_id) {
                    *existing = None;
                }
            })
            .or_insert(Some((track_id, *release_id)));
    }
    Ok(index)
}

/// What matching sets on a line: its track (none for a release-level match), its release, and
/// how it was found (`isrc`, `alias`, `upc`, `title`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineMatch {
    pub track_id: Option<i64>,
    pub release_id: i64,
    pub method: &'static str,
}

/// An organisation's catalogue as matching needs it, loaded once per parse job, so that lines
/// are matched in memory as they are written (see the module doc). [`CatalogueIndex::match_line`]
/// applies the rules of [`match_lines`] in the same order: ISRC → track, alias by ISRC then by
/// UPC → track, UPC → release, normalised title + artist → track (unless ambiguous).
///
/// Two indexes compare equal when they would match every line alike, which the parse job uses
/// to notice a catalogue that changed while it ran.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CatalogueIndex {
    /// ISRC → (track, its release).
    isrc: HashMap<String, (i64, i64)>,
    /// Identifier (ISRC or UPC) → (track, its release).
    aliases: HashMap<String, (i64, i64)>,
    /// UPC → release.
    upc: HashMap<String, i64>,
    titles: HashMap<(String, String), Option<(i64, i64)>>,
}

impl CatalogueIndex {
    /// Loads the organisation's tracks, aliases, releases and credits.
    ///
    /// # Errors
    /// Database failures.
    pub async fn load(db: &impl ConnectionTrait, organization_id: i64) -> Result<Self, DbErr> {
        let backend = db.get_database_backend();
        let pairs = |sql: &str| {
            let statement = stmt(backend, sql, vec![organization_id.into()]);
            async move {
                db.query_all_raw(statement)
                    .await?
                    .into_iter()
                    .map(|row| {
                        Ok((
                            row.try_get::<String>("", "key")?,
                            row.try_get::<i64>("", "track_id")?,
                            row.try_get::<i64>("", "release_id")?,
                        ))
                    })
                    .collect::<Result<Vec<_>, DbErr>>()
            }
        };
        let isrc = pairs(
            "SELECT isrc AS key, id AS track_id, release_id FROM tracks \
             WHERE organization_id = $1 AND isrc IS NOT NULL",
        )
        .await?
        .into_iter()
        .map(|(key, track, release)| (key, (track, release)))
        .collect();
        let aliases = pairs(
            "SELECT a.identifier AS key, a.track_id AS track_id, t.release_id AS release_id \
             FROM identifier_aliases a JOIN tracks t ON t.id = a.track_id WHERE a.organization_id = $1",
        )
        .await?
        .into_iter()
        .map(|(key, track, release)| (key, (track, release)))
        .collect();
        // The release stands in both id columns: a UPC names a release, not a track.
        let upc = pairs(
            "SELECT upc AS key, id AS track_id, id AS release_id FROM releases \
             WHERE organization_id = $1 AND upc IS NOT NULL",
        )
        .await?
        .into_iter()
        .map(|(key, _, release)| (key, release))
        .collect();
        let titles = title_index(db, organization_id).await?;
        Ok(Self {
            isrc,
            aliases,
            upc,
            titles,
        })
    }

    /// The match [`match_lines`] would give a line with these fields, if any.
    #[must_use]
    pub fn match_line(
        &self,
        isrc: Option<&str>,
        upc: Option<&str>,
        title: Option<&str>,
        artist_name: Option<&str>,
    ) -> Option<LineMatch> {
        let track = |(track_id, release_id): (i64, i64), method| LineMatch {
            track_id: Some(track_id),
            release_id,
            method,
        };
        if let Some(found) = isrc.and_then(|i| self.isrc.get(i)) {
            return Some(track(*found, "isrc"));
        }
        for identifier in [isrc, upc].into_iter().flatten() {
            if let Some(found) = self.aliases.get(identifier) {
                return Some(track(*found, "alias"));
            }
        }
        if let Some(release_id) = upc.and_then(|u| self.upc.get(u)) {
            return Some(LineMatch {
                track_id: None,
                release_id: *release_id,
                method: "upc",
            });
        }
        let (Some(title), Some(artist_name)) = (title, artist_name) else {
            return None;
        };
        if self.titles.is_empty() {
            return None;
        }
        let key = (
            domain::text::normalize_title(title),
            domain::text::normalize_title(artist_name),
        );
        match self.titles.get(&key) {
            Some(Some(found)) => Some(track(*found, "title")),
            _ => None,
        }
    }
}

/// Matches every unmatched line of the organisation's parsed statements, and sends what it
/// newly matched on to the money and the analytics: each statement whose lines changed gets its
/// allocation (which writes only what is missing) and the roll-ups of its months refreshed, as
/// jobs. Whatever matched lines (an identifier assigned, a track or release whose identifiers
/// changed) calls this, so nothing else needs calling. Returns how many lines it matched.
///
/// Idempotent: a statement's stored counts are brought up to date only after its jobs are
/// queued, so a retry after a failure in between queues them again (both jobs are idempotent)
/// rather than never.
///
/// # Errors
/// Database or queue failures.
pub async fn match_and_flow(
    db: &impl ConnectionTrait,
    queue: &crate::JobQueue,
    organization_id: i64,
) -> anyhow::Result<u64> {
    use sea_orm::QuerySelect;
    let waiting: Vec<(i64, i64)> = entity::statement::Entity::find()
        .select_only()
        .column(entity::statement::Column::Id)
        .column(entity::statement::Column::UnmatchedCount)
        .filter(entity::statement::Column::OrganizationId.eq(organization_id))
        .filter(entity::statement::Column::Status.eq(crate::ingest::STATUS_PARSED))
        .filter(entity::statement::Column::UnmatchedCount.gt(0))
        .into_tuple()
        .all(db)
        .await?;
    let mut matched = 0;
    for (statement_id, stored_unmatched) in waiting {
        matched += match_lines(db, organization_id, Some(statement_id)).await?;
        if count_unmatched(db, statement_id).await? == stored_unmatched {
            continue;
        }
        queue
            .push(crate::Job::AllocateStatement { statement_id })
            .await?;
        queue
            .push(crate::Job::RefreshAnalytics {
                organization_id,
                statement_id: Some(statement_id),
            })
            .await?;
        refresh_counts(db, statement_id).await?;
    }
    Ok(matched)
}

/// The statement's lines that match neither a track nor a release, as stored now.
async fn count_unmatched(db: &impl ConnectionTrait, statement_id: i64) -> Result<i64, DbErr> {
    use sea_orm::PaginatorTrait;
    let unmatched = statement_line::Entity::find()
        .filter(statement_line::Column::StatementId.eq(statement_id))
        .filter(statement_line::Column::TrackId.is_null())
        .filter(statement_line::Column::ReleaseId.is_null())
        .count(db)
        .await?;
    Ok(i64::try_from(unmatched).unwrap_or(i64::MAX))
}

/// Recounts a statement's matched and unmatched lines after matching changed them.
///
/// # Errors
/// Database failures, or a statement that does not exist.
pub async fn refresh_counts(
    db: &impl ConnectionTrait,
    statement_id: i64,
) -> Result<entity::statement::Model, DbErr> {
    use sea_orm::{ActiveModelTrait, Set};
    let st = entity::statement::Entity::find_by_id(statement_id)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("statement {statement_id}")))?;
    let unmatched = count_unmatched(db, statement_id).await?;
    let mut active: entity::statement::ActiveModel = st.clone().into();
    active.unmatched_count = Set(unmatched);
    active.matched_count = Set(st.line_count - unmatched);
    active.updated_at = Set(chrono::Utc::now());
    active.update(db).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::DatabaseConnection;

    /// The columns matching reads, on an in-memory SQLite database.
    async fn schema() -> DatabaseConnection {
        let db = entity::db::connect("sqlite::memory:")
            .await
            .expect("sqlite");
        for sql in [
            "CREATE TABLE artists (id INTEGER PRIMARY KEY, organization_id BIGINT NOT NULL, name TEXT NOT NULL)",
            "CREATE TABLE releases (id INTEGER PRIMARY KEY, organization_id BIGINT NOT NULL, upc TEXT)",
            "CREATE TABLE tracks (id INTEGER PRIMARY KEY, organization_id BIGINT NOT NULL, release_id BIGINT NOT NULL, \
               title TEXT NOT NULL, isrc TEXT)",
            "CREATE TABLE track_artists (id INTEGER PRIMARY KEY, organization_id BIGINT NOT NULL, track_id BIGINT NOT NULL, \
               artist_id BIGINT NOT NULL, role TEXT NOT NULL)",
            "CREATE TABLE identifier_aliases (id INTEGER PRIMARY KEY, organization_id BIGINT NOT NULL, identifier TEXT NOT NULL, \
               track_id BIGINT NOT NULL)",
            "CREATE TABLE statement_lines (id INTEGER PRIMARY KEY, organization_id BIGINT NOT NULL, statement_id BIGINT NOT NULL, \
               isrc TEXT, upc TEXT, title TEXT, artist_name TEXT, track_id BIGINT, release_id BIGINT, match_method TEXT)",
        ] {
            db.execute_unprepared(sql).await.expect("schema");
        }
        db
    }

    /// Every rule, its precedence and the title ambiguity, in two organisations: the lines as
    /// the SQL matches them after they are stored are the lines as the index matches them
    /// before.
    #[tokio::test]
    async fn the_index_matches_every_line_as_the_sql_does() {
        let db = schema().await;
        for sql in [
            // Organisation 1: releases 10 (UPC 111) and 11 (UPC 222); organisation 2: release 20
            // (UPC 111 too).
            "INSERT INTO artists VALUES (1, 1, 'Ädele & Co'), (2, 1, 'Bob'), (3, 1, 'Guest'), (9, 2, 'Bob')",
            "INSERT INTO releases VALUES (10, 1, '111'), (11, 1, '222'), (12, 1, NULL), (20, 2, '111')",
            "INSERT INTO tracks VALUES \
               (100, 1, 10, 'Hello World', 'AAA000000001'), \
               (101, 1, 11, 'Twin', 'AAA000000002'), \
               (102, 1, 12, 'Twin', NULL), \
               (103, 1, 12, 'Solo!', NULL), \
               (104, 1, 11, 'Shared Key', NULL), \
               (200, 2, 20, 'Hello World', 'BBB000000001')",
            // 'Twin' by Bob twice (ambiguous); 'Solo' by Adele and by a guest (both match 103);
            // 'Shared Key' by Bob on 104 only, but 'Twin' also credits the guest once.
            "INSERT INTO track_artists VALUES \
               (1, 1, 100, 1, 'primary'), (2, 1, 101, 2, 'primary'), (3, 1, 102, 2, 'primary'), \
               (4, 1, 103, 1, 'primary'), (5, 1, 103, 3, 'featured'), (6, 1, 104, 2, 'primary'), \
               (7, 1, 101, 3, 'remixer'), (8, 2, 200, 9, 'primary')",
            // An alias by ISRC to 103, one by UPC to 104, and organisation 2's own.
            "INSERT INTO identifier_aliases VALUES (1, 1, 'ZZZ000000009', 103), (2, 1, '333', 104), \
               (3, 2, 'ZZZ000000008', 200)",
        ] {
            db.execute_unprepared(sql).await.expect("catalogue");
        }
        type Line = (
            Option<&'static str>,
            Option<&'static str>,
            Option<&'static str>,
            Option<&'static str>,
        );
        let lines: Vec<Line> = vec![
            (Some("AAA000000001"), None, None, None), // isrc
            (Some("AAA000000001"), Some("222"), Some("Twin"), Some("Bob")), // isrc beats all
            (Some("aaa000000001"), None, None, None), // case differs: no isrc
            (Some("ZZZ000000009"), Some("111"), None, None), // alias by isrc beats upc
            (Some("XXX000000000"), Some("333"), None, None), // alias by upc
            (Some("ZZZ000000008"), None, None, None), // another organisation's alias
            (None, Some("111"), Some("Hello World"), Some("Ädele & Co")), // upc beats title
            (Some("BBB000000001"), Some("999"), None, None), // another organisation's isrc
            (None, None, Some("hello   world!"), Some("adele and co")), // title, normalised
            (None, None, Some("Twin"), Some("Bob")),  // ambiguous
            (None, None, Some("Twin"), Some("Guest")), // one track for the guest
            (None, None, Some("Solo"), Some("GUEST")), // featured counts
            (None, None, Some("Solo"), None),         // no artist
            (None, None, None, Some("Bob")),          // no title
            (None, None, Some("Shared Key"), Some("Bob")),
            (None, Some("444"), Some("Unknown"), Some("Bob")), // nothing
        ];
        for (i, (isrc, upc, title, artist)) in lines.iter().enumerate() {
            db.execute_raw(stmt(
                DbBackend::Sqlite,
                "INSERT INTO statement_lines (id, organization_id, statement_id, isrc, upc, title, artist_name) \
                 VALUES ($1, 1, 5, $2, $3, $4, $5)",
                vec![
                    i64::try_from(i + 1).expect("small").into(),
                    isrc.map(str::to_owned).into(),
                    upc.map(str::to_owned).into(),
                    title.map(str::to_owned).into(),
                    artist.map(str::to_owned).into(),
                ],
            ))
            .await
            .expect("line");
        }
        let index = CatalogueIndex::load(&db, 1).await.expect("index");
        let matched = match_lines(&db, 1, Some(5)).await.expect("sql");
        let stored = db
            .query_all_raw(stmt(
                DbBackend::Sqlite,
                "SELECT track_id, release_id, match_method FROM statement_lines ORDER BY id",
                vec![],
            ))
            .await
            .expect("lines");
        let mut expected_matched = 0;
        for ((isrc, upc, title, artist), row) in lines.iter().zip(stored) {
            let from_sql = (
                row.try_get::<Option<i64>>("", "track_id").expect("track"),
                row.try_get::<Option<i64>>("", "release_id")
                    .expect("release"),
                row.try_get::<Option<String>>("", "match_method")
                    .expect("method"),
            );
            let found = index.match_line(*isrc, *upc, *title, *artist);
            expected_matched += u64::from(found.is_some());
            let from_index = (
                found.and_then(|m| m.track_id),
                found.map(|m| m.release_id),
                found.map(|m| m.method.to_owned()),
            );
            assert_eq!(
                from_index, from_sql,
                "line {isrc:?} {upc:?} {title:?} {artist:?}"
            );
        }
        assert_eq!(matched, expected_matched);
        // What the case analysis above promises, so that the comparison is not vacuous.
        let methods: Vec<Option<&str>> = lines
            .iter()
            .map(|(i, u, t, a)| index.match_line(*i, *u, *t, *a).map(|m| m.method))
            .collect();
        assert_eq!(
            methods,
            [
                Some("isrc"),
                Some("isrc"),
                None,
                Some("alias"),
                Some("alias"),
                None,
                Some("upc"),
                None,
                Some("title"),
                None,
                Some("title"),
                Some("title"),
                None,
                None,
                Some("title"),
                None,
            ]
        );
        // A catalogue change shows as a different index.
        db.execute_unprepared("INSERT INTO identifier_aliases VALUES (4, 1, '444', 100)")
            .await
            .expect("alias");
        assert_ne!(CatalogueIndex::load(&db, 1).await.expect("index"), index);
    }

    /// Lines up to an id are matched; later ones are left to the parse job's own matching.
    #[tokio::test]
    async fn matching_stops_at_the_bound() {
        let db = schema().await;
        for sql in [
            "INSERT INTO releases VALUES (10, 1, NULL)",
            "INSERT INTO tracks VALUES (100, 1, 10, 'T', 'AAA000000001')",
            "INSERT INTO statement_lines (id, organization_id, statement_id, isrc) VALUES \
               (1, 1, 5, 'AAA000000001'), (2, 1, 5, 'AAA000000001'), (3, 1, 5, 'AAA000000001'), \
               (4, 1, 6, 'AAA000000001')",
        ] {
            db.execute_unprepared(sql).await.expect("rows");
        }
        assert_eq!(
            match_statement_lines_upto(&db, 1, 5, 2).await.expect("sql"),
            2
        );
        let unmatched = db
            .query_all_raw(stmt(
                DbBackend::Sqlite,
                "SELECT id FROM statement_lines WHERE track_id IS NULL ORDER BY id",
                vec![],
            ))
            .await
            .expect("rows")
            .into_iter()
            .map(|r| r.try_get::<i64>("", "id").expect("id"))
            .collect::<Vec<_>>();
        assert_eq!(unmatched, [3, 4]);
    }
}
