//! DataLoaders for every relation, so a nested query costs one SQL statement per relation and
//! level, not one per row. Loaders live for one request: a cache never outlives the
//! authorization it was filled under.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

macro_rules! by_id {
    ($name:ident, $module:ident) => {
        #[derive(Debug)]
        pub struct $name(pub DatabaseConnection);

        impl Loader<i64> for $name {
            type Value = entity::$module::Model;
            type Error = Arc<sea_orm::DbErr>;

            async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
                let rows = entity::$module::Entity::find()
                    .filter(entity::$module::Column::Id.is_in(keys.iter().copied()))
                    .all(&self.0)
                    .await
                    .map_err(Arc::new)?;
                Ok(rows.into_iter().map(|row| (row.id, row)).collect())
            }
        }
    };
}

macro_rules! children {
    ($name:ident, $module:ident, $parent_column:ident, $parent_field:ident, $order:ident) => {
        #[derive(Debug)]
        pub struct $name(pub DatabaseConnection);

        impl Loader<i64> for $name {
            type Value = Vec<entity::$module::Model>;
            type Error = Arc<sea_orm::DbErr>;

            async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
                let rows = entity::$module::Entity::find()
                    .filter(entity::$module::Column::$parent_column.is_in(keys.iter().copied()))
                    .order_by_asc(entity::$module::Column::$order)
                    .order_by_asc(entity::$module::Column::Id)
                    .all(&self.0)
                    .await
                    .map_err(Arc::new)?;
                let mut grouped: HashMap<i64, Self::Value> =
                    keys.iter().map(|k| (*k, Vec::new())).collect();
                for row in rows {
                    grouped.entry(row.$parent_field).or_default().push(row);
                }
                Ok(grouped)
            }
        }
    };
}

by_id!(OrganizationById, organization);
by_id!(UserById, user);
by_id!(ArtistById, artist);
by_id!(PayeeById, payee);
by_id!(ReleaseById, release);
by_id!(TrackById, track);
by_id!(SplitById, split);

children!(ProfilesByArtist, artist_profile, ArtistId, artist_id, Store);
children!(AgreementsByArtist, agreement, ArtistId, artist_id, StartsOn);
children!(TracksByRelease, track, ReleaseId, release_id, Position);
children!(TrackArtistsByTrack, track_artist, TrackId, track_id, Role);
children!(SharesBySplit, split_share, SplitId, split_id, Id);
children!(SplitsByRelease, split, ReleaseId, release_id, EffectiveFrom);

/// All loaders of one request.
pub struct Loaders {
    pub organization: DataLoader<OrganizationById>,
    pub user: DataLoader<UserById>,
    pub artist: DataLoader<ArtistById>,
    pub payee: DataLoader<PayeeById>,
    pub release: DataLoader<ReleaseById>,
    pub track: DataLoader<TrackById>,
    pub split: DataLoader<SplitById>,
    pub profiles_by_artist: DataLoader<ProfilesByArtist>,
    pub agreements_by_artist: DataLoader<AgreementsByArtist>,
    pub tracks_by_release: DataLoader<TracksByRelease>,
    pub track_artists_by_track: DataLoader<TrackArtistsByTrack>,
    pub shares_by_split: DataLoader<SharesBySplit>,
    pub splits_by_release: DataLoader<SplitsByRelease>,
}

impl std::fmt::Debug for Loaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaders").finish_non_exhaustive()
    }
}

impl Loaders {
    #[must_use]
    pub fn new(db: &DatabaseConnection) -> Self {
        fn loader<L: Loader<i64>>(l: L) -> DataLoader<L> {
            DataLoader::new(l, tokio::spawn)
        }
        Self {
            organization: loader(OrganizationById(db.clone())),
            user: loader(UserById(db.clone())),
            artist: loader(ArtistById(db.clone())),
            payee: loader(PayeeById(db.clone())),
            release: loader(ReleaseById(db.clone())),
            track: loader(TrackById(db.clone())),
            split: loader(SplitById(db.clone())),
            profiles_by_artist: loader(ProfilesByArtist(db.clone())),
            agreements_by_artist: loader(AgreementsByArtist(db.clone())),
            tracks_by_release: loader(TracksByRelease(db.clone())),
            track_artists_by_track: loader(TrackArtistsByTrack(db.clone())),
            shares_by_split: loader(SharesBySplit(db.clone())),
            splits_by_release: loader(SplitsByRelease(db.clone())),
        }
    }
}
