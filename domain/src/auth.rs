//! Who may do what: membership roles, API key scopes, the permissions they grant, and which
//! objects a holder of those permissions may see.
//!
//! This is the one permission table of Imprint. The API asks it for every object it releases
//! and every mutation it runs; the README's table is checked against it by a test. Whether an
//! object concerns an artist needs data and is resolved by the API, but the decision made with
//! that answer ([`Holder::admits`]) is made here.

use crate::enums::string_enum;

string_enum! {
    /// A user's role in one organisation.
    pub enum Role: "role" {
        /// Created the organisation; everything, including granting owner.
        Owner => "owner",
        /// Everything but granting owner.
        Admin => "admin",
        /// Day-to-day running: catalogue, statements, splits, payouts (not approving them).
        Manager => "manager",
        /// Reads names and figures, changes nothing (accountants, auditors); no contact or
        /// payment details.
        Viewer => "viewer",
        /// A roster artist: reads only their own artist's releases, agreements, payees, earnings
        /// and payouts.
        Artist => "artist",
    }
}

string_enum! {
    /// What an API key may do. Keys have no role; each scope grants exactly what it names.
    pub enum Scope: "scope" {
        /// Read artists, releases, tracks, agreements, payees (names and settings), splits.
        ReadCatalogue => "read:catalogue",
        /// Create and edit artists, releases and tracks (not splits, agreements or payees).
        WriteCatalogue => "write:catalogue",
        /// Change splits, and nothing else.
        WriteSplits => "write:splits",
        /// Read statements, their lines and errors.
        ReadStatements => "read:statements",
        /// Upload statements, match lines, save import templates, reallocate.
        WriteStatements => "write:statements",
        /// Read analytics figures and the names beside them.
        ReadAnalytics => "read:analytics",
        /// Read payout runs, payouts, balances, the ledger and recoupables.
        ReadPayouts => "read:payouts",
        /// Create and cancel payout runs (approving and paying stay with people).
        WritePayouts => "write:payouts",
        /// Create and manage webhooks.
        ManageWebhooks => "manage:webhooks",
    }
}

string_enum! {
    /// One power over an organisation's data. Every resolver and mutation asks for exactly one.
    pub enum Permission: "permission" {
        /// Roster, releases, tracks, agreements, payees' names and settings, splits.
        ReadCatalogue => "read_catalogue",
        /// Create and edit artists, store profiles, releases and tracks; release status.
        WriteCatalogue => "write_catalogue",
        /// Create and change agreements, and record an artist leaving.
        ManageAgreements => "manage_agreements",
        /// Set a release's or track's split.
        ManageSplits => "manage_splits",
        /// Create payees and change their payment details, currency, reserve and minimum.
        ManagePayees => "manage_payees",
        /// Payees' and members' contact, payment and tax details.
        ReadPersonal => "read_personal",
        /// Statements, their lines, errors and import templates.
        ReadStatements => "read_statements",
        /// Upload and reparse statements, match lines, save templates, reallocate.
        WriteStatements => "write_statements",
        /// The ledger, balances, recoupables, payout runs and payouts, the money summary.
        ReadMoney => "read_money",
        /// Add recoupables (advances and expenses).
        ManageRecoupables => "manage_recoupables",
        /// Create and cancel payout runs.
        PreparePayouts => "prepare_payouts",
        /// Approve a payout run and mark it paid, the step that releases money; payout settings.
        ApprovePayouts => "approve_payouts",
        /// Analytics figures and the names beside them.
        ReadAnalytics => "read_analytics",
        /// Members, invitations and API keys; the audit log.
        ManageMembers => "manage_members",
        /// Webhooks and their deliveries.
        ManageWebhooks => "manage_webhooks",
        /// The artist's own acts, which nobody does for her: claiming her store profiles,
        /// confirming her share of a split.
        ActAsArtist => "act_as_artist",
    }
}

impl Permission {
    /// What the permission lets one do, for tables and messages.
    #[must_use]
    pub const fn describe(self) -> &'static str {
        match self {
            Permission::ReadCatalogue => {
                "read the roster, releases, tracks, agreements, payees' names, splits"
            }
            Permission::WriteCatalogue => "create and edit artists, profiles, releases, tracks",
            Permission::ManageAgreements => "create and change agreements; record an exit",
            Permission::ManageSplits => "set splits",
            Permission::ManagePayees => "create payees, change payment details",
            Permission::ReadPersonal => "read contact, payment and tax details",
            Permission::ReadStatements => "read statements, lines, errors, templates",
            Permission::WriteStatements => {
                "upload, reparse, match, save templates, reallocate statements"
            }
            Permission::ReadMoney => "read ledger, balances, recoupables, payout runs",
            Permission::ManageRecoupables => "add recoupables",
            Permission::PreparePayouts => "create and cancel payout runs",
            Permission::ApprovePayouts => "approve payout runs, mark them paid, payout settings",
            Permission::ReadAnalytics => "read analytics",
            Permission::ManageMembers => "members, invitations, API keys, audit log",
            Permission::ManageWebhooks => "webhooks and deliveries",
            Permission::ActAsArtist => {
                "an artist's own acts: claim her store profiles, confirm her split shares"
            }
        }
    }
}

impl Role {
    /// The permission table for members. An artist's permissions apply only to objects that
    /// concern their own artist ([`Holder::admits`]).
    #[must_use]
    pub const fn grants(self, permission: Permission) -> bool {
        use Permission as P;
        match self {
            Role::Owner | Role::Admin => !matches!(permission, P::ActAsArtist),
            Role::Manager => !matches!(
                permission,
                P::ManageMembers | P::ApprovePayouts | P::ManageWebhooks | P::ActAsArtist
            ),
            Role::Viewer => matches!(
                permission,
                P::ReadCatalogue | P::ReadStatements | P::ReadMoney | P::ReadAnalytics
            ),
            Role::Artist => matches!(
                permission,
                P::ReadCatalogue
                    | P::ReadPersonal
                    | P::ReadMoney
                    | P::ReadAnalytics
                    | P::ActAsArtist
            ),
        }
    }

    /// Whether a member with this role may give `other` to someone: an owner grants any role,
    /// an admin any role but owner, nobody else grants anything.
    #[must_use]
    pub const fn can_grant(self, other: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => !matches!(other, Role::Owner),
            Role::Manager | Role::Viewer | Role::Artist => false,
        }
    }
}

impl Scope {
    /// The permission table for API keys: a scope grants what it names and the reading that
    /// doing it needs. No scope approves or pays, reads personal details or manages members.
    #[must_use]
    pub const fn grants(self, permission: Permission) -> bool {
        use Permission as P;
        match self {
            Scope::ReadCatalogue => matches!(permission, P::ReadCatalogue),
            Scope::WriteCatalogue => matches!(permission, P::ReadCatalogue | P::WriteCatalogue),
            Scope::WriteSplits => matches!(permission, P::ReadCatalogue | P::ManageSplits),
            Scope::ReadStatements => matches!(permission, P::ReadStatements),
            Scope::WriteStatements => matches!(permission, P::ReadStatements | P::WriteStatements),
            Scope::ReadAnalytics => matches!(permission, P::ReadAnalytics),
            Scope::ReadPayouts => matches!(permission, P::ReadMoney),
            Scope::WritePayouts => matches!(permission, P::ReadMoney | P::PreparePayouts),
            Scope::ManageWebhooks => matches!(permission, P::ManageWebhooks),
        }
    }
}

/// Whom an object concerns, as far as an artist member is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The organisation itself, and what every one of its members sees about it (its name,
    /// their own membership): everyone in it.
    Everyone,
    /// The organisation as a whole (a statement, a webhook, the label's own payee): no artist
    /// member sees it.
    Label,
    /// One roster artist: that artist's member sees it.
    Artist(i64),
}

/// Who holds the permissions in one organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder<'a> {
    /// A member; `artist_id` is set for an artist member (and only then).
    Member { role: Role, artist_id: Option<i64> },
    /// An API key of the organisation.
    Key { scopes: &'a [Scope] },
}

impl Holder<'_> {
    /// Whether the holder has `permission` in the organisation at all.
    #[must_use]
    pub fn has(&self, permission: Permission) -> bool {
        match self {
            Holder::Member { role, .. } => role.grants(permission),
            Holder::Key { scopes } => scopes.iter().any(|s| s.grants(permission)),
        }
    }

    /// The artist an artist member is limited to.
    #[must_use]
    pub const fn artist_scope(&self) -> Option<i64> {
        match self {
            Holder::Member { artist_id, .. } => *artist_id,
            Holder::Key { .. } => None,
        }
    }

    /// Whether the holder may know of an object of their organisation that concerns `owner`:
    /// everyone but an artist member knows of everything; she knows of her own artist's.
    #[must_use]
    pub const fn sees(&self, owner: Owner) -> bool {
        match (self.artist_scope(), owner) {
            (None, _) | (Some(_), Owner::Everyone) => true,
            (Some(own), Owner::Artist(artist)) => own == artist,
            (Some(_), Owner::Label) => false,
        }
    }

    /// Whether the holder may exercise `permission` on an object of their organisation that
    /// concerns `owner`: the permission, and for an artist member, her own artist's object.
    #[must_use]
    pub fn admits(&self, permission: Permission, owner: Owner) -> bool {
        self.has(permission) && self.sees(owner)
    }
}

/// What each GraphQL mutation needs, in the organisation it acts in. `None`: the mutation acts
/// on the caller's own account (signing up, logging in, accepting an invitation, creating an
/// organisation) and needs no permission. The API's resolvers ask for exactly these; the
/// generated authorization test checks every mutation of the schema against this table, and
/// fails on a mutation missing from it.
///
/// `setReleaseStatus` needs `WriteCatalogue`, except that an artist member may take her own
/// release down where her agreement in force gives her that right.
pub const MUTATIONS: &[(&str, Option<Permission>)] = &[
    ("setExchangeRate", Some(Permission::WriteStatements)),
    ("importExchangeRates", Some(Permission::WriteStatements)),
    (
        "setStatementExchangeRate",
        Some(Permission::WriteStatements),
    ),
    ("recordRemittance", Some(Permission::WriteStatements)),
    ("convertAtEffectiveRate", Some(Permission::WriteStatements)),
    ("revertEffectiveRate", Some(Permission::WriteStatements)),
    ("setPayoutsReconciledOnly", Some(Permission::ApprovePayouts)),
    ("signUp", None),
    ("login", None),
    ("logout", None),
    ("logoutEverywhere", None),
    ("changePassword", None),
    ("createOrganization", None),
    ("acceptInvitation", None),
    ("inviteMember", Some(Permission::ManageMembers)),
    ("revokeInvitation", Some(Permission::ManageMembers)),
    ("createApiKey", Some(Permission::ManageMembers)),
    ("revokeApiKey", Some(Permission::ManageMembers)),
    ("removeMember", Some(Permission::ManageMembers)),
    ("changeMemberRole", Some(Permission::ManageMembers)),
    ("createArtist", Some(Permission::WriteCatalogue)),
    ("updateArtist", Some(Permission::WriteCatalogue)),
    ("artistLeaves", Some(Permission::ManageAgreements)),
    ("createPayee", Some(Permission::ManagePayees)),
    ("updatePayee", Some(Permission::ManagePayees)),
    ("setPayeeTaxProfile", Some(Permission::ManagePayees)),
    ("setPayeePaymentDetails", Some(Permission::ManagePayees)),
    ("createAgreement", Some(Permission::ManageAgreements)),
    ("updateAgreement", Some(Permission::ManageAgreements)),
    ("createRelease", Some(Permission::WriteCatalogue)),
    ("updateRelease", Some(Permission::WriteCatalogue)),
    ("addTrack", Some(Permission::WriteCatalogue)),
    ("updateTrack", Some(Permission::WriteCatalogue)),
    ("setReleaseStatus", Some(Permission::WriteCatalogue)),
    ("setSplit", Some(Permission::ManageSplits)),
    ("claimArtistProfile", Some(Permission::ActAsArtist)),
    ("confirmSplitShare", Some(Permission::ActAsArtist)),
    ("uploadStatement", Some(Permission::WriteStatements)),
    ("reparseStatement", Some(Permission::WriteStatements)),
    ("matchStatementLines", Some(Permission::WriteStatements)),
    ("createImportTemplate", Some(Permission::WriteStatements)),
    ("reallocateStatement", Some(Permission::WriteStatements)),
    ("createPayoutRun", Some(Permission::PreparePayouts)),
    ("cancelPayoutRun", Some(Permission::PreparePayouts)),
    ("updatePayoutSettings", Some(Permission::ApprovePayouts)),
    ("approvePayoutRun", Some(Permission::ApprovePayouts)),
    ("markPayoutRunPaid", Some(Permission::ApprovePayouts)),
    (
        "setOrganizationPayoutAccount",
        Some(Permission::ApprovePayouts),
    ),
    ("importPayoutConfirmation", Some(Permission::ApprovePayouts)),
    ("addRecoupable", Some(Permission::ManageRecoupables)),
    ("createWebhook", Some(Permission::ManageWebhooks)),
    ("updateWebhook", Some(Permission::ManageWebhooks)),
    ("deleteWebhook", Some(Permission::ManageWebhooks)),
    ("rotateWebhookSecret", Some(Permission::ManageWebhooks)),
    ("redeliverWebhookDelivery", Some(Permission::ManageWebhooks)),
];

/// The permission a mutation needs: `Some(None)` for an account mutation, `None` for a name the
/// table does not know.
#[must_use]
pub fn mutation_permission(name: &str) -> Option<Option<Permission>> {
    MUTATIONS.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_role_table() {
        use Permission as P;
        use Role::{Admin, Artist, Manager, Owner, Viewer};
        for p in Permission::ALL.iter().filter(|p| **p != P::ActAsArtist) {
            assert!(Owner.grants(*p) && Admin.grants(*p), "{p}");
        }
        for role in [Owner, Admin, Manager, Viewer] {
            assert!(!role.grants(P::ActAsArtist), "{role} acts for the artist");
        }
        assert!(Artist.grants(P::ActAsArtist));
        for p in [P::ManageMembers, P::ApprovePayouts, P::ManageWebhooks] {
            assert!(!Manager.grants(p), "{p}");
        }
        assert!(Manager.grants(P::PreparePayouts) && Manager.grants(P::ManageSplits));
        for role in [Viewer, Artist] {
            for p in [
                P::WriteCatalogue,
                P::ManageAgreements,
                P::ManageSplits,
                P::ManagePayees,
                P::WriteStatements,
                P::ManageRecoupables,
                P::PreparePayouts,
                P::ApprovePayouts,
                P::ManageMembers,
                P::ManageWebhooks,
            ] {
                assert!(!role.grants(p), "{role} {p}");
            }
        }
        assert!(
            !Viewer.grants(P::ReadPersonal),
            "viewers see names, not contact details"
        );
        assert!(
            Artist.grants(P::ReadPersonal),
            "an artist reads her own payees' details"
        );
        assert!(
            !Artist.grants(P::ReadStatements),
            "statements are the label's"
        );
    }

    #[test]
    fn no_key_approves_pays_manages_members_or_reads_personal_details() {
        for scope in Scope::ALL {
            for p in [
                Permission::ApprovePayouts,
                Permission::ManageMembers,
                Permission::ReadPersonal,
                Permission::ManageAgreements,
                Permission::ManagePayees,
            ] {
                assert!(!scope.grants(p), "{scope} grants {p}");
            }
        }
    }

    #[test]
    fn scopes_grant_what_they_name() {
        use Permission as P;
        let analytics = Holder::Key {
            scopes: &[Scope::ReadAnalytics],
        };
        assert!(analytics.has(P::ReadAnalytics));
        for p in Permission::ALL.iter().filter(|p| **p != P::ReadAnalytics) {
            assert!(!analytics.has(*p), "read:analytics grants {p}");
        }
        let statements = Holder::Key {
            scopes: &[Scope::WriteStatements],
        };
        for p in [P::ManageSplits, P::PreparePayouts, P::ApprovePayouts] {
            assert!(!statements.has(p), "write:statements grants {p}");
        }
        let payouts = Holder::Key {
            scopes: &[Scope::WritePayouts],
        };
        assert!(payouts.has(P::PreparePayouts));
        for p in [P::ManageSplits, P::ApprovePayouts] {
            assert!(!payouts.has(p), "write:payouts grants {p}");
        }
    }

    #[test]
    fn every_permission_is_needed_by_some_mutation_or_read() {
        use std::collections::HashSet;
        let needed: HashSet<Permission> = MUTATIONS.iter().filter_map(|(_, p)| *p).collect();
        let reads = [
            Permission::ReadCatalogue,
            Permission::ReadPersonal,
            Permission::ReadStatements,
            Permission::ReadMoney,
            Permission::ReadAnalytics,
        ];
        for p in Permission::ALL {
            assert!(
                needed.contains(p) || reads.contains(p),
                "{p} guards nothing"
            );
        }
        let names: HashSet<&str> = MUTATIONS.iter().map(|(n, _)| *n).collect();
        assert_eq!(names.len(), MUTATIONS.len(), "a mutation is listed twice");
        assert_eq!(
            mutation_permission("setSplit"),
            Some(Some(Permission::ManageSplits))
        );
        assert_eq!(mutation_permission("login"), Some(None));
        assert_eq!(mutation_permission("dropDatabase"), None);
    }

    #[test]
    fn granting_roles() {
        for r in Role::ALL {
            assert!(Role::Owner.can_grant(*r));
            assert_eq!(Role::Admin.can_grant(*r), *r != Role::Owner, "{r}");
            assert!(!Role::Manager.can_grant(*r));
            assert!(!Role::Viewer.can_grant(*r));
            assert!(!Role::Artist.can_grant(*r));
        }
    }

    #[test]
    fn words_round_trip() {
        assert_eq!(Scope::ALL.len(), 9);
        for s in Scope::ALL {
            assert_eq!(s.as_str().parse(), Ok(*s));
        }
        for p in Permission::ALL {
            assert_eq!(p.as_str().parse(), Ok(*p));
            assert!(!p.describe().is_empty());
        }
        assert_eq!("READ:ANALYTICS".parse(), Ok(Scope::ReadAnalytics));
        assert!("read:everything".parse::<Scope>().is_err());
        assert_eq!("viewer".parse(), Ok(Role::Viewer));
    }

    fn role() -> impl Strategy<Value = Role> {
        prop::sample::select(Role::ALL)
    }
    fn permission() -> impl Strategy<Value = Permission> {
        prop::sample::select(Permission::ALL)
    }
    fn owner() -> impl Strategy<Value = Owner> {
        prop_oneof![
            Just(Owner::Everyone),
            Just(Owner::Label),
            (1_i64..5).prop_map(Owner::Artist)
        ]
    }

    proptest! {
        /// An artist member sees exactly her own artist's objects, and only what her role
        /// grants; everyone else sees by permission alone.
        #[test]
        fn admission_is_permission_and_artist_scope(
            role in role(), p in permission(), owner in owner(), own in 1_i64..5,
        ) {
            let artist_id = (role == Role::Artist).then_some(own);
            let holder = Holder::Member { role, artist_id };
            let expected = role.grants(p)
                && match artist_id {
                    None => true,
                    Some(a) => owner == Owner::Everyone || owner == Owner::Artist(a),
                };
            prop_assert_eq!(holder.admits(p, owner), expected);
        }

        /// A key's permissions are the union of its scopes' and never depend on the owner.
        #[test]
        fn keys_are_the_union_of_their_scopes(
            scopes in prop::sample::subsequence(Scope::ALL.to_vec(), 0..=Scope::ALL.len()),
            p in permission(), owner in owner(),
        ) {
            let holder = Holder::Key { scopes: &scopes };
            prop_assert_eq!(holder.admits(p, owner), scopes.iter().any(|s| s.grants(p)));
        }
    }
}
