//! XFamilie step: writes the request as XFamilie message 0801 and as PDF for the office, stores
//! both, marks the request prepared and hands it to the register step.

use std::sync::Arc;

use async_trait::async_trait;
use render::{ApplicationData, OfficeData, Renderer};
use shared::domain::application::{Applicant, Delivery};
use shared::domain::office::Directory;
use shared::domain::precheck::Answer;
use shared::domain::request::{Request, Status};
use shared::domain::values::format_date_german;
use shared::ports::QueueName;
use shared::records::{self, Versioned};
use shared::services::Services;
use shared::steps::hand_on;
use shared::steps::{Step, StepError};
use shared::xfamilie::{MessageMeta, antrag_0801};

pub struct XFamilieStep {
    services: Services,
    renderer: Arc<Renderer>,
}

impl XFamilieStep {
    pub fn new(services: Services, renderer: Arc<Renderer>) -> Self {
        Self { services, renderer }
    }
}

#[async_trait]
impl Step for XFamilieStep {
    fn queue(&self) -> QueueName {
        QueueName::Submitted
    }

    fn name(&self) -> &'static str {
        "xfamilie"
    }

    async fn run(&self, Versioned { value: mut request, version }: Versioned<Request>) -> Result<(), StepError> {
        let services = &self.services;
        let store = &*services.store;
        let request_id = &request.id.clone();
        match request.status {
            Status::Submitted => {}
            // Prepared before, but the hand-on may have been lost in a crash: hand on again.
            Status::Prepared if request.register_result.is_none() => {
                hand_on(&*services.queue, QueueName::Prepared, request_id).await?;
                return Ok(());
            }
            _ => return Ok(()),
        }
        let directory = services.directory.get().await?;
        let office = directory
            .get(&request.office_id)
            .ok_or_else(|| StepError::Failed(format!("issuing office {} is unknown", request.office_id)))?;
        let now = services.clock.now();
        let meta = MessageMeta {
            message_id: services.ids.new_id(),
            created_at: now,
            ags_list_version: directory.places().stand().to_owned(),
        };
        let xml = antrag_0801(&request, office, &meta);
        let pdf = self
            .renderer
            .application(&application_data(&request, &directory))
            .map_err(|e| StepError::Failed(format!("rendering failed: {e}")))?;
        let folder = format!("{}/requests/{}", request.office_id, request.id);
        let (xml_key, pdf_key) = (format!("{folder}/antrag-0801.xml"), format!("{folder}/antrag.pdf"));
        services.documents.put(&xml_key, xml.into_bytes(), "application/xml").await?;
        services.documents.put(&pdf_key, pdf, "application/pdf").await?;
        request.documents.antrag_xml = Some(xml_key);
        request.documents.antrag_pdf = Some(pdf_key);
        request.advance(Status::Prepared, now).map_err(|e| StepError::Failed(e.to_string()))?;
        records::update_request(store, &request, version, services.audit("system", "prepared", now).await?).await?;
        hand_on(&*services.queue, QueueName::Prepared, request_id).await?;
        Ok(())
    }
}

fn answer(answer: Answer) -> String {
    match answer {
        Answer::Yes => "Ja",
        Answer::No => "Nein",
        Answer::Unknown => "Weiß nicht",
    }
    .into()
}

fn row(label: &str, value: impl Into<String>) -> (String, String) {
    (label.into(), value.into())
}

/// Everything the office needs to read, in the words of its forms.
fn application_data(request: &Request, directory: &Directory) -> ApplicationData {
    let application = &request.application;
    let mother = &application.mother;
    let child = &application.child;
    let declarations = &application.declarations;
    let login = &request.login;
    ApplicationData {
        reference: request.id.clone(),
        submitted_at: request.timeline.first().map(|e| format_date_german(e.at.date())).unwrap_or_default(),
        office: directory.get(&request.office_id).map(OfficeData::from).expect("checked by the caller"),
        register_office: request.register_office_id.as_deref().and_then(|id| directory.get(id)).map(|o| o.name.clone()),
        applicant: match &application.applicant {
            Applicant::Mother => "Mutter".into(),
            Applicant::Representative { representative } => format!(
                "Bevollmächtigte Person: {} {}",
                representative.given_names.as_str(),
                representative.family_name.as_str()
            ),
        },
        mother: vec![
            row("Vornamen", mother.given_names.as_str()),
            row("Familienname", mother.family_name.as_str()),
            row("Geburtsname", mother.birth_name.as_ref().map(|n| n.as_str()).unwrap_or("–")),
            row("Geburtsdatum", format_date_german(mother.birth_date)),
            row("Geburtsort", mother.birth_place.as_str()),
            row(
                "Anschrift",
                format!(
                    "{} {}, {} {}",
                    mother.address.street.as_str(),
                    mother.address.house_number.as_str(),
                    mother.address.postcode.as_str(),
                    mother.address.city.as_str()
                ),
            ),
        ],
        child: vec![
            row("Vornamen", child.given_names.as_str()),
            row("Familienname (bei Beurkundung der Geburt)", child.family_name.as_str()),
            row("Geburtsdatum", format_date_german(child.birth_date)),
            row("Geburtsort", child.birth_place.as_str()),
            row("Im Ausland geboren", if child.born_abroad { "Ja" } else { "Nein" }),
        ],
        declarations: vec![
            row("Mit dem Vater verheiratet (bei Geburt oder später)", answer(declarations.married_to_father)),
            row("Sorgeerklärungen abgegeben", answer(declarations.sorgeerklaerung)),
            row("Gerichtliche Entscheidung zur elterlichen Sorge", answer(declarations.court_decision)),
            row("Gemeinsame Sorge nach ausländischem Recht", answer(declarations.foreign_joint_custody)),
        ],
        delivery: match application.delivery {
            Delivery::Download => "Download".into(),
            Delivery::Post => "Post".into(),
        },
        login: vec![
            row("Name laut Anmeldung", format!("{} {}", login.given_names, login.family_name)),
            row("Geburtsdatum laut Anmeldung", login.birth_date.map(format_date_german).unwrap_or_else(|| "–".into())),
            row(
                "Vertrauensniveau",
                match login.trust_level {
                    shared::domain::request::TrustLevel::Basis => "niedrig (STORK-QAA-Level-1)",
                    shared::domain::request::TrustLevel::Substantiell => "substantiell (STORK-QAA-Level-3)",
                    shared::domain::request::TrustLevel::Hoch => "hoch (STORK-QAA-Level-4)",
                },
            ),
        ],
    }
}
