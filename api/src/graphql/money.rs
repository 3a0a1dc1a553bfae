//! Money as GraphQL shows it: an exact decimal string and an ISO 4217 code.

use async_graphql::SimpleObject;
use domain::money::{Currency, Money as DomainMoney};

#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct Money {
    /// Exact decimal amount, e.g. `"12.30"`; never a float.
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
}

impl Money {
    /// From stored nano-units and currency code.
    #[must_use]
    pub fn from_nanos(amount_nanos: i64, currency: &str) -> Self {
        match Currency::parse(currency) {
            Ok(c) => Self::from(DomainMoney::new(amount_nanos, c)),
            // A stored code is always valid; show the raw value rather than fail the query.
            Err(_) => Self {
                amount: domain::money::decimal_from_nanos(amount_nanos)
                    .normalize()
                    .to_string(),
                currency: currency.to_owned(),
            },
        }
    }
}

impl From<DomainMoney> for Money {
    fn from(money: DomainMoney) -> Self {
        Self {
            amount: money.to_decimal_string(),
            currency: money.currency.as_str().to_owned(),
        }
    }
}
