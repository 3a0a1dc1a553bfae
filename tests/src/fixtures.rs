//! Statement files the tests and benchmarks generate: the project's own data, in the layouts
//! the stores use.

use std::io::Write;

/// A DistroKid statement of `rows`, each written with `|` for its tabs.
#[must_use]
pub fn distrokid(rows: &[&str]) -> Vec<u8> {
    let mut text = format!("{DISTROKID_HEADER}\r\n");
    for row in rows {
        text.push_str(&row.replace('|', "\t"));
        text.push_str("\r\n");
    }
    text.into_bytes()
}

/// The classic DistroKid header (FORMATS.md), tab-separated.
pub const DISTROKID_HEADER: &str = "Reporting Date\tSale Month\tStore\tArtist\tTitle\tISRC\tUPC\tQuantity\tTeam Percentage\tSong/Album\tCountry of Sale\tSongwriter Royalties Withheld\tEarnings (USD)";

const STORES: [&str; 6] = [
    "Spotify",
    "Apple Music",
    "Amazon Music",
    "Deezer",
    "Tidal",
    "YouTube Music",
];
const COUNTRIES: [&str; 8] = ["US", "GB", "DE", "FR", "BR", "JP", "AU", "SE"];

/// A catalogue entry a generated line refers to.
#[derive(Debug, Clone)]
pub struct CatalogueTrack {
    pub isrc: String,
    pub title: String,
    pub artist: String,
}

/// `count` tracks with valid, distinct ISRCs (`QZBEN` + year + sequence).
#[must_use]
pub fn catalogue(count: usize) -> Vec<CatalogueTrack> {
    (0..count)
        .map(|i| CatalogueTrack {
            isrc: format!("QZBEN24{:05}", i % 100_000),
            title: format!("Track {i}"),
            artist: format!("Artist {}", i % 100),
        })
        .collect()
}

/// Writes a DistroKid statement of `lines` sales over `tracks`, streaming, and returns the
/// exact total of its Earnings column in nano-units (amounts have up to 9 decimals here, so the
/// total is exact without rounding). Every `unmatched_every`-th line carries an ISRC that is
/// not in the catalogue.
///
/// # Errors
/// When writing fails.
pub fn write_distrokid(
    out: &mut impl Write,
    tracks: &[CatalogueTrack],
    lines: usize,
    unmatched_every: usize,
) -> std::io::Result<i128> {
    write!(out, "{DISTROKID_HEADER}\r\n")?;
    let mut total: i128 = 0;
    // A small deterministic generator: the same file every run.
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..lines {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let track = &tracks[i % tracks.len()];
        let isrc = if unmatched_every > 0 && i % unmatched_every == unmatched_every - 1 {
            format!("QZUNK25{:05}", i % 100_000)
        } else {
            track.isrc.clone()
        };
        let nanos = (seed % 5_000_000_000) as i64 - 100_000_000; // −0.1 to 4.9, some returns
        total += i128::from(nanos);
        let quantity = (seed >> 40) % 300 + 1;
        let month = (i / 97) % 12 + 1;
        let amount = domain::money::decimal_from_nanos(nanos);
        write!(
            out,
            "2025-{month:02}-28\t2025-{month:02}\t{}\t{}\t{}\t{isrc}\t\t{quantity}\t100\tSong\t{}\t0\t{amount}\r\n",
            STORES[i % STORES.len()],
            track.artist,
            track.title,
            COUNTRIES[(seed as usize >> 8) % COUNTRIES.len()],
        )?;
    }
    Ok(total)
}
