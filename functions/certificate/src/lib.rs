//! Certificate step: renders the certificate that an approval (automatic or a case worker's)
//! allows (for delivery by post also the letter that carries it), stores it, and marks the
//! request issued. The request and the code lookup are written
//! in one conditional transaction, so a request never gets two certificates.

use std::sync::Arc;

use async_trait::async_trait;
use render::{CertificateData, LetterData, OfficeData, RecipientAddress, Renderer};
use shared::domain::application::Delivery;
use shared::domain::request::{Certificate, Request, Status};
use shared::domain::values::{format_date_german, today_in_germany};
use shared::ports::QueueName;
use shared::records::{self, Versioned};
use shared::services::Services;
use shared::steps::{Step, StepError, tell_her};

pub struct CertificateStep {
    services: Services,
    renderer: Arc<Renderer>,
    /// Where `/pruefen/{code}` is served, for the QR code.
    public_base_url: String,
}

impl CertificateStep {
    pub fn new(services: Services, renderer: Arc<Renderer>, public_base_url: impl Into<String>) -> Self {
        Self { services, renderer, public_base_url: public_base_url.into() }
    }
}

#[async_trait]
impl Step for CertificateStep {
    fn queue(&self) -> QueueName {
        QueueName::Issue
    }

    fn name(&self) -> &'static str {
        "certificate"
    }

    async fn run(&self, Versioned { value: mut request, mut version }: Versioned<Request>) -> Result<(), StepError> {
        let services = &self.services;
        let store = &*services.store;
        let request_id = &request.id.clone();
        let Some(approval) = request.approval.clone() else { return Ok(()) };
        if request.certificate.is_some() {
            // Issued already: a duplicate, or a crash before she was told (telling twice is harmless).
            tell_her(&*services.queue, request_id).await;
            return Ok(());
        }
        if !matches!(request.status, Status::Prepared | Status::InReview) {
            return Ok(());
        }
        let directory = services.directory.get().await?;
        let office = directory
            .get(&request.office_id)
            .ok_or_else(|| StepError::Failed(format!("issuing office {} is unknown", request.office_id)))?;
        let now = services.clock.now();
        let code = match request.next_certificate_code.clone() {
            Some(code) => code,
            None => {
                // Chosen and stored first, so that every rendering of this approval is the same.
                let code = services.ids.secret_code();
                request.next_certificate_code = Some(code.clone());
                let audit = services.audit("system", "certificate:code", now).await?;
                records::update_request(store, &request, version, audit).await?;
                version += 1;
                code
            }
        };
        let application = &request.application;
        let data = CertificateData {
            child_given_names: application.child.given_names.as_str().into(),
            child_family_name: application.child.family_name.as_str().into(),
            child_birth_date: format_date_german(application.child.birth_date),
            child_birth_place: application.child.birth_place.as_str().into(),
            mother_given_names: application.mother.given_names.as_str().into(),
            mother_family_name: application.mother.family_name.as_str().into(),
            office: OfficeData::from(office),
            issued_on: format_date_german(today_in_germany(now)),
            reference: request.id.clone(),
            verification_code: code.clone(),
            verification_url: format!("{}/pruefen/{code}", self.public_base_url.trim_end_matches('/')),
            partial_parts: approval.partial_parts.clone(),
        };
        let rendering_failed = |e: render::RenderError| StepError::Failed(format!("rendering failed: {e}"));
        let pdf = self.renderer.certificate(&data).map_err(rendering_failed)?;
        // The code is part of the key: a repeated rendering writes the same file again.
        let key = format!("{}/requests/{}/bescheinigung-{code}.pdf", request.office_id, request.id);
        if application.delivery == Delivery::Post {
            // Rendered with the certificate, so the letter carries exactly the issued one.
            let address = &application.mother.address;
            let submitted_at = request.timeline.first().map_or(now, |event| event.at);
            let letter = LetterData {
                certificate: data,
                recipient: RecipientAddress {
                    street: address.street.as_str().into(),
                    house_number: address.house_number.as_str().into(),
                    postcode: address.postcode.as_str().into(),
                    city: address.city.as_str().into(),
                },
                submitted_on: format_date_german(today_in_germany(submitted_at)),
            };
            let letter_pdf = self.renderer.letter(&letter).map_err(rendering_failed)?;
            let letter_key = format!("{}/requests/{}/brief-{code}.pdf", request.office_id, request.id);
            services.documents.put(&letter_key, letter_pdf, "application/pdf").await?;
            request.documents.letter_pdf = Some(letter_key);
        }
        services.documents.put(&key, pdf, "application/pdf").await?;
        request.certificate = Some(Certificate { code, issued_at: now, document: key, revoked: None });
        request.next_certificate_code = None;
        request.advance(Status::Issued, now).map_err(|e| StepError::Failed(e.to_string()))?;
        records::issue_certificate(store, &request, version, services.audit("system", "issued", now).await?).await?;
        tracing::info!(%request_id, "certificate issued");
        tell_her(&*services.queue, request_id).await;
        Ok(())
    }
}
