//! Where and whether she is told of news about a submitted request
//! (`PUT /api/v1/requests/{id}/contact`, and the switch on her status page).

use axum::Json;
use axum::extract::Path;
use shared::auth::CitizenClaims;
use shared::domain::application::{Contact, ContactBody, ContactChange, parse_contact_change};
use shared::http::{ApiError, CitizenCall, JsonBody};
use shared::openapi::tag;
use shared::ports::StoreError;
use shared::records::{self, Versioned};
use shared::services::Services;

/// Changes her address or switches the mails about her request off or on; the mails stay in
/// the language she applied in.
#[utoipa::path(put, operation_id = "changeContact", path = "/api/v1/requests/{id}/contact", tag = tag::CITIZEN, security(("citizen" = [])),
    params(("id" = String, Path)), request_body = ContactBody,
    responses((status = 200, description = "Changed.", body = Contact)))]
pub async fn change(
    call: CitizenCall,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Contact>, ApiError> {
    let change = parse_contact_change(&body).map_err(|errors| call.invalid(&errors))?;
    let contact = call.store(change_contact(&call.services, &call.who, &id, change).await)?;
    contact.map(Json).ok_or_else(|| call.not_found())
}

/// Stores her changed contact on her request `id`; `None` if it is not hers (or not there).
/// The chain may change the request at the same moment: then it is read again and retried.
pub async fn change_contact(
    services: &Services,
    citizen: &CitizenClaims,
    id: &str,
    change: ContactChange,
) -> Result<Option<Contact>, StoreError> {
    let store = &*services.store;
    let mut attempts = 0;
    loop {
        let Some(Versioned { value: mut request, version }) =
            records::request(store, id).await?.filter(|r| r.value.is_owned_by(&citizen.sub))
        else {
            return Ok(None);
        };
        let before = request.application.contact.clone();
        let contact = before.changed_to(change.clone());
        if contact == before {
            return Ok(Some(contact));
        }
        request.application.contact = contact.clone();
        let action = if contact.mail_to().is_some() { "contact:mail_on" } else { "contact:mail_off" };
        let audit = services.audit(&citizen.sub, action, services.clock.now()).await?;
        // Only another address clears a bounce (SES reports addresses in any case).
        let lowercase = |contact: &Contact| contact.email.as_ref().map(|email| email.as_str().to_ascii_lowercase());
        let new_address = lowercase(&before) != lowercase(&contact);
        match records::change_contact(store, &request, version, audit, new_address).await {
            Err(StoreError::ConditionFailed) if attempts < 3 => attempts += 1,
            result => return result.map(|()| Some(contact)),
        }
    }
}
