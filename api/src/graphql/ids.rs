//! Global object ids: `base64("Kind:123")`, opaque to clients, so `node(id:)` can resolve any
//! object and an id for one kind can never be mistaken for another.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Every kind of object that has a global id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Organization,
    User,
    Member,
    Invitation,
    ApiKey,
    Artist,
    ArtistProfile,
    Payee,
    Agreement,
    Release,
    Track,
    Split,
    SplitShare,
    Statement,
    Recoupable,
    PayoutRun,
    Payout,
    Webhook,
    WebhookDelivery,
    Remittance,
}

impl Kind {
    const ALL: [Kind; 20] = [
        Kind::Organization,
        Kind::User,
        Kind::Member,
        Kind::Invitation,
        Kind::ApiKey,
        Kind::Artist,
        Kind::ArtistProfile,
        Kind::Payee,
        Kind::Agreement,
        Kind::Release,
        Kind::Track,
        Kind::Split,
        Kind::SplitShare,
        Kind::Statement,
        Kind::Recoupable,
        Kind::PayoutRun,
        Kind::Payout,
        Kind::Webhook,
        Kind::WebhookDelivery,
        Kind::Remittance,
    ];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Kind::Organization => "Organization",
            Kind::User => "User",
            Kind::Member => "Member",
            Kind::Invitation => "Invitation",
            Kind::ApiKey => "ApiKey",
            Kind::Artist => "Artist",
            Kind::ArtistProfile => "ArtistProfile",
            Kind::Payee => "Payee",
            Kind::Agreement => "Agreement",
            Kind::Release => "Release",
            Kind::Track => "Track",
            Kind::Split => "Split",
            Kind::SplitShare => "SplitShare",
            Kind::Statement => "Statement",
            Kind::Recoupable => "Recoupable",
            Kind::PayoutRun => "PayoutRun",
            Kind::Payout => "Payout",
            Kind::Webhook => "Webhook",
            Kind::WebhookDelivery => "WebhookDelivery",
            Kind::Remittance => "Remittance",
        }
    }
}

#[must_use]
pub fn encode(kind: Kind, id: i64) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{id}", kind.name())))
}

/// Decodes any global id into its kind and row id.
#[must_use]
pub fn decode_any(id: &ID) -> Option<(Kind, i64)> {
    let bytes = URL_SAFE_NO_PAD.decode(id.as_str()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (name, raw) = text.split_once(':')?;
    let kind = Kind::ALL.into_iter().find(|k| k.name() == name)?;
    let row = raw.parse::<i64>().ok().filter(|n| *n > 0)?;
    Some((kind, row))
}

/// Decodes an id that must be of `kind`.
///
/// # Errors
/// A message fit for a user error when the id is malformed or of another kind.
pub fn decode(kind: Kind, id: &ID) -> Result<i64, String> {
    match decode_any(id) {
        Some((k, row)) if k == kind => Ok(row),
        Some((other, _)) => Err(format!(
            "expected an id of a {}, got one of a {}",
            kind.name(),
            other.name()
        )),
        None => Err(format!("`{}` is not a valid id", id.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_keep_their_kind() {
        let id = encode(Kind::Release, 42);
        assert_eq!(decode(Kind::Release, &id), Ok(42));
        assert!(decode(Kind::Track, &id).is_err());
        assert_eq!(decode_any(&ID("garbage!".into())), None);
        assert_eq!(
            decode_any(&encode(Kind::Artist, 7)),
            Some((Kind::Artist, 7))
        );
    }
}
