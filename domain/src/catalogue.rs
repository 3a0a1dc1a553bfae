//! The catalogue's vocabularies: release status and type, artist roles on a track, stores, and
//! the state of an artist's store profile.
//!
//! They are closed sets stored as snake_case text; the one rule with behaviour is which release
//! status may follow which ([`ReleaseStatus::can_transition_to`]), kept here so the API and the
//! workers cannot disagree about it.

use crate::enums::string_enum;

string_enum! {
    /// Where a release is in its life; see [`ReleaseStatus::can_transition_to`] for the moves.
    pub enum ReleaseStatus: "release status" {
        /// Being prepared; not delivered to stores.
        Draft => "draft",
        /// Delivered with a future release date.
        Scheduled => "scheduled",
        /// Out in stores.
        Live => "live",
        /// Removed from stores (by the label, or by the artist where the agreement allows).
        TakenDown => "taken_down",
    }
}

impl ReleaseStatus {
    /// Whether a release may move from `self` to `next`.
    ///
    /// - `draft → scheduled | live`: deliver for a future date, or straight out.
    /// - `scheduled → draft | live | taken_down`: pull back to edit, go out on the date, or
    ///   cancel (a scheduled release already sits at the stores, so cancelling is a takedown).
    /// - `live → taken_down`: a live release is never edited back into a draft; its sales
    ///   history stays attached to what was sold.
    /// - `taken_down → live`: a re-release of the same product (same UPC), e.g. when a dispute
    ///   is settled.
    ///
    /// Staying in the same status is not a transition and returns `false`; callers treat a
    /// no-op separately.
    #[must_use]
    pub const fn can_transition_to(self, next: ReleaseStatus) -> bool {
        use ReleaseStatus::{Draft, Live, Scheduled, TakenDown};
        matches!(
            (self, next),
            (Draft, Scheduled | Live)
                | (Scheduled, Draft | Live | TakenDown)
                | (Live, TakenDown)
                | (TakenDown, Live)
        )
    }
}

impl ReleaseStatus {
    /// Whether moving a release to this status delivers it to the stores (scheduled or live),
    /// so that it must first be ready for delivery ([`delivery_gaps`]).
    #[must_use]
    pub const fn delivers(self) -> bool {
        matches!(self, ReleaseStatus::Scheduled | ReleaseStatus::Live)
    }
}

/// What the stores need of a release before it is delivered, as the catalogue holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryFacts {
    /// Whether the release has its UPC.
    pub has_upc: bool,
    /// Whether it has a release date.
    pub has_release_date: bool,
    /// How many tracks it has.
    pub track_count: usize,
    /// How many of them have no ISRC.
    pub tracks_without_isrc: usize,
}

/// One reason a release is not ready for delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeliveryGap {
    /// No UPC: stores identify the product by it.
    NoUpc,
    /// No track at all.
    NoTracks,
    /// A track without an ISRC: sales could not be matched back to it.
    TrackWithoutIsrc,
    /// No release date.
    NoReleaseDate,
}

impl DeliveryGap {
    /// The input field the gap is reported against.
    #[must_use]
    pub const fn field(self) -> &'static str {
        match self {
            DeliveryGap::NoUpc => "upc",
            DeliveryGap::NoTracks | DeliveryGap::TrackWithoutIsrc => "status",
            DeliveryGap::NoReleaseDate => "releaseDate",
        }
    }

    /// What to tell the person delivering.
    #[must_use]
    pub const fn message(self) -> &'static str {
        match self {
            DeliveryGap::NoUpc => "a release needs a UPC before it is delivered",
            DeliveryGap::NoTracks => "a release needs at least one track",
            DeliveryGap::TrackWithoutIsrc => "every track needs an ISRC before delivery",
            DeliveryGap::NoReleaseDate => "set a release date first",
        }
    }

    /// Whether the gap is a missing value on the release itself (rather than in its tracks).
    #[must_use]
    pub const fn is_missing_value(self) -> bool {
        matches!(self, DeliveryGap::NoUpc | DeliveryGap::NoReleaseDate)
    }
}

/// Everything that keeps a release from delivery, in a fixed order; empty when it is ready.
/// A release is ready for delivery when it has a UPC, a release date, at least one track and
/// an ISRC on every track.
#[must_use]
pub fn delivery_gaps(facts: &DeliveryFacts) -> Vec<DeliveryGap> {
    let mut gaps = Vec::new();
    if !facts.has_upc {
        gaps.push(DeliveryGap::NoUpc);
    }
    if facts.track_count == 0 {
        gaps.push(DeliveryGap::NoTracks);
    }
    if facts.tracks_without_isrc > 0 {
        gaps.push(DeliveryGap::TrackWithoutIsrc);
    }
    if !facts.has_release_date {
        gaps.push(DeliveryGap::NoReleaseDate);
    }
    gaps
}

string_enum! {
    /// The product type of a release.
    pub enum ReleaseType: "release type" {
        /// One to three tracks.
        Single => "single",
        /// Extended play.
        Ep => "ep",
        /// Full-length album.
        Album => "album",
        /// Tracks by several artists.
        Compilation => "compilation",
    }
}

string_enum! {
    /// How an artist is credited on a track.
    pub enum TrackArtistRole: "track artist role" {
        /// Main artist.
        Primary => "primary",
        /// Featured guest ("feat.").
        Featured => "featured",
        /// Remixer of this version.
        Remixer => "remixer",
    }
}

string_enum! {
    /// A store or streaming service where an artist has a profile.
    pub enum StoreService: "store" {
        /// Spotify.
        Spotify => "spotify",
        /// Apple Music / iTunes.
        AppleMusic => "apple_music",
        /// YouTube Music.
        YoutubeMusic => "youtube_music",
        /// Amazon Music.
        AmazonMusic => "amazon_music",
        /// Deezer.
        Deezer => "deezer",
        /// Tidal.
        Tidal => "tidal",
        /// Bandcamp.
        Bandcamp => "bandcamp",
        /// SoundCloud.
        Soundcloud => "soundcloud",
    }
}

string_enum! {
    /// The state of an artist's profile on a store. Claiming is the artist's own act; the label
    /// only records where it stands.
    pub enum ClaimState: "claim state" {
        /// No release is live on the store yet, so there is no profile to claim.
        NotLive => "not_live",
        /// The profile exists and nobody has claimed it.
        Unclaimed => "unclaimed",
        /// The artist has asked the store for access.
        ClaimPending => "claim_pending",
        /// The artist controls the profile.
        Claimed => "claimed",
    }
}

impl ClaimState {
    /// Whether the artist may move her profile from `self` to `to`: claim it (`ClaimPending`
    /// while the store checks, then `Claimed`) or give it up (`Unclaimed`). A profile that is
    /// not live has nothing to claim yet, and `NotLive` is set by the catalogue (a release going
    /// live), never by her. Moving to the state it is in is allowed (a retry changes nothing).
    ///
    /// # Errors
    /// Why the move is refused, for the caller to show.
    pub fn artist_may_move(self, to: ClaimState) -> Result<(), &'static str> {
        match (self, to) {
            (ClaimState::NotLive, _) => {
                Err("the profile is not live on the store yet: there is nothing to claim")
            }
            (_, ClaimState::NotLive) => Err("a profile cannot be set back to not live"),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_artist_claims_and_gives_up_live_profiles_only() {
        use ClaimState::{ClaimPending, Claimed, NotLive, Unclaimed};
        for to in ClaimState::ALL {
            assert!(NotLive.artist_may_move(*to).is_err(), "{to}");
        }
        for from in [Unclaimed, ClaimPending, Claimed] {
            for to in [Unclaimed, ClaimPending, Claimed] {
                assert!(from.artist_may_move(to).is_ok(), "{from} -> {to}");
            }
            assert!(from.artist_may_move(NotLive).is_err(), "{from}");
        }
    }

    #[test]
    fn words_round_trip() {
        for s in ReleaseStatus::ALL {
            assert_eq!(s.as_str().parse(), Ok(*s));
        }
        for s in StoreService::ALL {
            assert_eq!(s.to_string().parse(), Ok(*s));
        }
        assert_eq!(ReleaseStatus::TakenDown.as_str(), "taken_down");
        assert_eq!(StoreService::AppleMusic.as_str(), "apple_music");
        assert_eq!(ClaimState::ClaimPending.as_str(), "claim_pending");
        assert_eq!("TAKEN_DOWN".parse(), Ok(ReleaseStatus::TakenDown));
        assert_eq!(ReleaseType::ALL.len(), 4);
        assert_eq!(TrackArtistRole::ALL.len(), 3);
        assert_eq!(StoreService::ALL.len(), 8);
        assert_eq!(ClaimState::ALL.len(), 4);
    }

    #[test]
    fn unknown_words_list_the_allowed_ones() {
        let err = "gone".parse::<ReleaseStatus>().expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "unknown release status \"gone\", expected one of: draft, scheduled, live, taken_down"
        );
    }

    #[test]
    fn serde_uses_the_words() {
        assert_eq!(
            serde_json::to_string(&ReleaseStatus::TakenDown).expect("ser"),
            "\"taken_down\""
        );
        assert_eq!(
            serde_json::from_str::<StoreService>("\"youtube_music\"").expect("de"),
            StoreService::YoutubeMusic
        );
        assert!(serde_json::from_str::<StoreService>("\"myspace\"").is_err());
    }

    #[test]
    fn release_status_transitions() {
        use ReleaseStatus::{Draft, Live, Scheduled, TakenDown};
        let allowed = [
            (Draft, Scheduled),
            (Draft, Live),
            (Scheduled, Draft),
            (Scheduled, Live),
            (Scheduled, TakenDown),
            (Live, TakenDown),
            (TakenDown, Live),
        ];
        for from in ReleaseStatus::ALL {
            for to in ReleaseStatus::ALL {
                assert_eq!(
                    from.can_transition_to(*to),
                    allowed.contains(&(*from, *to)),
                    "{from} -> {to}"
                );
            }
        }
    }
}
