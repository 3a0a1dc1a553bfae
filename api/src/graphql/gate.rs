//! The mutation gate: every root mutation is looked up in `domain::auth::MUTATIONS` before its
//! resolver runs. A mutation that declares no permission there is refused (so none can be added
//! without saying what it needs); one that needs a permission is UNAUTHENTICATED for an
//! anonymous caller, whatever its input names (an id that exists and one that does not answer
//! alike), and FORBIDDEN for an API key none of whose scopes grants it. Members' roles differ
//! per organisation, so for them the resolver decides, through [`super::guard`].

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo,
};
use async_graphql::{ServerResult, Value};
use domain::auth::Holder;

use super::error::ApiError;
use super::guard::permission_message;
use crate::auth::Principal;

pub struct MutationGate;

impl ExtensionFactory for MutationGate {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(MutationGate)
    }
}

/// Why the gate refuses `mutation` to `principal`, if it does.
fn refusal(principal: &Principal, mutation: &str) -> Option<ApiError> {
    let Some(needed) = domain::auth::mutation_permission(mutation) else {
        tracing::error!(mutation, "a mutation missing from domain::auth::MUTATIONS");
        return Some(ApiError::Forbidden(
            "this mutation declares no permission and is refused",
        ));
    };
    let permission = needed?;
    match principal {
        Principal::Anonymous => Some(ApiError::Unauthenticated),
        Principal::ApiKey { scopes, .. } if !(Holder::Key { scopes }).has(permission) => {
            Some(ApiError::Forbidden(permission_message(permission)))
        }
        Principal::ApiKey { .. } | Principal::User { .. } => None,
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for MutationGate {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.path_node.parent.is_none() && info.parent_type == "Mutation" {
            let principal = ctx.data_opt::<Principal>().unwrap_or(&Principal::Anonymous);
            if let Some(err) = refusal(principal, info.name) {
                let err: async_graphql::Error = err.into();
                return Err(err.into_server_error(info.field.name.pos).with_path(vec![
                    async_graphql::PathSegment::Field(info.alias.unwrap_or(info.name).to_owned()),
                ]));
            }
        }
        next.run(ctx, info).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_follows_the_table() {
        let anonymous = Principal::Anonymous;
        assert!(matches!(
            refusal(&anonymous, "setSplit"),
            Some(ApiError::Unauthenticated)
        ));
        assert!(refusal(&anonymous, "login").is_none());
        assert!(matches!(
            refusal(&anonymous, "dropEverything"),
            Some(ApiError::Forbidden(_))
        ));
    }
}
