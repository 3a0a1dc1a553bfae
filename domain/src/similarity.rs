//! How much an unmatched statement line looks like a track of the catalogue.
//!
//! The unmatched queue suggests tracks for each identifier a statement carries that matched
//! nothing. The rule that ranks them lives here, once: an ISRC equal to the track's is the
//! strongest sign, an ISRC one typo away (one character changed, added, dropped, or two
//! neighbours swapped: how ISRCs are mistyped by hand) comes next, and otherwise the title and
//! artist, each reduced to its matching key by [`normalize_title`], are compared by their
//! shared character pairs (the Sørensen–Dice coefficient). Scores are whole percentages, so a
//! ranking is the same on every machine.

use crate::text::normalize_title;

/// What the statement says about the lines of one unmatched identifier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineIdentity<'a> {
    pub isrc: Option<&'a str>,
    pub title: Option<&'a str>,
    pub artist: Option<&'a str>,
}

/// What the catalogue says about a track: its ISRC, title and (primary) artist's name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrackIdentity<'a> {
    pub isrc: Option<&'a str>,
    pub title: &'a str,
    pub artist: Option<&'a str>,
}

/// Why a track is suggested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// The same ISRC.
    IsrcExact,
    /// An ISRC one typo away.
    IsrcOneTypo,
    /// A title (and artist) that look alike.
    TitleArtist,
}

/// How much a line looks like a track: `score` is a whole percentage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Likeness {
    pub score: u8,
    pub reason: Reason,
}

/// The score of an equal ISRC.
pub const ISRC_EXACT_SCORE: u8 = 100;
/// The score of an ISRC one typo away.
pub const ISRC_ONE_TYPO_SCORE: u8 = 90;
/// The most a title and artist alone can score: below any ISRC sign.
pub const TITLE_ARTIST_MAX_SCORE: u8 = 80;
/// The least score worth suggesting.
pub const MIN_SUGGESTED_SCORE: u8 = 40;

/// The matching keys of one side, computed once: a catalogue is compared with many groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys {
    isrc: Vec<char>,
    /// `None`: no title at all (a line without one cannot be compared by title).
    title: Option<String>,
    artist: Option<String>,
}

impl Keys {
    /// The keys of an unmatched line.
    #[must_use]
    pub fn of_line(line: &LineIdentity<'_>) -> Self {
        Self::new(line.isrc, line.title, line.artist)
    }

    /// The keys of a track.
    #[must_use]
    pub fn of_track(track: &TrackIdentity<'_>) -> Self {
        Self::new(track.isrc, Some(track.title), track.artist)
    }

    fn new(isrc: Option<&str>, title: Option<&str>, artist: Option<&str>) -> Self {
        Self {
            isrc: isrc.map(isrc_key).unwrap_or_default(),
            title: title.map(normalize_title),
            artist: artist.map(normalize_title).filter(|a| !a.is_empty()),
        }
    }
}

/// How much `line` looks like `track`, or `None` when too little to suggest it.
#[must_use]
pub fn likeness(line: &LineIdentity<'_>, track: &TrackIdentity<'_>) -> Option<Likeness> {
    likeness_of(&Keys::of_line(line), &Keys::of_track(track))
}

/// [`likeness`] of keys computed beforehand.
#[must_use]
pub fn likeness_of(line: &Keys, track: &Keys) -> Option<Likeness> {
    if !line.isrc.is_empty() && !track.isrc.is_empty() {
        if line.isrc == track.isrc {
            return Some(Likeness {
                score: ISRC_EXACT_SCORE,
                reason: Reason::IsrcExact,
            });
        }
        if at_most_one_typo(&line.isrc, &track.isrc) {
            return Some(Likeness {
                score: ISRC_ONE_TYPO_SCORE,
                reason: Reason::IsrcOneTypo,
            });
        }
    }
    let title = dice_percent(line.title.as_deref()?, track.title.as_deref()?);
    let combined = match (&line.artist, &track.artist) {
        (Some(a), Some(b)) => (4 * title + dice_percent(a, b)) / 5,
        (Some(_), None) => 4 * title / 5,
        _ => title,
    };
    let score = combined * u32::from(TITLE_ARTIST_MAX_SCORE) / 100;
    let score = u8::try_from(score).unwrap_or(TITLE_ARTIST_MAX_SCORE);
    (score >= MIN_SUGGESTED_SCORE).then_some(Likeness {
        score,
        reason: Reason::TitleArtist,
    })
}

/// The `limit` tracks most like `line`, best first (ties by the order given), each with its
/// likeness; tracks too unlike it are left out.
#[must_use]
pub fn rank<'k, T>(
    line: &Keys,
    tracks: impl IntoIterator<Item = (T, &'k Keys)>,
    limit: usize,
) -> Vec<(T, Likeness)> {
    let mut found: Vec<(T, Likeness)> = tracks
        .into_iter()
        .filter_map(|(t, keys)| likeness_of(line, keys).map(|l| (t, l)))
        .collect();
    // A stable sort keeps the given order among equal scores.
    found.sort_by_key(|(_, likeness)| std::cmp::Reverse(likeness.score));
    found.truncate(limit);
    found
}

/// An ISRC as compared: upper case, without the hyphens and spaces some reports add.
fn isrc_key(s: &str) -> Vec<char> {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

/// Whether `a` and `b` differ by at most one edit: a character changed, added or dropped, or
/// two neighbours swapped.
fn at_most_one_typo(a: &[char], b: &[char]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    match long.len() - short.len() {
        0 => {
            let differ: Vec<usize> = (0..short.len()).filter(|&i| short[i] != long[i]).collect();
            match differ.as_slice() {
                [] | [_] => true,
                [i, j] => *j == i + 1 && short[*i] == long[*j] && short[*j] == long[*i],
                _ => false,
            }
        }
        1 => {
            let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
            short[prefix..] == long[prefix + 1..]
        }
        _ => false,
    }
}

/// The Sørensen–Dice coefficient of the character pairs of two keys, as a whole percentage
/// (100 for equal keys, 0 when either is empty).
fn dice_percent(a: &str, b: &str) -> u32 {
    if a.is_empty() || b.is_empty() {
        return 0;
    }
    if a == b {
        return 100;
    }
    let pairs = |s: &str| -> Vec<(char, char)> {
        let chars: Vec<char> = s.chars().collect();
        if chars.len() < 2 {
            return vec![(chars.first().copied().unwrap_or(' '), ' ')];
        }
        chars.windows(2).map(|w| (w[0], w[1])).collect()
    };
    let left = pairs(a);
    let mut right = pairs(b);
    let total = left.len() + right.len();
    let mut shared = 0usize;
    for pair in left {
        if let Some(i) = right.iter().position(|p| *p == pair) {
            right.swap_remove(i);
            shared += 1;
        }
    }
    u32::try_from(200 * shared / total).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(
        isrc: Option<&'a str>,
        title: Option<&'a str>,
        artist: Option<&'a str>,
    ) -> LineIdentity<'a> {
        LineIdentity {
            isrc,
            title,
            artist,
        }
    }

    fn track<'a>(
        isrc: Option<&'a str>,
        title: &'a str,
        artist: Option<&'a str>,
    ) -> TrackIdentity<'a> {
        TrackIdentity {
            isrc,
            title,
            artist,
        }
    }

    #[test]
    fn an_equal_isrc_is_certain_whatever_the_spelling() {
        let l = likeness(
            &line(Some("us-ab1-24-00001"), Some("Other"), None),
            &track(Some("USAB12400001"), "Harbour Lights", None),
        );
        assert_eq!(
            l,
            Some(Likeness {
                score: ISRC_EXACT_SCORE,
                reason: Reason::IsrcExact
            })
        );
    }

    #[test]
    fn one_typo_in_an_isrc_is_suggested_two_are_not() {
        let t = track(Some("USAB12400001"), "Harbour Lights", None);
        for typo in [
            "USAB12400007",  // changed
            "USAB124000001", // added
            "USAB1240001",   // dropped
            "USAB12400010",  // neighbours swapped
            "UASB12400001",  // neighbours swapped at the start
        ] {
            let l = likeness(&line(Some(typo), None, None), &t);
            assert_eq!(
                l.map(|l| l.reason),
                Some(Reason::IsrcOneTypo),
                "{typo} is one typo away"
            );
        }
        for far in ["USAB12400077", "USAB12400100", "USAB124000", "GBXX99999999"] {
            assert_eq!(
                likeness(&line(Some(far), None, None), &t),
                None,
                "{far} is too far"
            );
        }
    }

    #[test]
    fn titles_and_artists_compare_by_their_matching_keys() {
        let t = track(None, "Salt & Static", Some("Ada Vesper"));
        let same = likeness(
            &line(None, Some("SALT AND STATIC!"), Some("Ada Vesper")),
            &t,
        )
        .expect("the same title");
        assert_eq!(same.score, TITLE_ARTIST_MAX_SCORE);
        assert_eq!(same.reason, Reason::TitleArtist);
        let close = likeness(&line(None, Some("Salt and Statik"), Some("Ada Vesper")), &t)
            .expect("a misspelt title");
        assert!(
            close.score < same.score && close.score >= MIN_SUGGESTED_SCORE,
            "{close:?}"
        );
        // The same title by someone else looks less alike.
        let other = likeness(&line(None, Some("Salt & Static"), Some("Bo Lind")), &t)
            .expect("the title alone");
        assert!(other.score < same.score, "{other:?}");
        assert_eq!(
            likeness(&line(None, Some("Night Ferry"), Some("Ada Vesper")), &t),
            None
        );
        assert_eq!(likeness(&line(None, None, Some("Ada Vesper")), &t), None);
        assert_eq!(likeness(&line(None, Some("!!!"), None), &t), None);
    }

    #[test]
    fn an_isrc_sign_beats_any_title() {
        let l = line(
            Some("QZXYZ2500077"),
            Some("Harbour Lights"),
            Some("Ada Vesper"),
        );
        let tracks = [
            (
                "by title",
                track(Some("USAB12400001"), "Harbour Lights", Some("Ada Vesper")),
            ),
            (
                "unlike",
                track(Some("USAB12400002"), "Undertow", Some("Ada Vesper")),
            ),
            (
                "by typo",
                track(Some("QZXYZ2500078"), "Something Else", None),
            ),
            ("by isrc", track(Some("QZXYZ2500077"), "Another", None)),
        ];
        let keys: Vec<(&str, Keys)> = tracks
            .iter()
            .map(|(name, t)| (*name, Keys::of_track(t)))
            .collect();
        let line = Keys::of_line(&l);
        let ranked: Vec<&str> = rank(&line, keys.iter().map(|(n, k)| (*n, k)), 10)
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        assert_eq!(ranked, ["by isrc", "by typo", "by title"]);
        assert_eq!(rank(&line, keys.iter().map(|(n, k)| (*n, k)), 1).len(), 1);
    }

    #[test]
    fn dice_of_character_pairs() {
        assert_eq!(dice_percent("night", "night"), 100);
        assert_eq!(dice_percent("night", ""), 0);
        assert_eq!(dice_percent("ab", "cd"), 0);
        // ni ig gh ht vs ni ig gh ts: three of four pairs shared.
        assert_eq!(dice_percent("night", "nighs"), 75);
        // A one-letter key is its letter and an end.
        assert_eq!(dice_percent("a", "a b"), 66);
    }
}
