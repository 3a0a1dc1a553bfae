//! Every entity against the migrated schema, on SQLite (through `entity::db::connect`) and, when
//! `IMPRINT_TEST_DATABASE_URL` names a PostgreSQL server, on a fresh database there: each table
//! takes a fully populated row and gives it back unchanged, relations resolve, deleting an
//! organisation cascades, and the SQLite pragmas hold on every pooled connection.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use entity::prelude::*;
use migration::{Migrator, MigratorTrait};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, Database, DatabaseConnection, DbBackend, EntityTrait,
    ModelTrait, PaginatorTrait, QueryResult, Statement as RawStatement, TransactionTrait,
};

fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!("{}_{nanos:x}", std::process::id())
}

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).expect("valid date")
}

/// Microsecond precision: what PostgreSQL keeps.
fn ts() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 30, 15)
        .single()
        .expect("valid time")
        + chrono::Duration::microseconds(123_456)
}

async fn pragma(db: &impl ConnectionTrait, name: &str) -> QueryResult {
    db.query_one_raw(RawStatement::from_string(
        DbBackend::Sqlite,
        format!("PRAGMA {name}"),
    ))
    .await
    .expect("pragma")
    .expect("pragma row")
}

#[tokio::test]
async fn entities_on_sqlite_file() {
    let path = std::env::temp_dir().join(format!("imprint_entity_{}.db", unique_suffix()));
    // No `mode=rwc`: `connect` creates the file itself.
    let db = entity::db::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("connect");

    // Hold several pooled connections at once and check each one's settings.
    let mut txs = Vec::new();
    for _ in 0..3 {
        txs.push(db.begin().await.expect("begin"));
    }
    for tx in &txs {
        let mode: String = pragma(tx, "journal_mode")
            .await
            .try_get_by_index(0)
            .expect("journal_mode");
        assert_eq!(mode.to_lowercase(), "wal");
        let fk: i32 = pragma(tx, "foreign_keys")
            .await
            .try_get_by_index(0)
            .expect("foreign_keys");
        assert_eq!(fk, 1);
        let busy: i32 = pragma(tx, "busy_timeout")
            .await
            .try_get_by_index(0)
            .expect("busy_timeout");
        assert_eq!(busy, 5000);
        let sync: i32 = pragma(tx, "synchronous")
            .await
            .try_get_by_index(0)
            .expect("synchronous");
        assert_eq!(sync, 1, "synchronous=NORMAL");
    }
    for tx in txs {
        tx.rollback().await.expect("rollback");
    }

    Migrator::up(&db, None).await.expect("migrate");
    exercise(&db).await;

    db.close().await.expect("close");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[tokio::test]
async fn entities_on_sqlite_memory() {
    let db = entity::db::connect("sqlite::memory:")
        .await
        .expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    exercise(&db).await;
}

#[tokio::test]
async fn entities_on_postgres() {
    let Ok(admin_url) = std::env::var("IMPRINT_TEST_DATABASE_URL") else {
        eprintln!("IMPRINT_TEST_DATABASE_URL is not set: the PostgreSQL entity run was skipped");
        return;
    };
    let admin = Database::connect(admin_url.as_str())
        .await
        .expect("connect admin");
    let name = format!("imprint_entity_{}", unique_suffix());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    let db = entity::db::connect(&database_url(&admin_url, &name))
        .await
        .expect("connect to test database");
    let outcome = tokio::spawn({
        let db = db.clone();
        async move {
            Migrator::up(&db, None).await.expect("migrate");
            exercise(&db).await;
        }
    })
    .await;
    db.close().await.expect("close test database");
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .expect("drop test database");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}

/// `postgres://user@host:port/db?params` with the database name replaced.
fn database_url(url: &str, database: &str) -> String {
    let (base, params) = match url.split_once('?') {
        Some((base, params)) => (base, Some(params)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{database}", &base[..authority_end]);
    if let Some(params) = params {
        out.push('?');
        out.push_str(params);
    }
    out
}

async fn exercise(db: &DatabaseConnection) {
    let ids = insert_every_table(db).await;

    // Relations resolve both ways.
    let org = Organization::find_by_id(ids["organization"])
        .one(db)
        .await
        .expect("organisation")
        .expect("organisation row");
    let artists = org.find_related(Artist).all(db).await.expect("artists");
    assert_eq!(artists.len(), 1);
    let releases = artists[0]
        .find_related(Release)
        .all(db)
        .await
        .expect("releases");
    assert_eq!(releases.len(), 1);
    let tracks = releases[0]
        .find_related(Track)
        .all(db)
        .await
        .expect("tracks");
    assert_eq!(tracks.len(), 1);
    let (_, release) = Track::find_by_id(tracks[0].id)
        .find_also_related(Release)
        .one(db)
        .await
        .expect("track with release")
        .expect("track row");
    assert_eq!(release.map(|r| r.id), Some(releases[0].id));

    // Writes through `begin_write` commit.
    let tx = entity::db::begin_write(db).await.expect("begin_write");
    let mut artist: entity::artist::ActiveModel = artists[0].clone().into();
    artist.name = Set("Renamed".to_owned());
    artist.update(&tx).await.expect("update artist");
    tx.commit().await.expect("commit");
    let renamed = Artist::find_by_id(artists[0].id)
        .one(db)
        .await
        .expect("artist");
    assert_eq!(renamed.map(|a| a.name).as_deref(), Some("Renamed"));

    // A payee with ledger entries cannot be deleted on its own (a foreign key on SQLite, a
    // trigger checked at the commit on PostgreSQL), and the refusal leaves her in place.
    let tx = entity::db::begin_write(db).await.expect("begin");
    let refused = match Payee::delete_by_id(ids["payee"]).exec(&tx).await {
        Err(_) => {
            tx.rollback().await.expect("rollback");
            true
        }
        Ok(_) => tx.commit().await.is_err(),
    };
    assert!(refused, "a payee with ledger entries was deleted");
    assert!(
        Payee::find_by_id(ids["payee"])
            .one(db)
            .await
            .expect("payee")
            .is_some()
    );

    // Deleting the organisation cascades to everything it owns; users are global.
    Organization::delete_by_id(org.id)
        .exec(db)
        .await
        .expect("delete organisation");
    assert_eq!(Artist::find().count(db).await.expect("count"), 0);
    assert_eq!(Statement::find().count(db).await.expect("count"), 0);
    assert_eq!(LedgerEntry::find().count(db).await.expect("count"), 0);
    assert_eq!(WebhookDelivery::find().count(db).await.expect("count"), 0);
    assert_eq!(User::find().count(db).await.expect("count"), 1);
}

/// Inserts one fully populated row into every table through its entity, checks that it reads
/// back identical, and returns the new ids by module name.
async fn insert_every_table(db: &DatabaseConnection) -> HashMap<&'static str, i64> {
    let mut ids = HashMap::new();
    {
        use entity::organization::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            name: "name ✓".to_owned(),
            kind: "kind ✓".to_owned(),
            base_currency: "EUR".to_owned(),
            created_at: ts(),
            analytics_version: 7,
            payout_period_months: 6,
            reserve_release_periods: 4,
            payout_iban: Some("payout_iban ✓".to_owned()),
            payout_bic: Some("payout_bic ✓".to_owned()),
            unconfirmed_splits: "hold".to_owned(),
        };
        let active = ActiveModel {
            id: NotSet,
            name: Set(expected.name.clone()),
            kind: Set(expected.kind.clone()),
            base_currency: Set(expected.base_currency.clone()),
            created_at: Set(expected.created_at),
            analytics_version: Set(expected.analytics_version),
            payout_period_months: Set(expected.payout_period_months),
            reserve_release_periods: Set(expected.reserve_release_periods),
            payout_iban: Set(expected.payout_iban.clone()),
            payout_bic: Set(expected.payout_bic.clone()),
            unconfirmed_splits: Set(expected.unconfirmed_splits.clone()),
        };
        let saved = active.insert(db).await.expect("insert organizations");
        assert!(saved.id > 0, "organizations id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "organizations as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select organizations");
        assert_eq!(found, Some(saved.clone()), "organizations as read back");
        ids.insert("organization", saved.id);
    }
    {
        use entity::user::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            email: "email ✓".to_owned(),
            name: "name ✓".to_owned(),
            password_hash: "password_hash ✓".to_owned(),
            created_at: ts(),
        };
        let active = ActiveModel {
            id: NotSet,
            email: Set(expected.email.clone()),
            name: Set(expected.name.clone()),
            password_hash: Set(expected.password_hash.clone()),
            created_at: Set(expected.created_at),
        };
        let saved = active.insert(db).await.expect("insert users");
        assert!(saved.id > 0, "users id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "users as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select users");
        assert_eq!(found, Some(saved.clone()), "users as read back");
        ids.insert("user", saved.id);
    }
    {
        use entity::artist::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            name: "name ✓".to_owned(),
            sort_name: Some("sort_name ✓".to_owned()),
            joined_on: date(),
            left_on: Some(date()),
            created_at: ts(),
            updated_at: ts(),
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            name: Set(expected.name.clone()),
            sort_name: Set(expected.sort_name.clone()),
            joined_on: Set(expected.joined_on),
            left_on: Set(expected.left_on),
            created_at: Set(expected.created_at),
            updated_at: Set(expected.updated_at),
        };
        let saved = active.insert(db).await.expect("insert artists");
        assert!(saved.id > 0, "artists id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "artists as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select artists");
        assert_eq!(found, Some(saved.clone()), "artists as read back");
        ids.insert("artist", saved.id);
    }
    {
        use entity::auth_token::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            user_id: ids["user"],
            token_hash: "token_hash ✓".to_owned(),
            created_at: ts(),
            expires_at: ts(),
            last_used_at: Some(ts()),
        };
        let active = ActiveModel {
            id: NotSet,
            user_id: Set(expected.user_id),
            token_hash: Set(expected.token_hash.clone()),
            created_at: Set(expected.created_at),
            expires_at: Set(expected.expires_at),
            last_used_at: Set(expected.last_used_at),
        };
        let saved = active.insert(db).await.expect("insert auth_tokens");
        assert!(saved.id > 0, "auth_tokens id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "auth_tokens as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select auth_tokens");
        assert_eq!(found, Some(saved.clone()), "auth_tokens as read back");
        ids.insert("auth_token", saved.id);
    }
    {
        use entity::membership::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            user_id: ids["user"],
            role: "role ✓".to_owned(),
            artist_id: Some(ids["artist"]),
            created_at: ts(),
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            user_id: Set(expected.user_id),
            role: Set(expected.role.clone()),
            artist_id: Set(expected.artist_id),
            created_at: Set(expected.created_at),
        };
        let saved = active.insert(db).await.expect("insert memberships");
        assert!(saved.id > 0, "memberships id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "memberships as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select memberships");
        assert_eq!(found, Some(saved.clone()), "memberships as read back");
        ids.insert("membership", saved.id);
    }
    {
        use entity::invitation::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            email: "email ✓".to_owned(),
            role: "role ✓".to_owned(),
            artist_id: Some(ids["artist"]),
            token_hash: "token_hash ✓".to_owned(),
            invited_by_user_id: ids["user"],
            created_at: ts(),
            expires_at: ts(),
            accepted_at: Some(ts()),
            accepted_by_user_id: Some(ids["user"]),
            revoked_at: Some(ts()),
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            email: Set(expected.email.clone()),
            role: Set(expected.role.clone()),
            artist_id: Set(expected.artist_id),
            token_hash: Set(expected.token_hash.clone()),
            invited_by_user_id: Set(expected.invited_by_user_id),
            created_at: Set(expected.created_at),
            expires_at: Set(expected.expires_at),
            accepted_at: Set(expected.accepted_at),
            accepted_by_user_id: Set(expected.accepted_by_user_id),
            revoked_at: Set(expected.revoked_at),
        };
        let saved = active.insert(db).await.expect("insert invitations");
        assert!(saved.id > 0, "invitations id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "invitations as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select invitations");
        assert_eq!(found, Some(saved.clone()), "invitations as read back");
        ids.insert("invitation", saved.id);
    }
    {
        use entity::api_key::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            name: "name ✓".to_owned(),
            token_prefix: "token_prefix ✓".to_owned(),
            token_hash: "token_hash ✓".to_owned(),
            scopes: "scopes ✓".to_owned(),
            created_by_user_id: Some(ids["user"]),
            created_at: ts(),
            last_used_at: Some(ts()),
            revoked_at: Some(ts()),
            expires_at: Some(ts()),
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            name: Set(expected.name.clone()),
            token_prefix: Set(expected.token_prefix.clone()),
            token_hash: Set(expected.token_hash.clone()),
            scopes: Set(expected.scopes.clone()),
            created_by_user_id: Set(expected.created_by_user_id),
            created_at: Set(expected.created_at),
            last_used_at: Set(expected.last_used_at),
            revoked_at: Set(expected.revoked_at),
            expires_at: Set(expected.expires_at),
        };
        let saved = active.insert(db).await.expect("insert api_keys");
        assert!(saved.id > 0, "api_keys id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "api_keys as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select api_keys");
        assert_eq!(found, Some(saved.clone()), "api_keys as read back");
        ids.insert("api_key", saved.id);
    }
    {
        use entity::artist_profile::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            artist_id: ids["artist"],
            store: "store ✓".to_owned(),
            external_id: Some("external_id ✓".to_owned()),
            url: Some("url ✓".to_owned()),
            claim_state: "claim_state ✓".to_owned(),
            updated_at: ts(),
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            artist_id: Set(expected.artist_id),
            store: Set(expected.store.clone()),
            external_id: Set(expected.external_id.clone()),
            url: Set(expected.url.clone()),
            claim_state: Set(expected.claim_state.clone()),
            updated_at: Set(expected.updated_at),
        };
        let saved = active.insert(db).await.expect("insert artist_profiles");
        assert!(saved.id > 0, "artist_profiles id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "artist_profiles as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select artist_profiles");
        assert_eq!(found, Some(saved.clone()), "artist_profiles as read back");
        ids.insert("artist_profile", saved.id);
    }
    {
        use entity::payee::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            name: "name ✓".to_owned(),
            email: Some("email ✓".to_owned()),
            kind: "kind ✓".to_owned(),
            artist_id: Some(ids["artist"]),
            currency: "EUR".to_owned(),
            minimum_payout_nanos: -1_234_567_890_123,
            payout_method: Some("payout_method ✓".to_owned()),
            reserve_ppb: 42,
            payment_rail: Some("payment_rail ✓".to_owned()),
            payment_account: Some("payment_account ✓".to_owned()),
            payment_bic: Some("payment_bic ✓".to_owned()),
            payment_account_holder: Some("payment_account_holder ✓".to_owned()),
            payment_note: Some("payment_note ✓".to_owned()),
            created_at: ts(),
            updated_at: ts(),
            tax_country: Some("US".to_owned()),
            tax_form: Some("w9".to_owned()),
            tax_id_masked: Some("•••• 6789".to_owned()),
            tax_id_hash: Some("tax_id_hash ✓".to_owned()),
            withholding_ppb: 300_000_000,
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            name: Set(expected.name.clone()),
            email: Set(expected.email.clone()),
            kind: Set(expected.kind.clone()),
            artist_id: Set(expected.artist_id),
            currency: Set(expected.currency.clone()),
            minimum_payout_nanos: Set(expected.minimum_payout_nanos),
            payout_method: Set(expected.payout_method.clone()),
            reserve_ppb: Set(expected.reserve_ppb),
            payment_rail: Set(expected.payment_rail.clone()),
            payment_account: Set(expected.payment_account.clone()),
            payment_bic: Set(expected.payment_bic.clone()),
            payment_account_holder: Set(expected.payment_account_holder.clone()),
            payment_note: Set(expected.payment_note.clone()),
            created_at: Set(expected.created_at),
            updated_at: Set(expected.updated_at),
            tax_country: Set(expected.tax_country.clone()),
            tax_form: Set(expected.tax_form.clone()),
            tax_id_masked: Set(expected.tax_id_masked.clone()),
            tax_id_hash: Set(expected.tax_id_hash.clone()),
            withholding_ppb: Set(expected.withholding_ppb),
        };
        let saved = active.insert(db).await.expect("insert payees");
        assert!(saved.id > 0, "payees id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "payees as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select payees");
        assert_eq!(found, Some(saved.clone()), "payees as read back");
        ids.insert("payee", saved.id);
    }
    {
        use entity::agreement::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            artist_id: ids["artist"],
            title: "title ✓".to_owned(),
            master_owner: "master_owner ✓".to_owned(),
            label_master_share_ppb: 42,
            artist_revenue_share_ppb: 42,
            deal_basis: "deal_basis ✓".to_owned(),
            recoupment_scope: "recoupment_scope ✓".to_owned(),
            advance_nanos: -1_234_567_890_123,
            currency: "EUR".to_owned(),
            artist_may_take_down: true,
            masters_revert_after_months: Some(7),
            exit_release_policy: "exit_release_policy ✓".to_owned(),
            future_rights: "future_rights ✓".to_owned(),
            future_options_count: Some(7),
            starts_on: date(),
            ends_on: Some(date()),
            document_url: Some("document_url ✓".to_owned()),
            created_at: ts(),
            updated_at: ts(),
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            artist_id: Set(expected.artist_id),
            title: Set(expected.title.clone()),
            master_owner: Set(expected.master_owner.clone()),
            label_master_share_ppb: Set(expected.label_master_share_ppb),
            artist_revenue_share_ppb: Set(expected.artist_revenue_share_ppb),
            deal_basis: Set(expected.deal_basis.clone()),
            recoupment_scope: Set(expected.recoupment_scope.clone()),
            advance_nanos: Set(expected.advance_nanos),
            currency: Set(expected.currency.clone()),
            artist_may_take_down: Set(expected.artist_may_take_down),
            masters_revert_after_months: Set(expected.masters_revert_after_months),
            exit_release_policy: Set(expected.exit_release_policy.clone()),
            future_rights: Set(expected.future_rights.clone()),
            future_options_count: Set(expected.future_options_count),
            starts_on: Set(expected.starts_on),
            ends_on: Set(expected.ends_on),
            document_url: Set(expected.document_url.clone()),
            created_at: Set(expected.created_at),
            updated_at: Set(expected.updated_at),
        };
        let saved = active.insert(db).await.expect("insert agreements");
        assert!(saved.id > 0, "agreements id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "agreements as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select agreements");
        assert_eq!(found, Some(saved.clone()), "agreements as read back");
        ids.insert("agreement", saved.id);
    }
    {
        use entity::release::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            artist_id: ids["artist"],
            title: "title ✓".to_owned(),
            upc: Some("upc ✓".to_owned()),
            release_type: "release_type ✓".to_owned(),
            release_date: Some(date()),
            status: "status ✓".to_owned(),
            label_name: Some("label_name ✓".to_owned()),
            created_at: ts(),
            updated_at: ts(),
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            artist_id: Set(expected.artist_id),
            title: Set(expected.title.clone()),
            upc: Set(expected.upc.clone()),
            release_type: Set(expected.release_type.clone()),
            release_date: Set(expected.release_date),
            status: Set(expected.status.clone()),
            label_name: Set(expected.label_name.clone()),
            created_at: Set(expected.created_at),
            updated_at: Set(expected.updated_at),
        };
        let saved = active.insert(db).await.expect("insert releases");
        assert!(saved.id > 0, "releases id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "releases as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select releases");
        assert_eq!(found, Some(saved.clone()), "releases as read back");
        ids.insert("release", saved.id);
    }
    {
        use entity::track::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            release_id: ids["release"],
            title: "title ✓".to_owned(),
            isrc: Some("isrc ✓".to_owned()),
            iswc: Some("iswc ✓".to_owned()),
            duration_ms: Some(7),
            position: 7,
            created_at: ts(),
            updated_at: ts(),
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            release_id: Set(expected.release_id),
            title: Set(expected.title.clone()),
            isrc: Set(expected.isrc.clone()),
            iswc: Set(expected.iswc.clone()),
            duration_ms: Set(expected.duration_ms),
            position: Set(expected.position),
            created_at: Set(expected.created_at),
            updated_at: Set(expected.updated_at),
        };
        let saved = active.insert(db).await.expect("insert tracks");
        assert!(saved.id > 0, "tracks id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "tracks as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select tracks");
        assert_eq!(found, Some(saved.clone()), "tracks as read back");
        ids.insert("track", saved.id);
    }
    {
        use entity::track_artist::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            track_id: ids["track"],
            artist_id: ids["artist"],
            role: "role ✓".to_owned(),
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            track_id: Set(expected.track_id),
            artist_id: Set(expected.artist_id),
            role: Set(expected.role.clone()),
        };
        let saved = active.insert(db).await.expect("insert track_artists");
        assert!(saved.id > 0, "track_artists id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "track_artists as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select track_artists");
        assert_eq!(found, Some(saved.clone()), "track_artists as read back");
        ids.insert("track_artist", saved.id);
    }
    {
        use entity::split::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            release_id: ids["release"],
            track_id: Some(ids["track"]),
            scope_key: "scope_key ✓".to_owned(),
            effective_from: date(),
            created_by_user_id: Some(ids["user"]),
            created_at: ts(),
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            release_id: Set(expected.release_id),
            track_id: Set(expected.track_id),
            scope_key: Set(expected.scope_key.clone()),
            effective_from: Set(expected.effective_from),
            created_by_user_id: Set(expected.created_by_user_id),
            created_at: Set(expected.created_at),
        };
        let saved = active.insert(db).await.expect("insert splits");
        assert!(saved.id > 0, "splits id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "splits as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select splits");
        assert_eq!(found, Some(saved.clone()), "splits as read back");
        ids.insert("split", saved.id);
    }
    {
        use entity::split_share::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            split_id: ids["split"],
            payee_id: ids["payee"],
            share_ppb: 1_000_000_000,
            confirmed_at: Some(ts()),
            confirmed_by_user_id: None,
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            split_id: Set(expected.split_id),
            payee_id: Set(expected.payee_id),
            share_ppb: Set(expected.share_ppb),
            confirmed_at: Set(expected.confirmed_at),
            confirmed_by_user_id: Set(expected.confirmed_by_user_id),
        };
        let saved = active.insert(db).await.expect("insert split_shares");
        assert!(saved.id > 0, "split_shares id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "split_shares as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select split_shares");
        assert_eq!(found, Some(saved.clone()), "split_shares as read back");
        ids.insert("split_share", saved.id);
    }
    {
        use entity::recoupable::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            kind: "kind ✓".to_owned(),
            description: "description ✓".to_owned(),
            amount_nanos: -1_234_567_890_123,
            currency: "EUR".to_owned(),
            artist_id: Some(ids["artist"]),
            release_id: Some(ids["release"]),
            payee_id: Some(ids["payee"]),
            cross_collateralized: true,
            shared_rule: Some("shared_rule ✓".to_owned()),
            incurred_on: date(),
            created_at: ts(),
            recouped_nanos: 1_234_567_890_123,
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            kind: Set(expected.kind.clone()),
            description: Set(expected.description.clone()),
            amount_nanos: Set(expected.amount_nanos),
            currency: Set(expected.currency.clone()),
            artist_id: Set(expected.artist_id),
            release_id: Set(expected.release_id),
            payee_id: Set(expected.payee_id),
            cross_collateralized: Set(expected.cross_collateralized),
            shared_rule: Set(expected.shared_rule.clone()),
            incurred_on: Set(expected.incurred_on),
            created_at: Set(expected.created_at),
            recouped_nanos: Set(expected.recouped_nanos),
        };
        let saved = active.insert(db).await.expect("insert recoupables");
        assert!(saved.id > 0, "recoupables id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "recoupables as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select recoupables");
        assert_eq!(found, Some(saved.clone()), "recoupables as read back");
        ids.insert("recoupable", saved.id);
    }
    {
        use entity::import_template::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            name: "name ✓".to_owned(),
            header_signature: "header_signature ✓".to_owned(),
            mapping: serde_json::json!({"EUR": "12.50", "list": [1, 2, 3]}),
            created_at: ts(),
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            name: Set(expected.name.clone()),
            header_signature: Set(expected.header_signature.clone()),
            mapping: Set(expected.mapping.clone()),
            created_at: Set(expected.created_at),
        };
        let saved = active.insert(db).await.expect("insert import_templates");
        assert!(saved.id > 0, "import_templates id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "import_templates as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select import_templates");
        assert_eq!(found, Some(saved.clone()), "import_templates as read back");
        ids.insert("import_template", saved.id);
    }
    {
        use entity::statement::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            source: Some("source ✓".to_owned()),
            format: Some("format ✓".to_owned()),
            filename: "filename ✓".to_owned(),
            sha256: "sha256 ✓".to_owned(),
            storage_key: "storage_key ✓".to_owned(),
            size_bytes: 42,
            currency: Some("EUR".to_owned()),
            period_start: Some(date()),
            period_end: Some(date()),
            status: "status ✓".to_owned(),
            line_count: 42,
            error_count: 42,
            skipped_count: 42,
            matched_count: 42,
            unmatched_count: 42,
            bytes_processed: 42,
            totals: serde_json::json!({"EUR": "12.50", "list": [1, 2, 3]}),
            warnings: serde_json::json!({"EUR": "12.50", "list": [1, 2, 3]}),
            failure_reason: Some("failure_reason ✓".to_owned()),
            uploaded_by_user_id: Some(ids["user"]),
            created_at: ts(),
            updated_at: ts(),
            parsed_at: Some(ts()),
            allocation_generation: 3,
            allocation_status: "allocated".to_owned(),
            allocated_count: 42,
            unallocated_count: 42,
            allocation_issues: "[]".to_owned(),
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            source: Set(expected.source.clone()),
            format: Set(expected.format.clone()),
            filename: Set(expected.filename.clone()),
            sha256: Set(expected.sha256.clone()),
            storage_key: Set(expected.storage_key.clone()),
            size_bytes: Set(expected.size_bytes),
            currency: Set(expected.currency.clone()),
            period_start: Set(expected.period_start),
            period_end: Set(expected.period_end),
            status: Set(expected.status.clone()),
            line_count: Set(expected.line_count),
            error_count: Set(expected.error_count),
            skipped_count: Set(expected.skipped_count),
            matched_count: Set(expected.matched_count),
            unmatched_count: Set(expected.unmatched_count),
            bytes_processed: Set(expected.bytes_processed),
            totals: Set(expected.totals.clone()),
            warnings: Set(expected.warnings.clone()),
            failure_reason: Set(expected.failure_reason.clone()),
            uploaded_by_user_id: Set(expected.uploaded_by_user_id),
            created_at: Set(expected.created_at),
            updated_at: Set(expected.updated_at),
            parsed_at: Set(expected.parsed_at),
            allocation_generation: Set(expected.allocation_generation),
            allocation_status: Set(expected.allocation_status.clone()),
            allocated_count: Set(expected.allocated_count),
            unallocated_count: Set(expected.unallocated_count),
            allocation_issues: Set(expected.allocation_issues.clone()),
        };
        let saved = active.insert(db).await.expect("insert statements");
        assert!(saved.id > 0, "statements id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "statements as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select statements");
        assert_eq!(found, Some(saved.clone()), "statements as read back");
        ids.insert("statement", saved.id);
    }
    {
        use entity::statement_line::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            statement_id: ids["statement"],
            line_number: 42,
            fingerprint: vec![0, 0xff, 0x80, 0x7f, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1],
            isrc: Some("isrc ✓".to_owned()),
            upc: Some("upc ✓".to_owned()),
            title: Some("title ✓".to_owned()),
            artist_name: Some("artist_name ✓".to_owned()),
            release_title: Some("release_title ✓".to_owned()),
            store: Some("store ✓".to_owned()),
            territory: Some("territory ✓".to_owned()),
            territory_raw: Some("territory_raw ✓".to_owned()),
            sale_period_start: Some(date()),
            sale_period_end: Some(date()),
            usage_type: Some("usage_type ✓".to_owned()),
            quantity: 42,
            amount_nanos: -1_234_567_890_123,
            currency: "EUR".to_owned(),
            base_amount_nanos: -1_234_567_890_123,
            base_currency: "EUR".to_owned(),
            track_id: Some(ids["track"]),
            release_id: Some(ids["release"]),
            match_method: Some("match_method ✓".to_owned()),
            fx_rate: Some("0.7563".to_owned()),
            fx_source: Some("table".to_owned()),
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            statement_id: Set(expected.statement_id),
            line_number: Set(expected.line_number),
            fingerprint: Set(expected.fingerprint.clone()),
            isrc: Set(expected.isrc.clone()),
            upc: Set(expected.upc.clone()),
            title: Set(expected.title.clone()),
            artist_name: Set(expected.artist_name.clone()),
            release_title: Set(expected.release_title.clone()),
            store: Set(expected.store.clone()),
            territory: Set(expected.territory.clone()),
            territory_raw: Set(expected.territory_raw.clone()),
            sale_period_start: Set(expected.sale_period_start),
            sale_period_end: Set(expected.sale_period_end),
            usage_type: Set(expected.usage_type.clone()),
            quantity: Set(expected.quantity),
            amount_nanos: Set(expected.amount_nanos),
            currency: Set(expected.currency.clone()),
            base_amount_nanos: Set(expected.base_amount_nanos),
            base_currency: Set(expected.base_currency.clone()),
            track_id: Set(expected.track_id),
            release_id: Set(expected.release_id),
            match_method: Set(expected.match_method.clone()),
            fx_rate: Set(expected.fx_rate.clone()),
            fx_source: Set(expected.fx_source.clone()),
        };
        let saved = active.insert(db).await.expect("insert statement_lines");
        assert!(saved.id > 0, "statement_lines id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "statement_lines as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select statement_lines");
        assert_eq!(found, Some(saved.clone()), "statement_lines as read back");
        ids.insert("statement_line", saved.id);
    }
    {
        use entity::statement_error::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            statement_id: ids["statement"],
            line_number: 42,
            reason: "reason ✓".to_owned(),
            raw: Some("raw ✓".to_owned()),
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            statement_id: Set(expected.statement_id),
            line_number: Set(expected.line_number),
            reason: Set(expected.reason.clone()),
            raw: Set(expected.raw.clone()),
        };
        let saved = active.insert(db).await.expect("insert statement_errors");
        assert!(saved.id > 0, "statement_errors id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "statement_errors as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select statement_errors");
        assert_eq!(found, Some(saved.clone()), "statement_errors as read back");
        ids.insert("statement_error", saved.id);
    }
    {
        use entity::identifier_alias::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            identifier: "identifier ✓".to_owned(),
            track_id: ids["track"],
            created_by_user_id: Some(ids["user"]),
            created_at: ts(),
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            identifier: Set(expected.identifier.clone()),
            track_id: Set(expected.track_id),
            created_by_user_id: Set(expected.created_by_user_id),
            created_at: Set(expected.created_at),
        };
        let saved = active.insert(db).await.expect("insert identifier_aliases");
        assert!(saved.id > 0, "identifier_aliases id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "identifier_aliases as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select identifier_aliases");
        assert_eq!(
            found,
            Some(saved.clone()),
            "identifier_aliases as read back"
        );
        ids.insert("identifier_alias", saved.id);
    }
    {
        use entity::ledger_entry::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            payee_id: Some(ids["payee"]),
            account: "account ✓".to_owned(),
            amount_nanos: -1_234_567_890_123,
            currency: "EUR".to_owned(),
            cause: "cause ✓".to_owned(),
            statement_id: Some(42),
            statement_line_id: Some(42),
            payout_run_id: Some(42),
            recoupable_id: Some(42),
            release_id: Some(42),
            track_id: Some(42),
            period: Some(date()),
            created_at: ts(),
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            payee_id: Set(expected.payee_id),
            account: Set(expected.account.clone()),
            amount_nanos: Set(expected.amount_nanos),
            currency: Set(expected.currency.clone()),
            cause: Set(expected.cause.clone()),
            statement_id: Set(expected.statement_id),
            statement_line_id: Set(expected.statement_line_id),
            payout_run_id: Set(expected.payout_run_id),
            recoupable_id: Set(expected.recoupable_id),
            release_id: Set(expected.release_id),
            track_id: Set(expected.track_id),
            period: Set(expected.period),
            created_at: Set(expected.created_at),
        };
        let saved = active.insert(db).await.expect("insert ledger_entries");
        assert!(saved.id > 0, "ledger_entries id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "ledger_entries as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select ledger_entries");
        assert_eq!(found, Some(saved.clone()), "ledger_entries as read back");
        ids.insert("ledger_entry", saved.id);
    }
    {
        use entity::analytics_monthly::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            artist_id: 42,
            release_id: 42,
            track_id: 42,
            store: "store ✓".to_owned(),
            territory: "territory ✓".to_owned(),
            month: date(),
            currency: "EUR".to_owned(),
            quantity: 42,
            earnings_base_nanos: -1_234_567_890_123,
            earnings_nanos: -1_234_567_890_123,
            line_count: 42,
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            artist_id: Set(expected.artist_id),
            release_id: Set(expected.release_id),
            track_id: Set(expected.track_id),
            store: Set(expected.store.clone()),
            territory: Set(expected.territory.clone()),
            month: Set(expected.month),
            currency: Set(expected.currency.clone()),
            quantity: Set(expected.quantity),
            earnings_base_nanos: Set(expected.earnings_base_nanos),
            earnings_nanos: Set(expected.earnings_nanos),
            line_count: Set(expected.line_count),
        };
        let saved = active.insert(db).await.expect("insert analytics_monthly");
        assert!(saved.id > 0, "analytics_monthly id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "analytics_monthly as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select analytics_monthly");
        assert_eq!(found, Some(saved.clone()), "analytics_monthly as read back");
        ids.insert("analytics_monthly", saved.id);
    }
    {
        use entity::payout_run::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            period_end: date(),
            status: "status ✓".to_owned(),
            created_by_user_id: Some(ids["user"]),
            approved_by_user_id: Some(ids["user"]),
            approved_at: Some(ts()),
            paid_at: Some(ts()),
            failure_reason: Some("failure_reason ✓".to_owned()),
            created_at: ts(),
            updated_at: ts(),
            ledger_watermark: Some(-1_234_567_890_123),
            exchange_rates: "{\"EUR\":\"0.92\"}".to_owned(),
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            period_end: Set(expected.period_end),
            status: Set(expected.status.clone()),
            created_by_user_id: Set(expected.created_by_user_id),
            approved_by_user_id: Set(expected.approved_by_user_id),
            approved_at: Set(expected.approved_at),
            paid_at: Set(expected.paid_at),
            failure_reason: Set(expected.failure_reason.clone()),
            created_at: Set(expected.created_at),
            updated_at: Set(expected.updated_at),
            ledger_watermark: Set(expected.ledger_watermark),
            exchange_rates: Set(expected.exchange_rates.clone()),
        };
        let saved = active.insert(db).await.expect("insert payout_runs");
        assert!(saved.id > 0, "payout_runs id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "payout_runs as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select payout_runs");
        assert_eq!(found, Some(saved.clone()), "payout_runs as read back");
        ids.insert("payout_run", saved.id);
    }
    {
        use entity::payout::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            payout_run_id: ids["payout_run"],
            payee_id: ids["payee"],
            currency: "EUR".to_owned(),
            brought_forward_nanos: -1_234_567_890_123,
            earnings_nanos: -1_234_567_890_123,
            recouped_nanos: -1_234_567_890_123,
            reserved_nanos: -1_234_567_890_123,
            reserve_released_nanos: -1_234_567_890_123,
            payable_nanos: -1_234_567_890_123,
            carried_forward_nanos: -1_234_567_890_123,
            status: "status ✓".to_owned(),
            payment_reference: Some("payment_reference ✓".to_owned()),
            paid_at: Some(ts()),
            created_at: ts(),
            rounding_remainder_nanos: -1_234_567_890_123,
            below_minimum: true,
            withheld_nanos: -1_234_567_890_123,
            withholding_ppb: 300_000_000,
            paid_nanos: -1_234_567_890_123,
            payout_currency: "JPY".to_owned(),
            exchange_rate: "151.25".to_owned(),
            payout_amount_nanos: -1_234_567_890_123,
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            payout_run_id: Set(expected.payout_run_id),
            payee_id: Set(expected.payee_id),
            currency: Set(expected.currency.clone()),
            brought_forward_nanos: Set(expected.brought_forward_nanos),
            earnings_nanos: Set(expected.earnings_nanos),
            recouped_nanos: Set(expected.recouped_nanos),
            reserved_nanos: Set(expected.reserved_nanos),
            reserve_released_nanos: Set(expected.reserve_released_nanos),
            payable_nanos: Set(expected.payable_nanos),
            carried_forward_nanos: Set(expected.carried_forward_nanos),
            status: Set(expected.status.clone()),
            payment_reference: Set(expected.payment_reference.clone()),
            paid_at: Set(expected.paid_at),
            created_at: Set(expected.created_at),
            rounding_remainder_nanos: Set(expected.rounding_remainder_nanos),
            below_minimum: Set(expected.below_minimum),
            withheld_nanos: Set(expected.withheld_nanos),
            withholding_ppb: Set(expected.withholding_ppb),
            paid_nanos: Set(expected.paid_nanos),
            payout_currency: Set(expected.payout_currency.clone()),
            exchange_rate: Set(expected.exchange_rate.clone()),
            payout_amount_nanos: Set(expected.payout_amount_nanos),
        };
        let saved = active.insert(db).await.expect("insert payouts");
        assert!(saved.id > 0, "payouts id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "payouts as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select payouts");
        assert_eq!(found, Some(saved.clone()), "payouts as read back");
        ids.insert("payout", saved.id);
    }
    {
        use entity::audit_log::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            actor_user_id: Some(42),
            actor_api_key_id: Some(42),
            action: "action ✓".to_owned(),
            entity_type: "entity_type ✓".to_owned(),
            entity_id: 42,
            before: Some(serde_json::json!({"EUR": "12.50", "list": [1, 2, 3]})),
            after: Some(serde_json::json!({"EUR": "12.50", "list": [1, 2, 3]})),
            created_at: ts(),
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            actor_user_id: Set(expected.actor_user_id),
            actor_api_key_id: Set(expected.actor_api_key_id),
            action: Set(expected.action.clone()),
            entity_type: Set(expected.entity_type.clone()),
            entity_id: Set(expected.entity_id),
            before: Set(expected.before.clone()),
            after: Set(expected.after.clone()),
            created_at: Set(expected.created_at),
        };
        let saved = active.insert(db).await.expect("insert audit_log");
        assert!(saved.id > 0, "audit_log id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "audit_log as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select audit_log");
        assert_eq!(found, Some(saved.clone()), "audit_log as read back");
        ids.insert("audit_log", saved.id);
    }
    {
        use entity::webhook::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            url: "url ✓".to_owned(),
            secret: "secret ✓".to_owned(),
            events: "events ✓".to_owned(),
            active: true,
            created_by_user_id: Some(ids["user"]),
            created_at: ts(),
            description: Some("description ✓".to_owned()),
            previous_secret: Some("previous_secret ✓".to_owned()),
            previous_secret_expires_at: Some(ts()),
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            url: Set(expected.url.clone()),
            secret: Set(expected.secret.clone()),
            events: Set(expected.events.clone()),
            active: Set(expected.active),
            created_by_user_id: Set(expected.created_by_user_id),
            created_at: Set(expected.created_at),
            description: Set(expected.description.clone()),
            previous_secret: Set(expected.previous_secret.clone()),
            previous_secret_expires_at: Set(expected.previous_secret_expires_at),
        };
        let saved = active.insert(db).await.expect("insert webhooks");
        assert!(saved.id > 0, "webhooks id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "webhooks as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select webhooks");
        assert_eq!(found, Some(saved.clone()), "webhooks as read back");
        ids.insert("webhook", saved.id);
    }
    {
        use entity::webhook_delivery::{ActiveModel, Entity, Model};
        let expected = Model {
            id: 0,
            organization_id: ids["organization"],
            webhook_id: ids["webhook"],
            event: "event ✓".to_owned(),
            event_id: "event_id ✓".to_owned(),
            payload: "payload ✓".to_owned(),
            status: "status ✓".to_owned(),
            attempts: 7,
            last_status_code: Some(7),
            last_error: Some("last_error ✓".to_owned()),
            next_attempt_at: Some(ts()),
            delivered_at: Some(ts()),
            created_at: ts(),
            last_attempt_at: Some(ts()),
        };
        let active = ActiveModel {
            id: NotSet,
            organization_id: Set(expected.organization_id),
            webhook_id: Set(expected.webhook_id),
            event: Set(expected.event.clone()),
            event_id: Set(expected.event_id.clone()),
            payload: Set(expected.payload.clone()),
            status: Set(expected.status.clone()),
            attempts: Set(expected.attempts),
            last_status_code: Set(expected.last_status_code),
            last_error: Set(expected.last_error.clone()),
            next_attempt_at: Set(expected.next_attempt_at),
            delivered_at: Set(expected.delivered_at),
            created_at: Set(expected.created_at),
            last_attempt_at: Set(expected.last_attempt_at),
        };
        let saved = active.insert(db).await.expect("insert webhook_deliveries");
        assert!(saved.id > 0, "webhook_deliveries id");
        assert_eq!(
            saved,
            Model {
                id: saved.id,
                ..expected
            },
            "webhook_deliveries as inserted"
        );
        let found = Entity::find_by_id(saved.id)
            .one(db)
            .await
            .expect("select webhook_deliveries");
        assert_eq!(
            found,
            Some(saved.clone()),
            "webhook_deliveries as read back"
        );
        ids.insert("webhook_delivery", saved.id);
    }
    ids
}
