//! An approved payout run's payment files, over plain HTTP with the same bearer token as
//! `/graphql` (`PayoutRun.rails`): `GET /payout-runs/{id}/wise.csv` (Wise batch payment),
//! `/paypal.csv` (PayPal Payouts) and `/sepa.xml` (SEPA credit transfer, `pain.001.001.03`).
//! Each lists the run's pending payouts for its rail only (`domain::rails::rail_for`); the
//! rest are in `PayoutRun.rails.payoutsWithoutUsableDetails`.
//!
//! Access: a member or key of the run's organisation who may approve payouts (the files hold
//! every payee's account); another organisation's run, or an id of another kind, is 404.
//! Errors are `crate::downloads`' (`{"error": {"code", "message"}}`).

use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::ID;
use chrono::Utc;
use domain::payout::RunStatus;
use domain::rails::sepa::{self, Batch};
use domain::rails::{Bic, Iban, paypal, wise};
use entity::{organization, payout_run};
use sea_orm::EntityTrait;

use crate::downloads::{error_response, principal};
use crate::graphql::accounts::decode_or_not_found;
use crate::graphql::error::ApiError;
use crate::graphql::guard;
use crate::graphql::ids::Kind;
use crate::graphql::rails::run_transfers;
use crate::state::AppState;
use domain::auth::Permission;

/// `GET /payout-runs/{id}/{file}`.
pub async fn export(
    state: web::Data<AppState>,
    http: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (id, file) = path.into_inner();
    match render(&state, &http, &id, &file).await {
        Ok((name, content_type, bytes)) => HttpResponse::Ok()
            .content_type(content_type)
            .insert_header(ContentDisposition {
                disposition: DispositionType::Attachment,
                parameters: vec![DispositionParam::Filename(name)],
            })
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(bytes),
        Err(err) => error_response(&err),
    }
}

async fn render(
    state: &AppState,
    http: &HttpRequest,
    id: &str,
    file: &str,
) -> Result<(String, &'static str, Vec<u8>), ApiError> {
    let principal = principal(state, http).await?;
    let run_id = decode_or_not_found(Kind::PayoutRun, &ID(id.to_owned()))?;
    let run = payout_run::Entity::find_by_id(run_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound("PayoutRun"))?;
    match guard::holder(&principal, run.organization_id) {
        None => return Err(ApiError::NotFound("PayoutRun")),
        Some(holder) if !holder.has(Permission::ApprovePayouts) => {
            return Err(ApiError::Forbidden(guard::permission_message(
                Permission::ApprovePayouts,
            )));
        }
        Some(_) => {}
    }
    let status: RunStatus = run.status.parse().map_err(ApiError::internal)?;
    if status != RunStatus::Approved {
        return Err(ApiError::BadRequest(format!(
            "only an approved run exports payment files; this one is {status}"
        )));
    }
    let (transfers, _) = run_transfers(&state.db, &run).await?;
    let stem = format!("payout-run-{}-{}", run.id, run.period_end);
    match file {
        "wise.csv" => Ok((
            format!("{stem}-wise.csv"),
            "text/csv; charset=utf-8",
            wise::to_csv(&transfers),
        )),
        "paypal.csv" => Ok((
            format!("{stem}-paypal.csv"),
            "text/csv; charset=utf-8",
            paypal::to_csv(&transfers),
        )),
        "sepa.xml" => {
            let org = organization::Entity::find_by_id(run.organization_id)
                .one(&state.db)
                .await?
                .ok_or(ApiError::NotFound("PayoutRun"))?;
            let Some(iban) = org.payout_iban.as_deref() else {
                return Err(ApiError::BadRequest(
                    "set the organisation's payout account first (setOrganizationPayoutAccount)"
                        .to_owned(),
                ));
            };
            let now = Utc::now();
            let batch = Batch {
                // The same id on every download of the run: a bank refuses a second file with
                // an id it has already taken, so a run cannot be sent twice by mistake.
                message_id: format!("IMPRINT-RUN-{}", run.id),
                created_at: now.format("%Y-%m-%dT%H:%M:%S").to_string(),
                execution_date: now.date_naive().to_string(),
                debtor_name: org.name.clone(),
                debtor_iban: Iban::parse(iban).map_err(ApiError::internal)?,
                debtor_bic: org
                    .payout_bic
                    .as_deref()
                    .map(Bic::parse)
                    .transpose()
                    .map_err(ApiError::internal)?,
            };
            let xml = sepa::to_xml(&batch, &transfers)
                .map_err(|e| ApiError::BadRequest(e.to_string()))?;
            Ok((format!("{stem}-sepa.xml"), "application/xml", xml))
        }
        _ => Err(ApiError::NotFound("file")),
    }
}
