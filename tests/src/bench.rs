//! What the benchmark binaries share: peak-memory readings and a seeded catalogue.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};

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
