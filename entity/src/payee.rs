//! `payees`: Someone who gets paid: an artist, a producer, a guest, the label itself.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `payees`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "payees")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub name: String,
    pub email: Option<String>,
    pub kind: String,
    pub artist_id: Option<i64>,
    /// Payout currency, ISO 4217.
    pub currency: String,
    pub minimum_payout_nanos: i64,
    pub payout_method: Option<String>,
    /// Share of earnings held back, parts per billion (default 0).
    pub reserve_ppb: i64,
    /// `iban` | `paypal` | `wise`; see `domain::rails::PaymentDetails::to_columns`.
    pub payment_rail: Option<String>,
    /// The IBAN, the e-mail address or the Wise recipient id.
    pub payment_account: Option<String>,
    pub payment_bic: Option<String>,
    pub payment_account_holder: Option<String>,
    /// The old free-text payout method, where it could not be read as details.
    pub payment_note: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub tax_country: Option<String>,
    pub tax_form: Option<String>,
    pub tax_id_masked: Option<String>,
    pub tax_id_hash: Option<String>,
    pub withholding_ppb: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::OrganizationId",
        to = "super::organization::Column::Id",
        on_delete = "Cascade"
    )]
    Organization,
    #[sea_orm(
        belongs_to = "super::artist::Entity",
        from = "Column::ArtistId",
        to = "super::artist::Column::Id",
        on_delete = "SetNull"
    )]
    Artist,
    #[sea_orm(has_many = "super::split_share::Entity")]
    SplitShares,
    #[sea_orm(has_many = "super::payout::Entity")]
    Payouts,
    #[sea_orm(has_many = "super::ledger_entry::Entity")]
    LedgerEntries,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::artist::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Artist.def()
    }
}

impl Related<super::split_share::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SplitShares.def()
    }
}

impl Related<super::payout::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Payouts.def()
    }
}

impl Related<super::ledger_entry::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::LedgerEntries.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
