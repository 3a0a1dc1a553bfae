//! What a process keeps: answers by organisation version, versions, the rows named beside
//! the figures, and the single flight of cold answers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use domain::analytics::{Grain, smallest_covering};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tokio::sync::broadcast;
use workers::{Event, EventBus};

use super::super::error::{ApiError, ApiResult};
use super::{sql::*, types::*};

/// Answers already computed, keyed by the organisation's analytics version: a refresh bumps
/// the version, so an entry can only be hit while the roll-ups it summed are unchanged. Each
/// process keeps its own; nothing in it is needed by another process. The answers are bounded
/// by their size ([`CACHE_BYTES`], least recently and least often used go first), not by their
/// number: one answer by track × month over three years holds 180,000 rows, and 10,000 such
/// answers kept by count took the server past 1.3 GB under `bench_analytics`.
///
/// The version itself is cached too, so that a cached answer costs no query. It is forgotten
/// when a refresh is announced on the event bus (`Event::AnalyticsRefreshed`, published by the
/// `RefreshAnalytics` job after it commits), and in any case re-read once it is older than
/// `IMPRINT_ANALYTICS_VERSION_CHECK_MS`. So a refresh shows as soon as its event reaches this
/// process, and at the latest one check interval after it committed if the event was lost (a
/// Redis outage, or a job run by a process on another in-process bus).
#[derive(Debug)]
pub struct AnalyticsCache {
    pub(super) entries: moka::sync::Cache<String, Arc<Aggregate>>,
    pub(super) scopes: Mutex<KnownScopes>,
    /// How long a version read from the database is trusted.
    pub(super) version_check: Duration,
    /// One reader per organisation of what expired together (its version, then the rows named
    /// beside its figures): when they expire under load, every request in flight would read
    /// them at once; the others wait for the one reading and take its answer.
    pub(super) readers: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    /// One computation per answer not yet kept (single flight): the requests that ask for the
    /// same one meanwhile wait for it and take its answer instead of running the same SQL.
    pub(super) flights: SingleFlight<String>,
    /// Bounds the aggregates computed at once, so that after a refresh the cold ones leave
    /// connections to the requests whose answers are kept (those never wait for a permit).
    pub(super) cold: tokio::sync::Semaphore,
    /// Aggregates computed (not found kept) so far; tests count them.
    pub(super) computed: AtomicU64,
    /// Answer every aggregate from the full roll-up; tests compare the grains with it.
    pub(super) full_only: AtomicBool,
    /// The roll-ups that answers by track or release are grouped from, held as columns.
    pub(super) tables: super::columnar::Tables,
}

/// Each organisation's version as last read, and the bus that says when it moved.
#[derive(Debug, Default)]
pub(super) struct KnownScopes {
    pub(super) entries: HashMap<i64, KnownScope>,
    pub(super) refreshes: Option<broadcast::Receiver<Event>>,
    /// Bumped whenever a version is forgotten: a read that started before does not store what
    /// it read, which may be the version just replaced.
    pub(super) generation: u64,
}

impl KnownScopes {
    /// Applies the refreshes announced since the last look.
    pub(super) fn catch_up(&mut self) {
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
pub(super) struct KnownScope {
    pub(super) scope: Scope,
    pub(super) read_at: Instant,
    pub(super) named: Named,
}

/// Artists, releases and tracks by id; `None` for an id the roll-ups hold but the catalogue no
/// longer does.
#[derive(Debug, Default)]
pub(super) struct Named {
    pub(super) artists: HashMap<i64, Option<entity::artist::Model>>,
    pub(super) releases: HashMap<i64, Option<entity::release::Model>>,
    pub(super) tracks: HashMap<i64, Option<entity::track::Model>>,
}

/// A row kind that analytics names beside its figures.
pub(super) trait NamedRow: Clone + Send + Sync + 'static {
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
pub(super) const NAMED_ENTRIES: usize = 20_000;

/// Bound on cached answers per process; past it the cache starts afresh (old versions are
/// never hit again anyway).
pub(super) const CACHE_ENTRIES: usize = 10_000;

/// What the kept answers may weigh in all (rows at their size plus [`ROW_HEAP_BYTES`]).
pub(super) const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// What a row holds on the heap, as an estimate for the weigher: the base currency's name, the
/// earnings by currency (a vector and a name), the store and territory names; each a small
/// allocation of at least 16 bytes. (It was 32, the names alone, which let the kept answers
/// take more memory than their bound.)
const ROW_HEAP_BYTES: usize = 96;

/// Work done once per key at a time: a caller that comes while another does the work for the
/// same key waits for it to finish, then runs its own `work` (which finds the result kept).
#[derive(Debug)]
pub(super) struct SingleFlight<K>(Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>);

impl<K> Default for SingleFlight<K> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<K: Eq + std::hash::Hash + Clone> SingleFlight<K> {
    pub(super) async fn one_at_a_time<T, Fut: Future<Output = T>>(
        &self,
        key: &K,
        work: impl FnOnce() -> Fut,
    ) -> T {
        let flight = locked(&self.0).entry(key.clone()).or_default().clone();
        let turn = flight.lock().await;
        let result = work().await;
        drop(turn);
        let mut flights = locked(&self.0);
        // Only this caller and the map hold it: nobody waits, the flight is over.
        if flights
            .get(key)
            .is_some_and(|f| Arc::ptr_eq(f, &flight) && Arc::strong_count(f) <= 2)
        {
            flights.remove(key);
        }
        result
    }
}

pub(super) fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Both maps stay valid whatever a panicking holder was doing: entries go in and out whole.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AnalyticsCache {
    /// A cache that trusts a version read from the database for `version_check` and forgets it
    /// when `events` announces a refresh of its organisation, and computes at most
    /// `cold_at_once` aggregates at once (the others queue). Each runs on the database's CPUs:
    /// on two cores, six at once (with PostgreSQL's parallel workers beside them) left nothing
    /// for answers already kept, whose p99 under `bench_analytics` reached 2 s.
    #[must_use]
    pub fn new(version_check: Duration, cold_at_once: usize, events: &EventBus) -> Self {
        Self {
            entries: moka::sync::Cache::builder()
                .max_capacity(CACHE_BYTES)
                .weigher(|key: &String, answer: &Arc<Aggregate>| {
                    let bytes = key.len()
                        + answer.len() * (std::mem::size_of::<AnalyticsRow>() + ROW_HEAP_BYTES);
                    u32::try_from(bytes).unwrap_or(u32::MAX)
                })
                .build(),
            scopes: Mutex::new(KnownScopes {
                refreshes: Some(events.subscribe()),
                ..KnownScopes::default()
            }),
            version_check,
            readers: Mutex::default(),
            flights: SingleFlight::default(),
            cold: tokio::sync::Semaphore::new(cold_at_once.max(1)),
            computed: AtomicU64::new(0),
            full_only: AtomicBool::new(false),
            tables: super::columnar::Tables::default(),
        }
    }

    /// Whether aggregates are answered from the full roll-up only, rather than from the
    /// smallest grain that keeps what they filter and group by. For tests that compare both.
    pub fn answer_from_full_rollup(&self, full_only: bool) {
        self.full_only.store(full_only, Ordering::Relaxed);
    }

    /// The smallest roll-up grain that keeps every dimension `where_` filters on and `dims`
    /// groups by; `None` for the full roll-up.
    pub(super) fn grain_for(
        &self,
        where_: &Where,
        dims: &[AnalyticsDimension],
    ) -> Option<&'static Grain> {
        if self.full_only.load(Ordering::Relaxed) {
            return None;
        }
        let mut needed = where_.filtered.clone();
        needed.extend(dims.iter().filter_map(|d| d.kept()));
        smallest_covering(&needed)
    }

    /// The table an answer by track or release is grouped from (see [`super::columnar`]).
    pub(super) fn table_for(
        &self,
        where_: &Where,
        dims: &[AnalyticsDimension],
    ) -> super::columnar::Source {
        super::columnar::Source::for_question(
            &where_.filtered,
            dims,
            self.full_only.load(Ordering::Relaxed),
        )
    }

    /// Aggregates this process has computed rather than found kept; tests use it to prove that
    /// requests for the same cold answer compute it once.
    #[must_use]
    pub fn computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }

    /// The answer kept under `key`, else computed by `compute` and kept. Requests for the same
    /// key wait for the one computing it (and then find it kept); computations run at most
    /// `cold_at_once` at a time (see [`AnalyticsCache::new`]).
    pub(super) async fn get_or_compute<F, Fut>(
        &self,
        key: String,
        compute: F,
    ) -> ApiResult<Arc<Aggregate>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ApiResult<Aggregate>>,
    {
        if let Some(rows) = self.get(&key) {
            return Ok(rows);
        }
        self.flights
            .one_at_a_time(&key, || async {
                // The request that computed it while this one waited left it here.
                if let Some(rows) = self.get(&key) {
                    return Ok(rows);
                }
                let _permit = self.cold.acquire().await.map_err(ApiError::internal)?;
                self.computed.fetch_add(1, Ordering::Relaxed);
                let rows = Arc::new(compute().await?);
                self.put(key.clone(), rows.clone());
                Ok(rows)
            })
            .await
    }

    /// Waits for this process's turn to read what is kept for the organisation; `None` when
    /// nothing is kept (a zero interval), where waiting would only queue every request.
    pub(super) async fn reading(
        &self,
        organization_id: i64,
    ) -> Option<tokio::sync::OwnedMutexGuard<()>> {
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

    pub(super) fn get(&self, key: &str) -> Option<Arc<Aggregate>> {
        self.entries.get(key)
    }

    pub(super) fn put(&self, key: String, rows: Arc<Aggregate>) {
        self.entries.insert(key, rows);
    }

    /// The organisation's scope if it was read lately and no refresh was announced since; else
    /// the generation to hand to [`AnalyticsCache::remember`] after reading it.
    #[cfg(test)]
    pub(super) fn known_scope(&self, organization_id: i64) -> Result<Scope, u64> {
        self.known_scope_at(organization_id).map(|(scope, _)| scope)
    }

    /// [`AnalyticsCache::known_scope`], with the time the known scope was read: what names
    /// this snapshot of the organisation (its version and the rows kept with it).
    pub(super) fn known_scope_at(&self, organization_id: i64) -> Result<(Scope, Instant), u64> {
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
    pub(super) fn known<M: NamedRow>(
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
    pub(super) fn remember_named<M: NamedRow>(
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
    pub(super) fn remember(&self, scope: Scope, generation: u64, read_at: Instant) {
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

pub(super) fn observe(
    observed: Option<&Arc<ObservedScopes>>,
    organization_id: i64,
    read_at: Instant,
) {
    if let Some(observed) = observed {
        locked(&observed.0).push((organization_id, read_at));
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
        let cache = AnalyticsCache::new(Duration::from_secs(60), 1, &events);
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
        let cache = AnalyticsCache::new(Duration::from_secs(60), 1, &events);
        let generation = cache.known_scope(1).expect_err("nothing read yet");
        // The refresh commits and is announced while the old version is being read.
        announce(&events, 1).await;
        cache.remember(scope(1, 7), generation, Instant::now());
        assert_eq!(known(&cache, 1), None);
    }

    #[tokio::test]
    async fn a_version_is_read_again_after_the_check_interval() {
        let events = EventBus::in_process();
        let cache = AnalyticsCache::new(Duration::from_millis(500), 1, &events);
        let long_ago = Instant::now()
            .checked_sub(Duration::from_secs(1))
            .expect("a second after boot");
        let generation = cache.known_scope(1).expect_err("nothing read yet");
        cache.remember(scope(1, 7), generation, long_ago);
        assert_eq!(known(&cache, 1), None, "older than the interval");
        let generation = cache.known_scope(1).expect_err("stale");
        cache.remember(scope(1, 8), generation, Instant::now());
        assert_eq!(known(&cache, 1), Some(8));

        let never = AnalyticsCache::new(Duration::ZERO, 1, &events);
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
        let cache = AnalyticsCache::new(Duration::from_secs(60), 1, &events);
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

        let never = AnalyticsCache::new(Duration::ZERO, 1, &events);
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
        let cache = AnalyticsCache::new(Duration::from_secs(60), 1, &events);
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
