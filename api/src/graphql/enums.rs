//! GraphQL enums mirroring the domain's. The domain owns the values (and the database stores
//! their `as_str()` forms); these only give them GraphQL names.

use async_graphql::Enum;

use super::error::ApiError;

macro_rules! mirror_enum {
    ($(#[$meta:meta])* $name:ident => $domain:ty { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl From<$domain> for $name {
            fn from(value: $domain) -> Self {
                type D = $domain;
                match value { $(D::$variant => Self::$variant),+ }
            }
        }

        impl From<$name> for $domain {
            fn from(value: $name) -> Self {
                type D = $domain;
                match value { $($name::$variant => D::$variant),+ }
            }
        }

        impl $name {
            /// Reads the stored form; an unknown value is a data fault, not a user error.
            ///
            /// # Errors
            /// INTERNAL for a value the domain does not know.
            pub fn from_db(raw: &str) -> Result<Self, ApiError> {
                raw.parse::<$domain>().map(Self::from).map_err(|_| {
                    ApiError::internal(anyhow::anyhow!(
                        "stored {} value `{raw}` is unknown",
                        stringify!($name)
                    ))
                })
            }

            #[must_use]
            pub fn as_db(self) -> &'static str {
                <$domain>::from(self).as_str()
            }
        }
    };
}

mirror_enum!(
    /// A member's role in an organisation.
    Role => domain::auth::Role { Owner, Admin, Manager, Viewer, Artist });
mirror_enum!(
/// What a partner's API key may do.
ApiScope => domain::auth::Scope {
    ReadCatalogue, WriteCatalogue, WriteSplits, ReadStatements, WriteStatements, ReadAnalytics,
    ReadPayouts, WritePayouts, ManageWebhooks
});
mirror_enum!(ReleaseStatus => domain::catalogue::ReleaseStatus { Draft, Scheduled, Live, TakenDown });
mirror_enum!(ReleaseType => domain::catalogue::ReleaseType { Single, Ep, Album, Compilation });
mirror_enum!(TrackArtistRole => domain::catalogue::TrackArtistRole { Primary, Featured, Remixer });
mirror_enum!(
/// A store where an artist has a profile.
StoreService => domain::catalogue::StoreService {
    Spotify, AppleMusic, YoutubeMusic, AmazonMusic, Deezer, Tidal, Bandcamp, Soundcloud
});
mirror_enum!(
    /// Whether the artist has claimed their store profile (their own act: the label only records it).
    ClaimState => domain::catalogue::ClaimState { NotLive, Unclaimed, ClaimPending, Claimed });
mirror_enum!(MasterOwner => domain::agreement::MasterOwner { Label, Artist, Joint });
mirror_enum!(DealBasis => domain::agreement::DealBasis { Gross, Net });
mirror_enum!(RecoupmentScope => domain::agreement::RecoupmentScope { Release, CrossCollateralized });
mirror_enum!(ExitReleasePolicy => domain::agreement::ExitReleasePolicy { Stay, TakeDown });
mirror_enum!(FutureRights => domain::agreement::FutureRights { None, FirstRefusal, Options });
mirror_enum!(PayeeKind => domain::agreement::PayeeKind { Artist, Producer, Featured, Label, Other });

/// A label (one owner, a roster) or a collective (artists sharing costs and a name).
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrganizationKind {
    Label,
    Collective,
}

impl OrganizationKind {
    #[must_use]
    pub fn as_db(self) -> &'static str {
        match self {
            Self::Label => "label",
            Self::Collective => "collective",
        }
    }

    #[must_use]
    pub fn from_db(raw: &str) -> Self {
        if raw == "collective" {
            Self::Collective
        } else {
            Self::Label
        }
    }
}

mirror_enum!(
    /// What a recoupable is: an advance, or an expense paid on the artist's behalf.
    RecoupableKind => domain::recoupment::RecoupableKind { Advance, Expense });
mirror_enum!(
    /// How a collective's shared cost is divided among its members.
    SharedCostRule => domain::recoupment::SharedCostRule { Equal, ByShare });
mirror_enum!(
    /// What allocation does with a split not every payee has confirmed (split consent).
    UnconfirmedSplits => domain::consent::UnconfirmedSplits { Pay, Hold });
