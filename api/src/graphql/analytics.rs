//! Roster analytics, read from the monthly roll-ups: one indexed aggregate per query, whatever
//! the number of statement lines behind it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::NaiveDate;
use domain::analytics::{Dimension, Grain, smallest_covering};
use domain::period::{MonthSpan, PeriodError, first_of_month};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use tokio::sync::broadcast;
use workers::{Event, EventBus};

use super::access::{ContextExt, OrgAccess, Permission};
use super::accounts::decode_or_not_found;
use super::catalogue::{Release, Track};
use super::error::{ApiError, ApiResult};
use super::guard;
use super::ids::Kind;
use super::loaders::Loaders;
use super::money::Money;
use super::roster::Artist;

/// What analytics can be grouped by.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnalyticsDimension {
    Artist,
    Release,
    Track,
    Store,
    Territory,
    Month,
}

impl AnalyticsDimension {
    /// The roll-up dimension; `None` for the month, which every roll-up keeps.
    fn kept(self) -> Option<Dimension> {
        match self {
            Self::Artist => Some(Dimension::Artist),
            Self::Release => Some(Dimension::Release),
            Self::Track => Some(Dimension::Track),
            Self::Store => Some(Dimension::Store),
            Self::Territory => Some(Dimension::Territory),
            Self::Month => None,
        }
    }

    fn column(self) -> &'static str {
        match self {
            Self::Artist => "artist_id",
            Self::Release => "release_id",
            Self::Track => "track_id",
            Self::Store => "store",
            Self::Territory => "territory",
            Self::Month => "month",
        }
    }
}

#[derive(InputObject, Default)]
pub struct AnalyticsFilter {
    pub artist_ids: Option<Vec<ID>>,
    pub release_ids: Option<Vec<ID>>,
    pub track_ids: Option<Vec<ID>>,
    pub stores: Option<Vec<String>>,
    /// ISO 3166 alpha-2 codes.
    pub territories: Option<Vec<String>>,
    /// First month included (any day of it).
    pub from: Option<NaiveDate>,
    /// Last month included (any day of it).
    pub to: Option<NaiveDate>,
}

#[derive(InputObject, Clone, Copy)]
pub struct PeriodInput {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// A group's numbers, kept in nano-units; money is formatted only when a client reads it.
#[derive(Clone, Debug, Default)]
pub struct AnalyticsFigures {
    quantity: i64,
    base_currency: String,
    earnings_base_nanos: i64,
    /// (currency, nano-units), sorted by currency.
    earnings_by_currency: Vec<(String, i64)>,
    line_count: i64,
}

impl AnalyticsFigures {
    fn empty(base_currency: &str) -> Self {
        Self {
            base_currency: base_currency.to_owned(),
            ..Self::default()
        }
    }

    fn add(&mut self, other: &Self) {
        self.quantity += other.quantity;
        self.earnings_base_nanos += other.earnings_base_nanos;
        self.line_count += other.line_count;
        for (currency, nanos) in &other.earnings_by_currency {
            match self
                .earnings_by_currency
                .binary_search_by(|(c, _)| c.cmp(currency))
            {
                Ok(i) => self.earnings_by_currency[i].1 += nanos,
                Err(i) => self
                    .earnings_by_currency
                    .insert(i, (currency.clone(), *nanos)),
            }
        }
    }
}

#[Object]
impl AnalyticsFigures {
    async fn quantity(&self) -> i64 {
        self.quantity
    }
    /// In the organisation's base currency.
    async fn earnings(&self) -> Money {
        Money::from_nanos(self.earnings_base_nanos, &self.base_currency)
    }
    /// The same earnings in the currencies the statements reported them in.
    async fn earnings_by_currency(&self) -> Vec<Money> {
        self.earnings_by_currency
            .iter()
            .map(|(c, n)| Money::from_nanos(*n, c))
            .collect()
    }
    async fn line_count(&self) -> i64 {
        self.line_count
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    artist_id: Option<i64>,
    release_id: Option<i64>,
    track_id: Option<i64>,
    store: Option<String>,
    territory: Option<String>,
    month: Option<NaiveDate>,
}

/// One group of the result; the dimensions not grouped by are null.
#[derive(Clone, Debug)]
pub struct AnalyticsRow {
    /// The organisation whose roll-ups the row sums: its artist, release and track are looked
    /// up among that organisation's rows kept by [`AnalyticsCache`].
    organization_id: i64,
    key: Key,
    figures: AnalyticsFigures,
}

/// The row `id` names, as kept with the organisation's scope, else through the request's
/// loader (one query for all the rows of a result) and then kept.
async fn named<M, L>(
    ctx: &Context<'_>,
    organization_id: i64,
    id: i64,
    loader: impl FnOnce(&Loaders) -> &DataLoader<L>,
) -> async_graphql::Result<Option<M>>
where
    M: NamedRow,
    L: Loader<i64, Value = M, Error = Arc<sea_orm::DbErr>>,
{
    let cache = &ctx.state().analytics_cache;
    let (mut found, missing) = cache.known::<M>(organization_id, std::iter::once(id));
    if missing.is_empty() {
        return Ok(found.remove(&id));
    }
    let read_at = Instant::now();
    let row = loader(ctx.data_unchecked::<Loaders>()).load_one(id).await?;
    let read: HashMap<i64, M> = row.iter().map(|r| (id, r.clone())).collect();
    cache.remember_named(organization_id, &missing, &read, read_at);
    Ok(row)
}

#[Object]
impl AnalyticsRow {
    /// The artist, for a caller who may read the catalogue (its name is beside the figures).
    async fn artist(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Artist>> {
        let Some(id) = self.key.artist_id.filter(|id| *id > 0) else {
            return Ok(None);
        };
        let row = named(ctx, self.organization_id, id, |l| &l.artist).await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Artist))
    }
    /// The artist's name: the name beside the figures, for whoever reads them.
    async fn artist_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let Some(id) = self.key.artist_id.filter(|id| *id > 0) else {
            return Ok(None);
        };
        let row = named(ctx, self.organization_id, id, |l| &l.artist).await?;
        Ok(row.map(|r| r.name))
    }
    /// The release, for a caller who may read the catalogue (its name is beside the figures).
    async fn release(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Release>> {
        let Some(id) = self.key.release_id.filter(|id| *id > 0) else {
            return Ok(None);
        };
        let row = named(ctx, self.organization_id, id, |l| &l.release).await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Release))
    }
    /// The release's title: the name beside the figures, for whoever reads them.
    async fn release_title(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let Some(id) = self.key.release_id.filter(|id| *id > 0) else {
            return Ok(None);
        };
        let row = named(ctx, self.organization_id, id, |l| &l.release).await?;
        Ok(row.map(|r| r.title))
    }
    /// The track, for a caller who may read the catalogue (its name is beside the figures).
    async fn track(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Track>> {
        let Some(id) = self.key.track_id.filter(|id| *id > 0) else {
            return Ok(None);
        };
        let row = named(ctx, self.organization_id, id, |l| &l.track).await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Track))
    }
    /// The track's title: the name beside the figures, for whoever reads them.
    async fn track_title(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let Some(id) = self.key.track_id.filter(|id| *id > 0) else {
            return Ok(None);
        };
        let row = named(ctx, self.organization_id, id, |l| &l.track).await?;
        Ok(row.map(|r| r.title))
    }
    async fn store(&self) -> Option<&str> {
        self.key.store.as_deref()
    }
    async fn territory(&self) -> Option<&str> {
        self.key.territory.as_deref()
    }
    /// First day of the month.
    async fn month(&self) -> Option<NaiveDate> {
        self.key.month
    }
    async fn figures(&self) -> &AnalyticsFigures {
        &self.figures
    }
}

#[derive(SimpleObject)]
pub struct AnalyticsResult {
    pub totals: AnalyticsFigures,
    /// Groups, largest earnings first.
    pub rows: Vec<AnalyticsRow>,
    /// Groups beyond `first` that were not returned.
    pub more_rows: i64,
}

/// Builds the WHERE clause and its values; `$1` is the organisation.
struct Where {
    sql: String,
    values: Vec<sea_orm::Value>,
    /// The dimensions filtered on: a roll-up answers only if it keeps them.
    filtered: Vec<Dimension>,
}

impl Where {
    fn new(organization_id: i64) -> Self {
        Self {
            sql: "organization_id = $1".into(),
            values: vec![organization_id.into()],
            filtered: Vec::new(),
        }
    }

    fn add_in<V: Into<sea_orm::Value> + Clone>(&mut self, dimension: Dimension, items: &[V]) {
        let column = workers::jobs::analytics_rollups::column(dimension);
        self.filtered.push(dimension);
        let start = self.values.len() + 1;
        let placeholders: Vec<String> = (start..start + items.len())
            .map(|i| format!("${i}"))
            .collect();
        self.sql
            .push_str(&format!(" AND {column} IN ({})", placeholders.join(", ")));
        self.values.extend(items.iter().cloned().map(Into::into));
    }

    fn add_cmp(&mut self, column: &str, op: &str, value: impl Into<sea_orm::Value>) {
        self.values.push(value.into());
        self.sql
            .push_str(&format!(" AND {column} {op} ${}", self.values.len()));
    }
}

fn decode_all(kind: Kind, ids: &Option<Vec<ID>>) -> ApiResult<Option<Vec<i64>>> {
    ids.as_ref()
        .map(|list| {
            list.iter()
                .map(|id| decode_or_not_found(kind, id))
                .collect()
        })
        .transpose()
}

/// The filter as SQL, with the artist scope of an artist member enforced.
fn build_where(access: &OrgAccess, filter: &AnalyticsFilter) -> ApiResult<Where> {
    let mut w = Where::new(access.organization_id);
    let mut artists = decode_all(Kind::Artist, &filter.artist_ids)?;
    if let Some(own) = access.artist_id {
        match &artists {
            Some(list) if list.iter().any(|a| *a != own) => {
                // Another artist does not exist for her.
                return Err(ApiError::NotFound("Artist"));
            }
            _ => artists = Some(vec![own]),
        }
    }
    if let Some(list) = artists.filter(|l| !l.is_empty()) {
        w.add_in(Dimension::Artist, &list);
    }
    if let Some(list) = decode_all(Kind::Release, &filter.release_ids)?.filter(|l| !l.is_empty()) {
        w.add_in(Dimension::Release, &list);
    }
    if let Some(list) = decode_all(Kind::Track, &filter.track_ids)?.filter(|l| !l.is_empty()) {
        w.add_in(Dimension::Track, &list);
    }
    if let Some(list) = filter.stores.as_ref().filter(|l| !l.is_empty()) {
        w.add_in(Dimension::Store, list);
    }
    if let Some(list) = filter.territories.as_ref().filter(|l| !l.is_empty()) {
        let upper: Vec<String> = list.iter().map(|t| t.trim().to_uppercase()).collect();
        w.add_in(Dimension::Territory, &upper);
    }
    if let Some(from) = filter.from {
        w.add_cmp("month", ">=", first_of_month(from));
    }
    if let Some(to) = filter.to {
        w.add_cmp("month", "<=", first_of_month(to));
    }
    Ok(w)
}

/// Answers already computed, keyed by the organisation's analytics version: a refresh bumps
/// the version, so an entry can only be hit while the roll-ups it summed are unchanged. Each
/// process keeps its own; nothing in it is needed by another process.
///
/// The version itself is cached too, so that a cached answer costs no query. It is forgotten
/// when a refresh is announced on the event bus (`Event::AnalyticsRefreshed`, published by the
/// `RefreshAnalytics` job after it commits), and in any case re-read once it is older than
/// `IMPRINT_ANALYTICS_VERSION_CHECK_MS`. So a refresh shows as soon as its event reaches this
/// process, and at the latest one check interval after it committed if the event was lost (a
/// Redis outage, or a job run by a process on another in-process bus).
#[derive(Debug)]
pub struct AnalyticsCache {
    entries: Mutex<HashMap<String, Arc<Vec<AnalyticsRow>>>>,
    scopes: Mutex<KnownScopes>,
    /// How long a version read from the database is trusted.
    version_check: Duration,
    /// One reader per organisation of what expired together (its version, then the rows named
    /// beside its figures): when they expire under load, every request in flight would read
    /// them at once; the others wait for the one reading and take its answer.
    readers: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    /// One computation per answer not yet kept (single flight): the requests that ask for the
    /// same one meanwhile wait for it and take its answer instead of running the same SQL.
    flights: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Bounds the aggregates computed at once, so that after a refresh the cold ones leave
    /// connections to the requests whose answers are kept (those never wait for a permit).
    cold: tokio::sync::Semaphore,
    /// Aggregates computed (not found kept) so far; tests count them.
    computed: AtomicU64,
    /// Answer every aggregate from the full roll-up; tests compare the grains with it.
    full_only: AtomicBool,
}

/// Each organisation's version as last read, and the bus that says when it moved.
#[derive(Debug, Default)]
struct KnownScopes {
    entries: HashMap<i64, KnownScope>,
    refreshes: Option<broadcast::Receiver<Event>>,
    /// Bumped whenever a version is forgotten: a read that started before does not store what
    /// it read, which may be the version just replaced.
    generation: u64,
}

impl KnownScopes {
    /// Applies the refreshes announced since the last look.
    fn catch_up(&mut self) {
        let pending = workers::events::drain(&mut self.refreshes);
        if pending.lagged {
            // Events were skipped, refreshes maybe among them: trust no version.
            self.entries.clear();
            self.generation += 1;
        }
        for event in pending.events {
            if let Event::AnalyticsRefreshed { organization_id } = event {
                self.entries.remove(&organization_id);
                self.generation += 1;
            }
        }
    }
}

/// An organisation's scope as read at `read_at`, and the roster rows named beside its figures,
/// which are trusted exactly as long (see [`AnalyticsCache::known`]).
#[derive(Debug)]
struct KnownScope {
    scope: Scope,
    read_at: Instant,
    named: Named,
}

/// Artists, releases and tracks by id; `None` for an id the roll-ups hold but the catalogue no
/// longer does.
#[derive(Debug, Default)]
struct Named {
    artists: HashMap<i64, Option<entity::artist::Model>>,
    releases: HashMap<i64, Option<entity::release::Model>>,
    tracks: HashMap<i64, Option<entity::track::Model>>,
}

/// A row kind that analytics names beside its figures.
trait NamedRow: Clone + Send + Sync + 'static {
    fn in_named(named: &mut Named) -> &mut HashMap<i64, Option<Self>>;
    fn id(&self) -> i64;
    /// The organisation's rows of `ids`.
    fn read(
        db: &sea_orm::DatabaseConnection,
        organization_id: i64,
        ids: &[i64],
    ) -> impl Future<Output = Result<Vec<Self>, sea_orm::DbErr>> + Send;
}

macro_rules! named_row {
    ($module:ident, $field:ident) => {
        impl NamedRow for entity::$module::Model {
            fn in_named(named: &mut Named) -> &mut HashMap<i64, Option<Self>> {
                &mut named.$field
            }
            fn id(&self) -> i64 {
                self.id
            }
            async fn read(
                db: &sea_orm::DatabaseConnection,
                organization_id: i64,
                ids: &[i64],
            ) -> Result<Vec<Self>, sea_orm::DbErr> {
                entity::$module::Entity::find()
                    .filter(entity::$module::Column::Id.is_in(ids.iter().copied()))
                    .filter(entity::$module::Column::OrganizationId.eq(organization_id))
                    .all(db)
                    .await
            }
        }
    };
}

named_row!(artist, artists);
named_row!(release, releases);
named_row!(track, tracks);

/// Bound on the rows of one kind kept per organisation; past it they start afresh.
const NAMED_ENTRIES: usize = 20_000;

/// Bound on cached answers per process; past it the cache starts afresh (old versions are
/// never hit again anyway).
const CACHE_ENTRIES: usize = 10_000;

/// Aggregates computed at once per process; the pool has ten connections by default, and
/// versions, names and cached answers need some while a refresh makes everything cold.
const COLD_AT_ONCE: usize = 6;

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Both maps stay valid whatever a panicking holder was doing: entries go in and out whole.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AnalyticsCache {
    /// A cache that trusts a version read from the database for `version_check` and forgets it
    /// when `events` announces a refresh of its organisation.
    #[must_use]
    pub fn new(version_check: Duration, events: &EventBus) -> Self {
        Self {
            entries: Mutex::default(),
            scopes: Mutex::new(KnownScopes {
                refreshes: Some(events.subscribe()),
                ..KnownScopes::default()
            }),
            version_check,
            readers: Mutex::default(),
            flights: Mutex::default(),
            cold: tokio::sync::Semaphore::new(COLD_AT_ONCE),
            computed: AtomicU64::new(0),
            full_only: AtomicBool::new(false),
        }
    }

    /// Whether aggregates are answered from the full roll-up only, rather than from the
    /// smallest grain that keeps what they filter and group by. For tests that compare both.
    pub fn answer_from_full_rollup(&self, full_only: bool) {
        self.full_only.store(full_only, Ordering::Relaxed);
    }

    /// The smallest roll-up grain that keeps every dimension `where_` filters on and `dims`
    /// groups by; `None` for the full roll-up.
    fn grain_for(&self, where_: &Where, dims: &[AnalyticsDimension]) -> Option<&'static Grain> {
        if self.full_only.load(Ordering::Relaxed) {
            return None;
        }
        let mut needed = where_.filtered.clone();
        needed.extend(dims.iter().filter_map(|d| d.kept()));
        smallest_covering(&needed)
    }

    /// Aggregates this process has computed rather than found kept; tests use it to prove that
    /// requests for the same cold answer compute it once.
    #[must_use]
    pub fn computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }

    /// The answer kept under `key`, else computed by `compute` and kept. Requests for the same
    /// key wait for the one computing it (and then find it kept); computations run at most
    /// [`COLD_AT_ONCE`] at a time.
    async fn get_or_compute<F, Fut>(
        &self,
        key: String,
        compute: F,
    ) -> ApiResult<Arc<Vec<AnalyticsRow>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ApiResult<Vec<AnalyticsRow>>>,
    {
        if let Some(rows) = self.get(&key) {
            return Ok(rows);
        }
        let flight = {
            let mut flights = locked(&self.flights);
            flights.entry(key.clone()).or_default().clone()
        };
        let turn = flight.lock().await;
        let result = async {
            // The request that computed it while this one waited left it here.
            if let Some(rows) = self.get(&key) {
                return Ok(rows);
            }
            let _permit = self.cold.acquire().await.map_err(ApiError::internal)?;
            self.computed.fetch_add(1, Ordering::Relaxed);
            let rows = Arc::new(compute().await?);
            self.put(key.clone(), rows.clone());
            Ok(rows)
        }
        .await;
        drop(turn);
        let mut flights = locked(&self.flights);
        // Only this request and the map hold it: nobody waits, the flight is over.
        if flights
            .get(&key)
            .is_some_and(|f| Arc::ptr_eq(f, &flight) && Arc::strong_count(f) <= 2)
        {
            flights.remove(&key);
        }
        result
    }

    /// Waits for this process's turn to read what is kept for the organisation; `None` when
    /// nothing is kept (a zero interval), where waiting would only queue every request.
    async fn reading(&self, organization_id: i64) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        if self.version_check.is_zero() {
            return None;
        }
        let reader = {
            let mut readers = locked(&self.readers);
            if readers.len() >= CACHE_ENTRIES {
                // Only those nobody holds or waits for.
                readers.retain(|_, reader| Arc::strong_count(reader) > 1);
            }
            readers.entry(organization_id).or_default().clone()
        };
        Some(reader.lock_owned().await)
    }

    fn get(&self, key: &str) -> Option<Arc<Vec<AnalyticsRow>>> {
        locked(&self.entries).get(key).cloned()
    }

    fn put(&self, key: String, rows: Arc<Vec<AnalyticsRow>>) {
        let mut entries = locked(&self.entries);
        if entries.len() >= CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert(key, rows);
    }

    /// The organisation's scope if it was read lately and no refresh was announced since; else
    /// the generation to hand to [`AnalyticsCache::remember`] after reading it.
    #[cfg(test)]
    fn known_scope(&self, organization_id: i64) -> Result<Scope, u64> {
        self.known_scope_at(organization_id).map(|(scope, _)| scope)
    }

    /// [`AnalyticsCache::known_scope`], with the time the known scope was read: what names
    /// this snapshot of the organisation (its version and the rows kept with it).
    fn known_scope_at(&self, organization_id: i64) -> Result<(Scope, Instant), u64> {
        let mut scopes = locked(&self.scopes);
        scopes.catch_up();
        match scopes.entries.get(&organization_id) {
            Some(known) if known.read_at.elapsed() < self.version_check => {
                Ok((known.scope.clone(), known.read_at))
            }
            _ => Err(scopes.generation),
        }
    }

    /// Whether the snapshot of the organisation read at `read_at` is still the one this process
    /// knows and trusts: no refresh announced since, not older than the check interval. An
    /// answer built from that snapshot is then still exact.
    #[must_use]
    pub fn still_current(&self, organization_id: i64, read_at: Instant) -> bool {
        self.known_scope_at(organization_id)
            .is_ok_and(|(_, known_at)| known_at == read_at)
    }

    /// The rows among `ids` known for the organisation, and the ids still to read. Artist,
    /// release and track rows are kept with the organisation's version and forgotten with it,
    /// so a rename shows in the figures at the latest one version check interval after it (and
    /// at once after a refresh); with a zero interval they are read on every request.
    fn known<M: NamedRow>(
        &self,
        organization_id: i64,
        ids: impl Iterator<Item = i64>,
    ) -> (HashMap<i64, M>, Vec<i64>) {
        let mut scopes = locked(&self.scopes);
        scopes.catch_up();
        let mut known = scopes
            .entries
            .get_mut(&organization_id)
            .filter(|known| known.read_at.elapsed() < self.version_check)
            .map(|known| M::in_named(&mut known.named));
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        for id in ids {
            match known.as_mut().and_then(|rows| rows.get(&id)) {
                Some(Some(row)) => {
                    found.insert(id, row.clone());
                }
                Some(None) => {}
                None => missing.push(id),
            }
        }
        (found, missing)
    }

    /// Keeps the rows read for `ids` (those not in `read` are gone from the catalogue; the read
    /// started at `read_at`) with the organisation's scope, if it is still the one known then:
    /// forgotten or read again meanwhile, the rows are not kept, so none outlives the interval
    /// counted from its own read.
    fn remember_named<M: NamedRow>(
        &self,
        organization_id: i64,
        ids: &[i64],
        read: &HashMap<i64, M>,
        read_at: Instant,
    ) {
        let mut scopes = locked(&self.scopes);
        scopes.catch_up();
        if let Some(known) = scopes
            .entries
            .get_mut(&organization_id)
            .filter(|known| known.read_at <= read_at)
        {
            let rows = M::in_named(&mut known.named);
            if rows.len() + ids.len() > NAMED_ENTRIES {
                rows.clear();
            }
            for id in ids {
                rows.insert(*id, read.get(id).cloned());
            }
        }
    }

    /// Keeps a scope read from the database (the read started at `read_at`), unless a refresh
    /// was announced since `generation` was handed out.
    fn remember(&self, scope: Scope, generation: u64, read_at: Instant) {
        if self.version_check.is_zero() {
            return;
        }
        let mut scopes = locked(&self.scopes);
        scopes.catch_up();
        if scopes.generation == generation {
            if scopes.entries.len() >= CACHE_ENTRIES {
                scopes.entries.clear();
            }
            scopes.entries.insert(
                scope.organization_id,
                KnownScope {
                    scope,
                    read_at,
                    named: Named::default(),
                },
            );
        }
    }
}

/// What an aggregate is computed from: the organisation, its analytics version, its base
/// currency.
#[derive(Debug, Clone)]
struct Scope {
    organization_id: i64,
    version: i64,
    base_currency: String,
}

/// Runs one grouped aggregate over the roll-ups.
async fn aggregate(
    ctx: &Context<'_>,
    scope: &Scope,
    where_: &Where,
    group_by: &[AnalyticsDimension],
) -> ApiResult<Arc<Vec<AnalyticsRow>>> {
    let mut dims: Vec<AnalyticsDimension> = Vec::new();
    for d in group_by {
        if !dims.contains(d) {
            dims.push(*d);
        }
    }
    let cache = &ctx.state().analytics_cache;
    let grain = cache.grain_for(where_, &dims);
    let key = format!(
        "{}:{}:{}:{:?}:{dims:?}:{}",
        scope.organization_id,
        scope.version,
        where_.sql,
        where_.values,
        grain.map_or("full", |g| g.name)
    );
    cache
        .get_or_compute(key, || {
            aggregate_uncached(ctx.db(), scope, where_, &dims, grain)
        })
        .await
}

/// The last month with figures under `where_`, if any (kept like an aggregate, as a row
/// grouped by month).
async fn latest_month(
    ctx: &Context<'_>,
    scope: &Scope,
    where_: &Where,
) -> ApiResult<Option<NaiveDate>> {
    let key = format!(
        "latest:{}:{}:{}:{:?}",
        scope.organization_id, scope.version, where_.sql, where_.values
    );
    let rows = ctx
        .state()
        .analytics_cache
        .get_or_compute(key, || async {
            let db = ctx.db();
            let from = ctx
                .state()
                .analytics_cache
                .grain_for(where_, &[])
                .map_or_else(
                    || "analytics_monthly WHERE ".to_owned(),
                    |g| format!("analytics_rollups WHERE grain = '{}' AND ", g.name),
                );
            let sql = format!("SELECT MAX(month) AS latest FROM {from}{}", where_.sql);
            let row = db
                .query_one_raw(Statement::from_sql_and_values(
                    db.get_database_backend(),
                    sql,
                    where_.values.clone(),
                ))
                .await?;
            let latest: Option<NaiveDate> = match row {
                Some(row) => row.try_get("", "latest")?,
                None => None,
            };
            Ok(latest
                .map(|month| AnalyticsRow {
                    organization_id: scope.organization_id,
                    key: Key {
                        month: Some(month),
                        ..Key::default()
                    },
                    figures: AnalyticsFigures::empty(&scope.base_currency),
                })
                .into_iter()
                .collect())
        })
        .await?;
    Ok(rows.first().and_then(|row| row.key.month))
}

async fn aggregate_uncached(
    db: &impl ConnectionTrait,
    scope: &Scope,
    where_: &Where,
    dims: &[AnalyticsDimension],
    grain: Option<&Grain>,
) -> ApiResult<Vec<AnalyticsRow>> {
    let base_currency = scope.base_currency.as_str();
    // The grain's name is one of the identifiers of `GRAINS`, never the caller's text.
    let from = grain.map_or_else(
        || "analytics_monthly WHERE ".to_owned(),
        |g| format!("analytics_rollups WHERE grain = '{}' AND ", g.name),
    );
    let mut select: Vec<String> = dims.iter().map(|d| d.column().to_owned()).collect();
    select.push("currency".into());
    let group = select.join(", ");
    let sql = format!(
        "SELECT {group}, CAST(SUM(quantity) AS BIGINT) AS quantity, CAST(SUM(earnings_base_nanos) AS BIGINT) AS base, \
           CAST(SUM(earnings_nanos) AS BIGINT) AS earnings, CAST(SUM(line_count) AS BIGINT) AS lines \
         FROM {from}{} GROUP BY {group}",
        where_.sql
    );
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            where_.values.clone(),
        ))
        .await?;
    // Fold the per-currency rows into one row per group.
    let mut groups: HashMap<Key, AnalyticsFigures> = HashMap::new();
    for row in rows {
        let mut key = Key::default();
        for d in dims {
            let c = d.column();
            match d {
                AnalyticsDimension::Artist => key.artist_id = Some(row.try_get("", c)?),
                AnalyticsDimension::Release => key.release_id = Some(row.try_get("", c)?),
                AnalyticsDimension::Track => key.track_id = Some(row.try_get("", c)?),
                AnalyticsDimension::Store => key.store = Some(row.try_get("", c)?),
                AnalyticsDimension::Territory => key.territory = Some(row.try_get("", c)?),
                AnalyticsDimension::Month => key.month = Some(row.try_get("", c)?),
            }
        }
        let currency: String = row.try_get("", "currency")?;
        let part = AnalyticsFigures {
            quantity: row.try_get("", "quantity")?,
            base_currency: base_currency.to_owned(),
            earnings_base_nanos: row.try_get("", "base")?,
            earnings_by_currency: vec![(currency, row.try_get("", "earnings")?)],
            line_count: row.try_get("", "lines")?,
        };
        groups
            .entry(key)
            .or_insert_with(|| AnalyticsFigures::empty(base_currency))
            .add(&part);
    }
    let mut result: Vec<AnalyticsRow> = groups
        .into_iter()
        .map(|(key, figures)| AnalyticsRow {
            organization_id: scope.organization_id,
            key,
            figures,
        })
        .collect();
    // Largest earnings first; the key breaks ties, so the order is stable between calls.
    result.sort_by(|a, b| {
        b.figures
            .earnings_base_nanos
            .cmp(&a.figures.earnings_base_nanos)
            .then_with(|| a.key.cmp(&b.key))
    });
    Ok(result)
}

fn totals_of(rows: &[AnalyticsRow], base_currency: &str) -> AnalyticsFigures {
    let mut totals = AnalyticsFigures::empty(base_currency);
    for row in rows {
        totals.add(&row.figures);
    }
    totals
}

/// The organisation snapshots a request's analytics answers were computed from: each
/// organisation with the time its version was read. An answer may be served again while every
/// snapshot it used is [`AnalyticsCache::still_current`] (see `crate::http`).
#[derive(Debug, Default)]
pub struct ObservedScopes(Mutex<Vec<(i64, Instant)>>);

impl ObservedScopes {
    /// The snapshots observed so far.
    #[must_use]
    pub fn take(&self) -> Vec<(i64, Instant)> {
        std::mem::take(&mut *locked(&self.0))
    }
}

fn observe(observed: Option<&Arc<ObservedScopes>>, organization_id: i64, read_at: Instant) {
    if let Some(observed) = observed {
        locked(&observed.0).push((organization_id, read_at));
    }
}

async fn org_access(ctx: &Context<'_>, organization_id: &ID) -> ApiResult<(OrgAccess, Scope)> {
    let id = decode_or_not_found(Kind::Organization, organization_id)?;
    let access = ctx.authorize(id, Permission::ReadAnalytics)?;
    let cache = &ctx.state().analytics_cache;
    let observed = ctx.data_opt::<Arc<ObservedScopes>>();
    if let Ok((scope, read_at)) = cache.known_scope_at(id) {
        observe(observed, id, read_at);
        return Ok((access, scope));
    }
    let _reading = cache.reading(id).await;
    // The request that read it while this one waited left it here.
    let generation = match cache.known_scope_at(id) {
        Ok((scope, read_at)) => {
            observe(observed, id, read_at);
            return Ok((access, scope));
        }
        Err(generation) => generation,
    };
    let read_at = Instant::now();
    observe(observed, id, read_at);
    let org = entity::organization::Entity::find_by_id(id)
        .one(ctx.db())
        .await?
        .ok_or(ApiError::NotFound("Organization"))?;
    let scope = Scope {
        organization_id: org.id,
        version: org.analytics_version,
        base_currency: org.base_currency,
    };
    cache.remember(scope.clone(), generation, read_at);
    Ok((access, scope))
}

/// The rows of `ids`, by id: those kept with the scope, and the others in one query for all of
/// them, asked directly rather than through the request's loader, which would wait out its
/// batching delay for nothing; then kept.
async fn named_rows<M: NamedRow>(
    ctx: &Context<'_>,
    scope: &Scope,
    ids: &[i64],
) -> ApiResult<HashMap<i64, M>> {
    let cache = &ctx.state().analytics_cache;
    let org = scope.organization_id;
    let (found, missing) = cache.known::<M>(org, ids.iter().copied());
    if missing.is_empty() {
        return Ok(found);
    }
    let _reading = cache.reading(org).await;
    // The request that read them while this one waited left them here.
    let (mut found, missing) = cache.known::<M>(org, ids.iter().copied());
    if missing.is_empty() {
        return Ok(found);
    }
    let read_at = Instant::now();
    let read: HashMap<i64, M> = M::read(ctx.db(), org, &missing)
        .await?
        .into_iter()
        .map(|row| (row.id(), row))
        .collect();
    cache.remember_named(org, &missing, &read, read_at);
    found.extend(read);
    Ok(found)
}

/// A roster artist's numbers in a period and the one before it.
#[derive(SimpleObject)]
pub struct ArtistSummary {
    /// The artist, for a caller who may read the catalogue.
    pub artist: Option<Artist>,
    /// The artist's name, beside the figures for whoever reads them.
    pub artist_name: Option<String>,
    pub current: AnalyticsFigures,
    pub previous: AnalyticsFigures,
    /// Change of base-currency earnings against the previous period, percent with one decimal;
    /// null when the previous period earned nothing.
    pub change_percent: Option<String>,
}

#[derive(SimpleObject)]
pub struct RosterOverview {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub totals: AnalyticsFigures,
    pub previous_totals: AnalyticsFigures,
    pub artists: Vec<ArtistSummary>,
    pub top_tracks: Vec<AnalyticsRow>,
    pub top_stores: Vec<AnalyticsRow>,
    pub top_territories: Vec<AnalyticsRow>,
}

fn change_percent(current: &AnalyticsFigures, previous: &AnalyticsFigures) -> Option<String> {
    let now = current.earnings_base_nanos;
    let before = previous.earnings_base_nanos;
    if before == 0 {
        return None;
    }
    let change = rust_decimal::Decimal::from(now - before) * rust_decimal::Decimal::from(100)
        / rust_decimal::Decimal::from(before);
    Some(change.round_dp(1).to_string())
}

#[derive(Default)]
pub struct AnalyticsQuery;

const TOP: usize = 5;

#[Object]
impl AnalyticsQuery {
    /// Quantities and earnings from the roll-ups, filtered and grouped. An artist member sees
    /// only their own artist's numbers.
    async fn analytics(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        filter: Option<AnalyticsFilter>,
        group_by: Vec<AnalyticsDimension>,
        #[graphql(default = 100, desc = "At most this many groups (1 to 1000).")] first: i32,
    ) -> ApiResult<AnalyticsResult> {
        let (access, scope) = org_access(ctx, &organization_id).await?;
        let base = scope.base_currency.clone();
        if !(1..=1000).contains(&first) {
            return Err(ApiError::BadRequest(format!(
                "first must be between 1 and 1000, got {first}"
            )));
        }
        let filter = filter.unwrap_or_default();
        let where_ = build_where(&access, &filter)?;
        let all = aggregate(ctx, &scope, &where_, &group_by).await?;
        let totals = totals_of(&all, &base);
        let limit = usize::try_from(first).unwrap_or(100);
        let more_rows = i64::try_from(all.len().saturating_sub(limit)).unwrap_or(0);
        let rows = all.iter().take(limit).cloned().collect();
        Ok(AnalyticsResult {
            totals,
            rows,
            more_rows,
        })
    }

    /// The roster at a glance for a period (default: the last 12 months with data): totals,
    /// each artist against the previous period of the same length, top tracks, stores and
    /// territories.
    async fn roster_overview(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        period: Option<PeriodInput>,
    ) -> ApiResult<RosterOverview> {
        let (access, scope) = org_access(ctx, &organization_id).await?;
        let base = scope.base_currency.clone();
        let bad = |e: PeriodError| ApiError::BadRequest(e.to_string());
        let span = match period {
            Some(p) => MonthSpan::new(p.from, p.to).map_err(bad)?,
            None => {
                // The last twelve months that have figures (for this caller), so a label whose
                // latest statement is older still sees its numbers rather than zeros.
                let everything = build_where(&access, &AnalyticsFilter::default())?;
                let latest = latest_month(ctx, &scope, &everything).await?;
                MonthSpan::default_for(latest, chrono::Utc::now().date_naive()).map_err(bad)?
            }
        };
        let before = span.previous().map_err(bad)?;
        let (from, to) = (span.from(), span.to());
        let (prev_from, prev_to) = (before.from(), before.to());
        let current = AnalyticsFilter {
            from: Some(from),
            to: Some(to),
            ..Default::default()
        };
        let previous = AnalyticsFilter {
            from: Some(prev_from),
            to: Some(prev_to),
            ..Default::default()
        };
        let w_now = build_where(&access, &current)?;
        let w_before = build_where(&access, &previous)?;
        // Independent aggregates, asked together: after a refresh, when none is cached, they
        // run side by side on the pool's connections rather than one after another.
        let (by_artist, by_artist_before, tracks, stores, territories) = futures::try_join!(
            aggregate(ctx, &scope, &w_now, &[AnalyticsDimension::Artist]),
            aggregate(ctx, &scope, &w_before, &[AnalyticsDimension::Artist]),
            aggregate(ctx, &scope, &w_now, &[AnalyticsDimension::Track]),
            aggregate(ctx, &scope, &w_now, &[AnalyticsDimension::Store]),
            aggregate(ctx, &scope, &w_now, &[AnalyticsDimension::Territory]),
        )?;
        let totals = totals_of(&by_artist, &base);
        let previous_totals = totals_of(&by_artist_before, &base);
        let mut before: HashMap<Option<i64>, AnalyticsFigures> = by_artist_before
            .iter()
            .map(|r| (r.key.artist_id, r.figures.clone()))
            .collect();
        let empty = AnalyticsFigures::empty(&base);
        let artist_ids: Vec<i64> = by_artist
            .iter()
            .filter_map(|r| r.key.artist_id.filter(|id| *id > 0))
            .collect();
        let mut names = named_rows::<entity::artist::Model>(ctx, &scope, &artist_ids).await?;
        let mut artists = Vec::with_capacity(by_artist.len());
        for row in by_artist.iter() {
            let previous = before
                .remove(&row.key.artist_id)
                .unwrap_or_else(|| empty.clone());
            let model = row.key.artist_id.and_then(|id| names.remove(&id));
            let artist_name = model.as_ref().map(|m| m.name.clone());
            let artist = guard::admit_opt(ctx, model).await?.map(Artist);
            artists.push(ArtistSummary {
                artist,
                artist_name,
                change_percent: change_percent(&row.figures, &previous),
                current: row.figures.clone(),
                previous,
            });
        }
        let top = |rows: &[AnalyticsRow]| -> Vec<AnalyticsRow> {
            rows.iter().take(TOP).cloned().collect()
        };
        let top_tracks: Vec<AnalyticsRow> = tracks
            .iter()
            .filter(|r| r.key.track_id.is_some_and(|id| id > 0))
            .take(TOP)
            .cloned()
            .collect();
        // Read (or found kept) here, so the rows' `track` fields find them kept.
        let track_ids: Vec<i64> = top_tracks.iter().filter_map(|r| r.key.track_id).collect();
        named_rows::<entity::track::Model>(ctx, &scope, &track_ids).await?;
        let top_stores = top(&stores);
        let top_territories = top(&territories);
        Ok(RosterOverview {
            from,
            to,
            totals,
            previous_totals,
            artists,
            top_tracks,
            top_stores,
            top_territories,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(organization_id: i64, version: i64) -> Scope {
        Scope {
            organization_id,
            version,
            base_currency: "USD".into(),
        }
    }

    fn known(cache: &AnalyticsCache, organization_id: i64) -> Option<i64> {
        cache.known_scope(organization_id).ok().map(|s| s.version)
    }

    async fn announce(events: &EventBus, organization_id: i64) {
        events
            .publish(&Event::AnalyticsRefreshed { organization_id })
            .await
            .expect("in-process publish");
    }

    #[tokio::test]
    async fn a_version_is_trusted_until_its_refresh_is_announced() {
        let events = EventBus::in_process();
        let cache = AnalyticsCache::new(Duration::from_secs(60), &events);
        let generation = cache.known_scope(1).expect_err("nothing read yet");
        cache.remember(scope(1, 7), generation, Instant::now());
        assert_eq!(known(&cache, 1), Some(7));
        announce(&events, 2).await;
        assert_eq!(known(&cache, 1), Some(7), "another organisation's refresh");
        announce(&events, 1).await;
        assert_eq!(known(&cache, 1), None);
    }

    #[tokio::test]
    async fn a_read_overtaken_by_a_refresh_is_not_kept() {
        let events = EventBus::in_process();
        let cache = AnalyticsCache::new(Duration::from_secs(60), &events);
        let generation = cache.known_scope(1).expect_err("nothing read yet");
        // The refresh commits and is announced while the old version is being read.
        announce(&events, 1).await;
        cache.remember(scope(1, 7), generation, Instant::now());
        assert_eq!(known(&cache, 1), None);
    }

    #[tokio::test]
    async fn a_version_is_read_again_after_the_check_interval() {
        let events = EventBus::in_process();
        let cache = AnalyticsCache::new(Duration::from_millis(500), &events);
        let long_ago = Instant::now()
            .checked_sub(Duration::from_secs(1))
            .expect("a second after boot");
        let generation = cache.known_scope(1).expect_err("nothing read yet");
        cache.remember(scope(1, 7), generation, long_ago);
        assert_eq!(known(&cache, 1), None, "older than the interval");
        let generation = cache.known_scope(1).expect_err("stale");
        cache.remember(scope(1, 8), generation, Instant::now());
        assert_eq!(known(&cache, 1), Some(8));

        let never = AnalyticsCache::new(Duration::ZERO, &events);
        let generation = never.known_scope(1).expect_err("nothing read yet");
        never.remember(scope(1, 7), generation, Instant::now());
        assert_eq!(known(&never, 1), None, "a zero interval reads every time");
    }

    fn artist(id: i64, name: &str) -> entity::artist::Model {
        let at = chrono::DateTime::<chrono::Utc>::default();
        entity::artist::Model {
            id,
            organization_id: 1,
            name: name.into(),
            sort_name: None,
            joined_on: at.date_naive(),
            left_on: None,
            created_at: at,
            updated_at: at,
        }
    }

    fn names(cache: &AnalyticsCache, ids: &[i64]) -> (Vec<(i64, String)>, Vec<i64>) {
        let (found, missing) = cache.known::<entity::artist::Model>(1, ids.iter().copied());
        let mut found: Vec<(i64, String)> = found.into_iter().map(|(id, a)| (id, a.name)).collect();
        found.sort();
        (found, missing)
    }

    #[tokio::test]
    async fn artists_are_kept_with_their_organisations_version_and_forgotten_with_it() {
        let events = EventBus::in_process();
        let cache = AnalyticsCache::new(Duration::from_secs(60), &events);
        // Nothing is kept for an organisation whose version is not known.
        let read: HashMap<i64, entity::artist::Model> = HashMap::from([(10, artist(10, "Ada"))]);
        cache.remember_named(1, &[10, 11], &read, Instant::now());
        assert_eq!(names(&cache, &[10, 11]), (vec![], vec![10, 11]));

        let generation = cache.known_scope(1).expect_err("nothing read yet");
        cache.remember(scope(1, 7), generation, Instant::now());
        cache.remember_named(1, &[10, 11], &read, Instant::now());
        // 11 was asked for and is not in the roster: known as absent, not read again.
        assert_eq!(
            names(&cache, &[10, 11, 12]),
            (vec![(10, "Ada".into())], vec![12])
        );
        assert_eq!(
            cache.known::<entity::artist::Model>(2, [10].into_iter()).1,
            vec![10],
            "another organisation's artists"
        );
        assert_eq!(
            cache.known::<entity::track::Model>(1, [10].into_iter()).1,
            vec![10],
            "a track is not the artist of the same id"
        );

        // Rows read before the version was read again are not kept with the newer version.
        let before = Instant::now();
        announce(&events, 1).await;
        assert_eq!(
            names(&cache, &[10]),
            (vec![], vec![10]),
            "forgotten on refresh"
        );
        let generation = cache.known_scope(1).expect_err("forgotten");
        cache.remember(scope(1, 8), generation, Instant::now());
        cache.remember_named(1, &[10], &read, before);
        assert_eq!(names(&cache, &[10]), (vec![], vec![10]));

        let never = AnalyticsCache::new(Duration::ZERO, &events);
        let generation = never.known_scope(1).expect_err("nothing read yet");
        never.remember(scope(1, 7), generation, Instant::now());
        never.remember_named(1, &[10], &read, Instant::now());
        assert_eq!(
            names(&never, &[10]),
            (vec![], vec![10]),
            "a zero interval keeps nothing"
        );
    }

    #[tokio::test]
    async fn missed_events_forget_every_version() {
        let events = EventBus::in_process();
        let cache = AnalyticsCache::new(Duration::from_secs(60), &events);
        let generation = cache.known_scope(1).expect_err("nothing read yet");
        cache.remember(scope(1, 7), generation, Instant::now());
        // More events than the bus holds for a receiver: a refresh may be among those lost.
        for statement_id in 0..2_000 {
            events
                .publish(&Event::StatementProgress {
                    organization_id: 2,
                    statement_id,
                    status: "parsing".into(),
                    bytes_processed: 0,
                    size_bytes: 0,
                    line_count: 0,
                    error_count: 0,
                })
                .await
                .expect("in-process publish");
        }
        assert_eq!(known(&cache, 1), None);
    }
}
