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
