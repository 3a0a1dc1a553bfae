//! `imprint demo`: a realistic label and a collective, so a newcomer sees real data at once.
//!
//! Seeding is idempotent: if the demo owner already exists, nothing is written.

use chrono::{NaiveDate, Utc};
use domain::ids::Upc;
use entity::{
    agreement, artist, artist_profile, membership, organization, payee, release, split,
    split_share, track, track_artist, user,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::state::AppState;

pub const DEMO_EMAIL: &str = "demo@imprint.test";
pub const DEMO_PASSWORD: &str = "imprint-demo-2026";
pub const DEMO_ARTIST_EMAIL: &str = "ada@imprint.test";

/// What the seed wrote (or found).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub created: bool,
    pub organizations: usize,
    pub artists: usize,
    pub releases: usize,
    pub tracks: usize,
    pub statements: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.created {
            write!(
                f,
                "seeded {} organizations, {} artists, {} releases, {} tracks, {} statements; log in as {DEMO_EMAIL} / {DEMO_PASSWORD} (artist view: {DEMO_ARTIST_EMAIL}, same password)",
                self.organizations, self.artists, self.releases, self.tracks, self.statements
            )
        } else {
            write!(
                f,
                "demo data already present; log in as {DEMO_EMAIL} / {DEMO_PASSWORD}"
            )
        }
    }
}

struct ArtistSeed {
    name: &'static str,
    spotify: &'static str,
    terms: Terms,
    releases: &'static [(&'static str, &'static str, &'static [&'static str])],
}

#[derive(Clone, Copy)]
struct Terms {
    master_owner: &'static str,
    label_master_ppb: i64,
    artist_revenue_ppb: i64,
    deal_basis: &'static str,
    recoupment_scope: &'static str,
    advance_units: i64,
    may_take_down: bool,
    revert_months: Option<i32>,
    exit_policy: &'static str,
    future_rights: &'static str,
    options: Option<i32>,
}

const PPB_PERCENT: i64 = 10_000_000;

const LABEL_ARTISTS: &[ArtistSeed] = &[
    ArtistSeed {
        name: "Ada Vesper",
        spotify: "4aDaVesper0000000000a1",
        terms: Terms {
            master_owner: "label",
            label_master_ppb: 100 * PPB_PERCENT,
            artist_revenue_ppb: 50 * PPB_PERCENT,
            deal_basis: "net",
            recoupment_scope: "cross_collateralized",
            advance_units: 5_000,
            may_take_down: false,
            revert_months: Some(36),
            exit_policy: "stay",
            future_rights: "options",
            options: Some(2),
        },
        releases: &[
            (
                "Night Ferry",
                "album",
                &["Night Ferry", "Harbour Lights", "Salt & Static", "Lowtide"],
            ),
            (
                "Harbour Lights (Remixes)",
                "ep",
                &["Harbour Lights (Kite Remix)", "Harbour Lights (Dub)"],
            ),
        ],
    },
    ArtistSeed {
        name: "The Lumen Parade",
        spotify: "4LumenParade00000000a2",
        terms: Terms {
            master_owner: "joint",
            label_master_ppb: 50 * PPB_PERCENT,
            artist_revenue_ppb: 60 * PPB_PERCENT,
            deal_basis: "net",
            recoupment_scope: "release",
            advance_units: 2_000,
            may_take_down: true,
            revert_months: Some(12),
            exit_policy: "stay",
            future_rights: "first_refusal",
            options: None,
        },
        releases: &[
            ("Paper Suns", "single", &["Paper Suns"]),
            (
                "Glasshouse",
                "ep",
                &["Glasshouse", "Cartography", "Undertow"],
            ),
        ],
    },
    ArtistSeed {
        name: "Mira Okafor",
        spotify: "4MiraOkafor000000000a3",
        terms: Terms {
            master_owner: "artist",
            label_master_ppb: 0,
            artist_revenue_ppb: 80 * PPB_PERCENT,
            deal_basis: "gross",
            recoupment_scope: "release",
            advance_units: 0,
            may_take_down: true,
            revert_months: None,
            exit_policy: "take_down",
            future_rights: "none",
            options: None,
        },
        releases: &[
            ("Velvet Engine", "single", &["Velvet Engine"]),
            (
                "Second Light",
                "album",
                &["Morning Wire", "Second Light", "Tin Roof", "Ember"],
            ),
        ],
    },
];

const COLLECTIVE_ARTISTS: &[ArtistSeed] = &[
    ArtistSeed {
        name: "Juniper Static",
        spotify: "4JuniperStatic00000a4",
        terms: Terms {
            master_owner: "artist",
            label_master_ppb: 0,
            artist_revenue_ppb: 90 * PPB_PERCENT,
            deal_basis: "net",
            recoupment_scope: "release",
            advance_units: 0,
            may_take_down: true,
            revert_months: None,
            exit_policy: "take_down",
            future_rights: "none",
            options: None,
        },
        releases: &[
            ("Field Recordings Vol. 1", "ep", &["Creek", "Pylon Hum"]),
            ("Static Bloom", "single", &["Static Bloom"]),
        ],
    },
    ArtistSeed {
        name: "Hollow Coast",
        spotify: "4HollowCoast0000000a5",
        terms: Terms {
            master_owner: "artist",
            label_master_ppb: 0,
            artist_revenue_ppb: 90 * PPB_PERCENT,
            deal_basis: "net",
            recoupment_scope: "release",
            advance_units: 0,
            may_take_down: true,
            revert_months: None,
            exit_policy: "stay",
            future_rights: "none",
            options: None,
        },
        releases: &[
            ("Breakwater", "album", &["Breakwater", "Gulls", "Sea Glass"]),
            ("Driftwood", "single", &["Driftwood"]),
        ],
    },
    ArtistSeed {
        name: "Sable & Finch",
        spotify: "4SableFinch00000000a6",
        terms: Terms {
            master_owner: "joint",
            label_master_ppb: 20 * PPB_PERCENT,
            artist_revenue_ppb: 85 * PPB_PERCENT,
            deal_basis: "gross",
            recoupment_scope: "release",
            advance_units: 500,
            may_take_down: true,
            revert_months: Some(6),
            exit_policy: "stay",
            future_rights: "none",
            options: None,
        },
        releases: &[("Feathers", "single", &["Feathers"])],
    },
];

/// A valid UPC-A from an 11-digit stem: the check digit the domain accepts.
fn upc(stem: u64) -> Option<String> {
    (0..10)
        .map(|d| format!("{stem:011}{d}"))
        .find(|c| Upc::parse(c).is_ok())
}

/// Seeds the demo organisations.
///
/// # Errors
/// Database failures.
pub async fn seed(state: &AppState) -> anyhow::Result<Summary> {
    let db = &state.db;
    if user::Entity::find()
        .filter(user::Column::Email.eq(DEMO_EMAIL))
        .one(db)
        .await?
        .is_some()
    {
        return Ok(Summary::default());
    }
    let txn = entity::db::begin_write(db).await?;
    let now = Utc::now();
    let password_hash = crate::auth::hash_password(DEMO_PASSWORD)?;
    let owner = user::ActiveModel {
        email: Set(DEMO_EMAIL.into()),
        name: Set("Demo Manager".into()),
        password_hash: Set(password_hash.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let artist_user = user::ActiveModel {
        email: Set(DEMO_ARTIST_EMAIL.into()),
        name: Set("Ada Vesper".into()),
        password_hash: Set(password_hash),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;

    let mut summary = Summary {
        created: true,
        ..Default::default()
    };
    let mut upc_stem = 84_012_300_000_u64;
    let mut isrc_seq = 1_u32;
    for (org_name, kind, currency, roster, isrc_prefix) in [
        (
            "Northern Lights Records",
            "label",
            "USD",
            LABEL_ARTISTS,
            "QZNLR",
        ),
        (
            "Tidewater Collective",
            "collective",
            "EUR",
            COLLECTIVE_ARTISTS,
            "QZTWC",
        ),
    ] {
        let org = organization::ActiveModel {
            name: Set(org_name.into()),
            kind: Set(kind.into()),
            base_currency: Set(currency.into()),
            created_at: Set(now),
            analytics_version: Set(0),
            payout_period_months: Set(entity::organization::DEFAULT_PAYOUT_PERIOD_MONTHS),
            reserve_release_periods: Set(entity::organization::DEFAULT_RESERVE_RELEASE_PERIODS),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        summary.organizations += 1;
        insert_membership(&txn, org.id, owner.id, "owner", None).await?;
        let label_payee = insert_payee(&txn, org.id, org_name, "label", None, currency, 0).await?;
        let producer = insert_payee(
            &txn,
            org.id,
            "Theo Marsh (producer)",
            "producer",
            None,
            currency,
            25,
        )
        .await?;

        for (index, seed) in roster.iter().enumerate() {
            let joined = NaiveDate::from_ymd_opt(2023, 1 + index as u32, 15).unwrap_or_default();
            let artist = artist::ActiveModel {
                organization_id: Set(org.id),
                name: Set(seed.name.into()),
                sort_name: Set(None),
                joined_on: Set(joined),
                left_on: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            summary.artists += 1;
            if seed.name == "Ada Vesper" {
                insert_membership(&txn, org.id, artist_user.id, "artist", Some(artist.id)).await?;
            }
            for (store, external, claim) in [
                ("spotify", Some(seed.spotify), "claimed"),
                ("apple_music", None, "unclaimed"),
            ] {
                artist_profile::ActiveModel {
                    organization_id: Set(org.id),
                    artist_id: Set(artist.id),
                    store: Set(store.into()),
                    external_id: Set(external.map(Into::into)),
                    url: Set(external.map(|id| format!("https://open.spotify.com/artist/{id}"))),
                    claim_state: Set(claim.into()),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
            }
            let artist_payee = insert_payee(
                &txn,
                org.id,
                seed.name,
                "artist",
                Some(artist.id),
                currency,
                10,
            )
            .await?;
            let t = seed.terms;
            agreement::ActiveModel {
                organization_id: Set(org.id),
                artist_id: Set(artist.id),
                title: Set(format!("{} recording agreement", seed.name)),
                master_owner: Set(t.master_owner.into()),
                label_master_share_ppb: Set(t.label_master_ppb),
                artist_revenue_share_ppb: Set(t.artist_revenue_ppb),
                deal_basis: Set(t.deal_basis.into()),
                recoupment_scope: Set(t.recoupment_scope.into()),
                advance_nanos: Set(t.advance_units * domain::money::NANOS_PER_UNIT),
                currency: Set(currency.into()),
                artist_may_take_down: Set(t.may_take_down),
                masters_revert_after_months: Set(t.revert_months),
                exit_release_policy: Set(t.exit_policy.into()),
                future_rights: Set(t.future_rights.into()),
                future_options_count: Set(t.options),
                starts_on: Set(joined),
                ends_on: Set(None),
                document_url: Set(Some(format!("https://contracts.example.com/{}", artist.id))),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;

            for (r_index, (title, release_type, tracks)) in seed.releases.iter().enumerate() {
                upc_stem += 1;
                let release_date =
                    NaiveDate::from_ymd_opt(2024, 2 + (index * 2 + r_index) as u32 % 11, 7)
                        .unwrap_or_default();
                let release = release::ActiveModel {
                    organization_id: Set(org.id),
                    artist_id: Set(artist.id),
                    title: Set((*title).into()),
                    upc: Set(upc(upc_stem)),
                    release_type: Set((*release_type).into()),
                    release_date: Set(Some(release_date)),
                    status: Set("live".into()),
                    label_name: Set(Some(org_name.into())),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
                summary.releases += 1;
                for (position, track_title) in tracks.iter().enumerate() {
                    let row = track::ActiveModel {
                        organization_id: Set(org.id),
                        release_id: Set(release.id),
                        title: Set((*track_title).into()),
                        isrc: Set(Some(format!("{isrc_prefix}24{isrc_seq:05}"))),
                        iswc: Set(None),
                        duration_ms: Set(Some(150_000 + 7_919 * (isrc_seq as i32 % 40))),
                        position: Set(position as i32 + 1),
                        created_at: Set(now),
                        updated_at: Set(now),
                        ..Default::default()
                    }
                    .insert(&txn)
                    .await?;
                    isrc_seq += 1;
                    summary.tracks += 1;
                    track_artist::ActiveModel {
                        organization_id: Set(org.id),
                        track_id: Set(row.id),
                        artist_id: Set(artist.id),
                        role: Set("primary".into()),
                        ..Default::default()
                    }
                    .insert(&txn)
                    .await?;
                }
                // Release split: artist / label by the agreement's revenue share, with the
                // producer taking points out of the label's side on albums.
                let artist_ppb = t.artist_revenue_ppb;
                let mut shares = vec![(artist_payee.id, artist_ppb)];
                if *release_type == "album" {
                    shares.push((producer.id, 5 * PPB_PERCENT));
                    shares.push((label_payee.id, 1_000_000_000 - artist_ppb - 5 * PPB_PERCENT));
                } else {
                    shares.push((label_payee.id, 1_000_000_000 - artist_ppb));
                }
                insert_split(&txn, org.id, release.id, release_date, &shares).await?;
            }
        }
    }
    txn.commit().await?;
    summary.statements = import_statements(state).await?;
    Ok(summary)
}

/// One statement per format the demo shows: what a label receives in a month.
fn demo_statements(
    tracks: &[(String, String, String, String, String)],
    currency: &str,
) -> Vec<(String, String, String)> {
    // (isrc, title, artist, release title, upc)
    let mut distrokid = String::from(
        "Reporting Date\tSale Month\tStore\tArtist\tTitle\tISRC\tUPC\tQuantity\tTeam Percentage\tSong/Album\tCountry of Sale\tSongwriter Royalties Withheld\tEarnings (USD)\r\n",
    );
    let mut spotify = String::from(
        "Format version\tStart date\tEnd date\tSender\tRecipient\tDisclaimer\n1.0\t2025-02-01\t2025-02-28\tSpotify\tImprint Demo\tDemo data\n\
         Country\tLabel\tProduct\tURI\tUPC\tEAN\tISRC\tTrack name\tArtist name\tComposer name\tAlbum name\tQuantity\tUSD Payable\n",
    );
    let mut cdbaby = String::from(
        "Report Date\tSales Date\tQuantity\tPrice\tSubtotal\tIsrc\tBarcode\tCDBabySku\tAlbum Name\tArtist Name\tTrack Name\tPartner Name\tTransaction Type\tDelivery Country\r\n",
    );
    let mut believe = String::from(
        "Reporting month;Sales Month;Platform;Country / Region;Label Name;Artist Name;Release title;Track title;UPC;ISRC;Release Catalog nb;Streaming Subscription Type;Release type;Sales Type;Quantity;Client Payment Currency;Unit Price;Mechanical Fee;Gross Revenue;Client share rate;Net Revenue\n",
    );
    let countries = [
        ("US", "USA", "United States"),
        ("GB", "GBR", "United Kingdom"),
        ("DE", "DEU", "Germany"),
        ("BR", "BRA", "Brazil"),
    ];
    for (i, (isrc, title, artist, album, upc)) in tracks.iter().enumerate() {
        for (c, (alpha2, _, name)) in countries.iter().enumerate() {
            let streams = 1_000 + (i * 7_919 + c * 104_729) % 25_000;
            // $0.0035 a stream, with 12 decimals as DistroKid writes them.
            let earnings = rust_decimal::Decimal::from(streams as i64)
                * rust_decimal::Decimal::new(3_517_236_118, 12);
            if currency == "USD" {
                distrokid.push_str(&format!(
                    "2025-03-05\t2025-01\tApple Music\t{artist}\t{title}\t{isrc}\t{upc}\t{streams}\t100\tSong\t{alpha2}\t0\t{earnings}\r\n"
                ));
                spotify.push_str(&format!(
                    "{alpha2}\tImprint Demo\t{album}\tspotify:track:{isrc}\t{upc}\t\t{isrc}\t{title}\t{artist}\t\t{album}\t{}\t{}\n",
                    streams * 3,
                    earnings * rust_decimal::Decimal::from(3)
                ));
                if c == 0 {
                    cdbaby.push_str(&format!(
                        "10/15/2025 12:00:00 AM\t09/30/2025 12:00:00 AM\t2\t0.99\t1.38\t{}\t\"{upc}\"\tDEMO{i}\t{album}\t{artist}\t{title}\tiTunes\tDownload\tUS\r\n",
                        isrc.to_lowercase()
                    ));
                }
            } else {
                let net = (earnings * rust_decimal::Decimal::new(9, 1)).round_dp(6);
                believe.push_str(&format!(
                    "2025-02;2025-01;Deezer;{name};Tidewater Collective;{artist};{album};{title};{upc};{isrc};TWC{i:03};Premium;Album;Streaming;{streams};EUR;0,003;0;{};90,00%;{}\n",
                    earnings.round_dp(6).to_string().replace('.', ","),
                    net.to_string().replace('.', ",")
                ));
            }
        }
    }
    if currency == "USD" {
        vec![
            (
                "distrokid-2025-01.tsv".into(),
                "DistroKid".into(),
                distrokid,
            ),
            ("spotify-2025-02.tsv".into(), "Spotify".into(), spotify),
            ("cdbaby-2025-09.txt".into(), "CD Baby".into(), cdbaby),
        ]
    } else {
        vec![("believe-2025-01.csv".into(), "Believe".into(), believe)]
    }
}

async fn import_statements(state: &AppState) -> anyhow::Result<usize> {
    let db = &state.db;
    let ctx = state.job_context();
    let dir = tempfile::tempdir()?;
    let mut imported = 0;
    for org in organization::Entity::find().all(db).await? {
        let mut tracks = Vec::new();
        for release in release::Entity::find()
            .filter(release::Column::OrganizationId.eq(org.id))
            .all(db)
            .await?
        {
            let artist = artist::Entity::find_by_id(release.artist_id)
                .one(db)
                .await?
                .map(|a| a.name)
                .unwrap_or_default();
            for t in track::Entity::find()
                .filter(track::Column::ReleaseId.eq(release.id))
                .all(db)
                .await?
            {
                tracks.push((
                    t.isrc.unwrap_or_default(),
                    t.title,
                    artist.clone(),
                    release.title.clone(),
                    release.upc.clone().unwrap_or_default(),
                ));
            }
        }
        for (filename, source, content) in demo_statements(&tracks, &org.base_currency) {
            let path = dir.path().join(&filename);
            std::fs::write(&path, content)?;
            let registered = workers::ingest::register(
                &ctx,
                workers::ingest::NewStatement {
                    organization_id: org.id,
                    path: &path,
                    filename,
                    source: Some(source),
                    uploaded_by_user_id: None,
                    limit_bytes: state.config.max_upload_bytes,
                },
            )
            .await?;
            if let workers::ingest::Registered::New(statement) = registered {
                // Parsed and allocated here, so the demo is complete before the server starts.
                workers::ingest::process_now(&ctx, statement.id).await?;
                imported += 1;
            }
        }
    }
    Ok(imported)
}

async fn insert_membership(
    db: &impl ConnectionTrait,
    organization_id: i64,
    user_id: i64,
    role: &str,
    artist_id: Option<i64>,
) -> anyhow::Result<()> {
    membership::ActiveModel {
        organization_id: Set(organization_id),
        user_id: Set(user_id),
        role: Set(role.into()),
        artist_id: Set(artist_id),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

async fn insert_payee(
    db: &impl ConnectionTrait,
    organization_id: i64,
    name: &str,
    kind: &str,
    artist_id: Option<i64>,
    currency: &str,
    minimum_units: i64,
) -> anyhow::Result<payee::Model> {
    let now = Utc::now();
    Ok(payee::ActiveModel {
        organization_id: Set(organization_id),
        name: Set(name.into()),
        email: Set(None),
        kind: Set(kind.into()),
        artist_id: Set(artist_id),
        currency: Set(currency.into()),
        minimum_payout_nanos: Set(minimum_units * domain::money::NANOS_PER_UNIT),
        payout_method: Set(None),
        reserve_ppb: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

async fn insert_split(
    db: &impl ConnectionTrait,
    organization_id: i64,
    release_id: i64,
    effective_from: NaiveDate,
    shares: &[(i64, i64)],
) -> anyhow::Result<()> {
    let row = split::ActiveModel {
        organization_id: Set(organization_id),
        release_id: Set(release_id),
        track_id: Set(None),
        scope_key: Set(crate::graphql::splits::RELEASE_SCOPE.into()),
        effective_from: Set(effective_from),
        created_by_user_id: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    for (payee_id, share_ppb) in shares {
        split_share::ActiveModel {
            organization_id: Set(organization_id),
            split_id: Set(row.id),
            payee_id: Set(*payee_id),
            share_ppb: Set(*share_ppb),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}
