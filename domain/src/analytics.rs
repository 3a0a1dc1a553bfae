//! Analytics roll-up grains: which sums are kept beside the full roll-up, and which of them
//! answers a query.
//!
//! The full roll-up keeps every dimension (artist × release × track × store × territory), by
//! month and currency, so it holds about a row per statement line and a query over it reads the
//! history. Each [`Grain`] keeps the same sums with only some of the dimensions (and always the
//! month and currency), so it holds far fewer rows; a query is answered from the smallest grain
//! that keeps every dimension it filters or groups by.

/// A dimension a grain may keep (the month and currency are kept by every grain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    Artist,
    Release,
    Track,
    Store,
    Territory,
}

/// Sums kept by organisation, month, currency and these dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Grain {
    /// Stored beside each row; a plain identifier.
    pub name: &'static str,
    pub dimensions: &'static [Dimension],
}

use Dimension::{Artist, Release, Store, Territory, Track};

/// Every grain kept, the smallest expected first: a catalogue has a few dozen stores, about two
/// hundred territories, fewer artists than releases and fewer releases than tracks, and a pair
/// has at most the product of its two.
pub const GRAINS: &[Grain] = &[
    Grain {
        name: "month",
        dimensions: &[],
    },
    Grain {
        name: "store",
        dimensions: &[Store],
    },
    Grain {
        name: "territory",
        dimensions: &[Territory],
    },
    Grain {
        name: "artist",
        dimensions: &[Artist],
    },
    Grain {
        name: "release",
        dimensions: &[Release],
    },
    Grain {
        name: "track",
        dimensions: &[Track],
    },
    Grain {
        name: "release_track",
        dimensions: &[Release, Track],
    },
    // A track has one release and one artist, so this is as small as `track`: it answers an
    // artist member (always filtered to her artist) grouping by release or track.
    Grain {
        name: "artist_release_track",
        dimensions: &[Artist, Release, Track],
    },
    Grain {
        name: "artist_store",
        dimensions: &[Artist, Store],
    },
    Grain {
        name: "artist_territory",
        dimensions: &[Artist, Territory],
    },
    Grain {
        name: "store_territory",
        dimensions: &[Store, Territory],
    },
];

/// The smallest grain that keeps every one of `needed` (the dimensions a query filters or
/// groups by); `None` when only the full roll-up does.
#[must_use]
pub fn smallest_covering(needed: &[Dimension]) -> Option<&'static Grain> {
    GRAINS
        .iter()
        .find(|grain| needed.iter().all(|d| grain.dimensions.contains(d)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn queries_go_to_the_smallest_grain_that_covers_them() {
        assert_eq!(smallest_covering(&[]).map(|g| g.name), Some("month"));
        assert_eq!(smallest_covering(&[Store]).map(|g| g.name), Some("store"));
        assert_eq!(
            smallest_covering(&[Territory, Artist, Artist]).map(|g| g.name),
            Some("artist_territory")
        );
        assert_eq!(
            smallest_covering(&[Track, Release]).map(|g| g.name),
            Some("release_track")
        );
        assert_eq!(
            smallest_covering(&[Artist, Track]).map(|g| g.name),
            Some("artist_release_track")
        );
        assert_eq!(
            smallest_covering(&[Release, Artist]).map(|g| g.name),
            Some("artist_release_track")
        );
        assert_eq!(smallest_covering(&[Track, Store]), None);
        assert_eq!(smallest_covering(&[Artist, Store, Territory]), None);
    }

    fn dimension() -> impl Strategy<Value = Dimension> {
        prop_oneof![
            Just(Artist),
            Just(Release),
            Just(Track),
            Just(Store),
            Just(Territory)
        ]
    }

    proptest! {
        /// The grain chosen keeps every dimension asked for and no grain listed before it
        /// does; `None` only when no grain does.
        #[test]
        fn the_grain_chosen_covers_and_is_the_first_that_does(
            needed in proptest::collection::vec(dimension(), 0..4)
        ) {
            let covers = |g: &Grain| needed.iter().all(|d| g.dimensions.contains(d));
            match smallest_covering(&needed) {
                Some(grain) => {
                    prop_assert!(covers(grain));
                    let at = GRAINS.iter().position(|g| g == grain).expect("listed");
                    prop_assert!(!GRAINS[..at].iter().any(covers));
                }
                None => prop_assert!(!GRAINS.iter().any(covers)),
            }
        }
    }

    #[test]
    fn grain_names_are_unique_identifiers() {
        let mut names: Vec<&str> = GRAINS.iter().map(|g| g.name).collect();
        assert!(
            names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        );
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), GRAINS.len());
    }
}
