//! What the benchmark binaries share: peak-memory readings, a seeded catalogue and its money
//! (payees, agreements, advances, splits).

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::fixtures;

/// Resets the kernel's peak-RSS mark, so the peak measured is the next step's.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// This process's peak resident memory since the last reset, in MB.
#[must_use]
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// An organisation with 100 artists and `tracks` in releases of ten; returns its id.
///
/// # Errors
/// Database failures.
pub async fn seed_catalogue(
    db: &sea_orm::DatabaseConnection,
    tracks: &[fixtures::CatalogueTrack],
) -> anyhow::Result<i64> {
    let now = Utc::now();
    let org = entity::organization::ActiveModel {
        name: Set("Bench Records".into()),
        kind: Set("label".into()),
        base_currency: Set("USD".into()),
        created_at: Set(now),
        analytics_version: Set(0),
        payout_period_months: Set(entity::organization::DEFAULT_PAYOUT_PERIOD_MONTHS),
        reserve_release_periods: Set(entity::organization::DEFAULT_RESERVE_RELEASE_PERIODS),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let mut artist_ids = Vec::new();
    for a in 0..100 {
        let artist = entity::artist::ActiveModel {
            organization_id: Set(org.id),
            name: Set(format!("Artist {a}")),
            sort_name: Set(None),
            joined_on: Set(now.date_naive()),
            left_on: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        artist_ids.push(artist.id);
    }
    for chunk in tracks.chunks(10) {
        let artist_id = artist_ids[chunk.len() % artist_ids.len()];
        let release = entity::release::ActiveModel {
            organization_id: Set(org.id),
            artist_id: Set(artist_id),
            title: Set(chunk[0].title.clone()),
            upc: Set(None),
            release_type: Set("album".into()),
            release_date: Set(None),
            status: Set("live".into()),
            label_name: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        let rows: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(i, t)| entity::track::ActiveModel {
                organization_id: Set(org.id),
                release_id: Set(release.id),
                title: Set(t.title.clone()),
                isrc: Set(Some(t.isrc.clone())),
                iswc: Set(None),
                duration_ms: Set(None),
                position: Set(i as i32 + 1),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .collect();
        entity::track::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(org.id)
}

const NANOS: i64 = 1_000_000_000;

/// Payees, agreements, advances and splits for the seeded catalogue: each artist has an
/// artist payee, a 50 % gross cross-collateralised agreement and a 1,000.00 advance; each
/// release splits 70 % artist, 10 % a producer (one per ten releases), 20 % the label, or, with
/// `three_ways` false, goes 100 % to its artist's payee.
///
/// # Errors
/// Database failures.
pub async fn seed_money(
    db: &sea_orm::DatabaseConnection,
    org: i64,
    three_ways: bool,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let start = NaiveDate::from_ymd_opt(2024, 1, 1).ok_or_else(|| anyhow::anyhow!("date"))?;
    let payee = |name: String, kind: &str, artist_id: Option<i64>| entity::payee::ActiveModel {
        organization_id: Set(org),
        name: Set(name),
        kind: Set(kind.to_owned()),
        artist_id: Set(artist_id),
        currency: Set("USD".to_owned()),
        minimum_payout_nanos: Set(0),
        reserve_ppb: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let label = payee("Bench Records".into(), "label", None)
        .insert(db)
        .await?;
    let artists: Vec<i64> = entity::artist::Entity::find()
        .select_only()
        .column(entity::artist::Column::Id)
        .filter(entity::artist::Column::OrganizationId.eq(org))
        .order_by_asc(entity::artist::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut artist_payee = std::collections::HashMap::new();
    for a in &artists {
        let p = payee(format!("Artist payee {a}"), "artist", Some(*a))
            .insert(db)
            .await?;
        artist_payee.insert(*a, p.id);
        entity::agreement::ActiveModel {
            organization_id: Set(org),
            artist_id: Set(*a),
            title: Set("Deal".into()),
            master_owner: Set("label".into()),
            label_master_share_ppb: Set(NANOS),
            artist_revenue_share_ppb: Set(NANOS / 2),
            deal_basis: Set("gross".into()),
            recoupment_scope: Set("cross_collateralized".into()),
            advance_nanos: Set(1_000 * NANOS),
            currency: Set("USD".into()),
            artist_may_take_down: Set(false),
            masters_revert_after_months: Set(None),
            exit_release_policy: Set("stay".into()),
            future_rights: Set("none".into()),
            future_options_count: Set(None),
            starts_on: Set(start),
            ends_on: Set(None),
            document_url: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        entity::recoupable::ActiveModel {
            organization_id: Set(org),
            kind: Set("advance".into()),
            description: Set("Advance".into()),
            amount_nanos: Set(1_000 * NANOS),
            currency: Set("USD".into()),
            artist_id: Set(Some(*a)),
            release_id: Set(None),
            payee_id: Set(Some(p.id)),
            cross_collateralized: Set(true),
            shared_rule: Set(None),
            incurred_on: Set(start),
            created_at: Set(now),
            recouped_nanos: Set(0),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    let releases: Vec<(i64, i64)> = entity::release::Entity::find()
        .select_only()
        .column(entity::release::Column::Id)
        .column(entity::release::Column::ArtistId)
        .filter(entity::release::Column::OrganizationId.eq(org))
        .order_by_asc(entity::release::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut producer = 0;
    for (i, (release, artist)) in releases.iter().enumerate() {
        if three_ways && i % 10 == 0 {
            producer = payee(format!("Producer {i}"), "producer", None)
                .insert(db)
                .await?
                .id;
        }
        let split = entity::split::ActiveModel {
            organization_id: Set(org),
            release_id: Set(*release),
            track_id: Set(None),
            scope_key: Set(format!("release:{release}")),
            effective_from: Set(start),
            created_by_user_id: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        let shares = if three_ways {
            vec![
                (artist_payee[artist], 700_000_000),
                (producer, 100_000_000),
                (label.id, 200_000_000),
            ]
        } else {
            vec![(artist_payee[artist], NANOS)]
        };
        let rows = shares
            .into_iter()
            .map(|(payee_id, ppb)| entity::split_share::ActiveModel {
                organization_id: Set(org),
                split_id: Set(split.id),
                payee_id: Set(payee_id),
                share_ppb: Set(ppb),
                ..Default::default()
            });
        entity::split_share::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// The peak resident memory (`VmHWM`) of another process, in MB (0 where unreadable).
#[must_use]
pub fn process_peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The load average over 1, 5 and 15 minutes, from `/proc/loadavg` ("?" where unreadable): the
/// machine is shared, so every figure is printed beside it.
#[must_use]
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

/// Latencies of one class of requests, in milliseconds, with how many failed.
#[derive(Debug, Default, Clone)]
pub struct Latencies {
    /// Every answered request's latency (ms), errors included.
    pub millis: Vec<f64>,
    /// Answers that were not data (HTTP status other than 200, or GraphQL `errors`).
    pub errors: u64,
    /// Requests the client gave up on.
    pub timeouts: u64,
}

/// Count, p50, p95, p99 and max of a set of latencies (nearest rank).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    pub count: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latencies {
    /// Adds another set.
    pub fn merge(&mut self, other: Self) {
        self.millis.extend(other.millis);
        self.errors += other.errors;
        self.timeouts += other.timeouts;
    }

    /// The percentiles of the latencies (all zero when there are none).
    #[must_use]
    pub fn percentiles(&self) -> Percentiles {
        let mut sorted = self.millis.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = |p: usize| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            // Nearest rank: the smallest value with at least p % of the set at or below it.
            let index = (p * sorted.len()).div_ceil(100).max(1) - 1;
            sorted[index.min(sorted.len() - 1)]
        };
        Percentiles {
            count: sorted.len(),
            p50: rank(50),
            p95: rank(95),
            p99: rank(99),
            max: sorted.last().copied().unwrap_or(0.0),
        }
    }
}

/// An exact decimal amount such as `"-12.305"` in nano-units (1e-9); `None` for anything else
/// (more than nine decimals included: the API never sends them).
#[must_use]
pub fn parse_nanos(amount: &str) -> Option<i128> {
    let (negative, digits) = match amount.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, amount),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || fraction.len() > 9
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i128 = whole.parse().ok()?;
    let fraction: i128 = format!("{fraction:0<9}").parse().ok()?;
    let nanos = whole * 1_000_000_000 + fraction;
    Some(if negative { -nanos } else { nanos })
}

#[cfg(test)]
mod checks {
    use super::{Latencies, parse_nanos};

    #[test]
    fn amounts_parse_to_the_nano_unit() {
        assert_eq!(parse_nanos("16167.057279216"), Some(16_167_057_279_216));
        assert_eq!(parse_nanos("6936.34724331"), Some(6_936_347_243_310));
        assert_eq!(parse_nanos("-0.5"), Some(-500_000_000));
        assert_eq!(parse_nanos("12"), Some(12_000_000_000));
        assert_eq!(parse_nanos("1.0000000001"), None);
        assert_eq!(parse_nanos("1e3"), None);
        assert_eq!(parse_nanos(".5"), None);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let latencies = Latencies {
            millis: (1..=100).rev().map(f64::from).collect(),
            errors: 0,
            timeouts: 0,
        };
        let p = latencies.percentiles();
        assert_eq!(
            (p.count, p.p50, p.p95, p.p99, p.max),
            (100, 50.0, 95.0, 99.0, 100.0)
        );
        assert_eq!(Latencies::default().percentiles().count, 0);
    }
}
