//! Who may do what: membership roles and API key scopes.
//!
//! The permission rules are plain functions of the role so that every resolver asks the same
//! question the same way and the rules are tested once, here, without a request. Resolvers still
//! scope artist members to their own artist; that needs data and lives in the API.

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
        /// Reads everything, changes nothing (accountants, auditors).
        Viewer => "viewer",
        /// A roster artist: reads only their own releases, earnings and payouts.
        Artist => "artist",
    }
}

impl Role {
    /// Invite members, change roles, manage API keys.
    #[must_use]
    pub const fn can_manage_members(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// Create and edit artists, releases, tracks and agreements.
    #[must_use]
    pub const fn can_write_catalogue(self) -> bool {
        matches!(self, Role::Owner | Role::Admin | Role::Manager)
    }

    /// Upload statements, set splits, add recoupables, create payout runs.
    #[must_use]
    pub const fn can_manage_money(self) -> bool {
        matches!(self, Role::Owner | Role::Admin | Role::Manager)
    }

    /// Approve a payout run and mark it paid: the step that releases money, kept from managers
    /// so that the person who prepares a run is not the one who approves it.
    #[must_use]
    pub const fn can_approve_payouts(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// Read everything in the organisation, every artist's data included.
    #[must_use]
    pub const fn can_read_all(self) -> bool {
        matches!(
            self,
            Role::Owner | Role::Admin | Role::Manager | Role::Viewer
        )
    }

    /// An artist member, limited to their own artist's data.
    #[must_use]
    pub const fn is_artist(self) -> bool {
        matches!(self, Role::Artist)
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

string_enum! {
    /// What an API key may do. Keys have no role; each scope names one area and one access.
    pub enum Scope: "scope" {
        /// Read artists, releases, tracks, agreements.
        ReadCatalogue => "read:catalogue",
        /// Create and edit the catalogue.
        WriteCatalogue => "write:catalogue",
        /// Read statements and their lines.
        ReadStatements => "read:statements",
        /// Upload statements and match lines.
        WriteStatements => "write:statements",
        /// Read analytics roll-ups.
        ReadAnalytics => "read:analytics",
        /// Read payout runs and payouts.
        ReadPayouts => "read:payouts",
        /// Create payout runs (approval stays with people).
        WritePayouts => "write:payouts",
        /// Create and manage webhooks.
        ManageWebhooks => "manage:webhooks",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_by_role() {
        use Role::{Admin, Artist, Manager, Owner, Viewer};
        let table = [
            // role, members, catalogue, money, approve, read all, artist
            (Owner, true, true, true, true, true, false),
            (Admin, true, true, true, true, true, false),
            (Manager, false, true, true, false, true, false),
            (Viewer, false, false, false, false, true, false),
            (Artist, false, false, false, false, false, true),
        ];
        assert_eq!(table.len(), Role::ALL.len());
        for (role, members, catalogue, money, approve, read_all, artist) in table {
            assert_eq!(role.can_manage_members(), members, "{role}");
            assert_eq!(role.can_write_catalogue(), catalogue, "{role}");
            assert_eq!(role.can_manage_money(), money, "{role}");
            assert_eq!(role.can_approve_payouts(), approve, "{role}");
            assert_eq!(role.can_read_all(), read_all, "{role}");
            assert_eq!(role.is_artist(), artist, "{role}");
        }
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
    fn scopes_round_trip() {
        assert_eq!(Scope::ALL.len(), 8);
        for s in Scope::ALL {
            assert_eq!(s.as_str().parse(), Ok(*s));
        }
        assert_eq!(Scope::ManageWebhooks.as_str(), "manage:webhooks");
        assert_eq!("READ:ANALYTICS".parse(), Ok(Scope::ReadAnalytics));
        assert!("read:everything".parse::<Scope>().is_err());
        assert_eq!("viewer".parse(), Ok(Role::Viewer));
    }
}
