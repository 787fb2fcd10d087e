//! Register check (a step of the chain): asks the register of the child's birth-place office whether an entry could
//! be this child, stores the answer as XFamilie 0803, and either approves the automatic
//! certificate (queue `issue`) or puts the request into the office's inbox (`in_review`).

use async_trait::async_trait;
use shared::domain::register::{Decision, ReviewReason, decide, register_query_birthdays};
use shared::domain::request::{Approval, RegisterResult, Request, Status};
use shared::ports::QueueName;
use shared::records::{self, Versioned};
use shared::services::Services;
use shared::steps::hand_on;
use shared::steps::{Step, StepError};
use shared::xfamilie::{MessageMeta, auskunft_0803};

/// Who approved an automatic certificate.
pub const AUTOMATIC: &str = "automatic";

pub struct RegisterCheckStep {
    services: Services,
}

impl RegisterCheckStep {
    pub fn new(services: Services) -> Self {
        Self { services }
    }
}

#[async_trait]
impl Step for RegisterCheckStep {
    fn queue(&self) -> QueueName {
        QueueName::Prepared
    }

    fn name(&self) -> &'static str {
        "register-check"
    }

    async fn run(&self, Versioned { value: mut request, version }: Versioned<Request>) -> Result<(), StepError> {
        let services = &self.services;
        let store = &*services.store;
        let request_id = &request.id.clone();
        match (request.status, &request.register_result) {
            (Status::Prepared, None) => {}
            // Decided before, but the hand-on may have been lost in a crash: hand on again.
            (Status::Prepared, Some(_)) if request.approval.is_some() => {
                hand_on(&*services.queue, QueueName::Issue, request_id).await?;
                return Ok(());
            }
            _ => return Ok(()),
        }

        let directory = services.directory.get().await?;
        let register_office =
            request.register_office_id.as_deref().and_then(|id| directory.get(id)).filter(|o| o.connected);
        let entries = match register_office {
            Some(office) => {
                records::register_entries_born_on(
                    store,
                    &office.id,
                    &register_query_birthdays(request.application.child.birth_date),
                )
                .await?
            }
            None => vec![],
        };
        let decision = decide(&request, &directory, &entries);
        let now = services.clock.now();

        // The register's answer (0803) exists only where the register office is on the platform.
        if let Some(register_office) = register_office {
            let residence_office = directory
                .get(&request.office_id)
                .ok_or_else(|| StepError::Failed(format!("issuing office {} is unknown", request.office_id)))?;
            let mut kinds: Vec<_> = match &decision {
                Decision::Review(reasons) => reasons
                    .iter()
                    .flat_map(|reason| match reason {
                        ReviewReason::RegisterEntries { candidates } => candidates.iter().map(|c| c.kind).collect(),
                        _ => vec![],
                    })
                    .collect(),
                Decision::IssueAutomatically => vec![],
            };
            kinds.sort_by_key(|kind| kind.code());
            kinds.dedup();
            let meta = MessageMeta {
                message_id: services.ids.new_id(),
                created_at: now,
                ags_list_version: directory.places().stand().to_owned(),
            };
            let xml = auskunft_0803(&request, &kinds, residence_office, Some(register_office), &meta);
            let key = format!("{}/requests/{}/auskunft-0803.xml", request.office_id, request.id);
            services.documents.put(&key, xml.into_bytes(), "application/xml").await?;
            request.documents.auskunft_xml = Some(key);
        }

        match decision {
            Decision::IssueAutomatically => {
                request.register_result = Some(RegisterResult { checked_at: now, review_reasons: vec![] });
                request.approval = Some(Approval { by: AUTOMATIC.into(), partial_parts: vec![] });
                records::update_request(
                    store,
                    &request,
                    version,
                    services.audit("system", "register:no-entry:approved", now).await?,
                )
                .await?;
                hand_on(&*services.queue, QueueName::Issue, request_id).await?;
                tracing::info!(%request_id, "register clean: certificate approved automatically");
            }
            Decision::Review(review_reasons) => {
                request.register_result = Some(RegisterResult { checked_at: now, review_reasons });
                request.advance(Status::InReview, now).map_err(|e| StepError::Failed(e.to_string()))?;
                records::update_request(
                    store,
                    &request,
                    version,
                    services.audit("system", "register:review", now).await?,
                )
                .await?;
                tracing::info!(%request_id, "request goes to the office for review");
            }
        }
        Ok(())
    }
}
