//! The published contract of `/api/v1`: an OpenAPI 3.1 document generated from the functions'
//! handlers (`#[utoipa::path]`) and the types they answer with. Each API function documents its
//! own operations (its `api()` router); the local runtime assembles them with [`document`], and
//! the result is committed as `shared/openapi.json` ([`PUBLISHED`]), which
//! `GET /api/v1/openapi.json` serves on Lambda too (one function cannot build the others'
//! part). A test keeps the committed file equal to the generated one.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, Response, ResponseBuilder, Tag,
};
use utoipa::{PartialSchema, ToSchema};

use crate::http::ErrorBody;

/// The document as committed, byte for byte what `GET /api/v1/openapi.json` answers.
pub const PUBLISHED: &str = include_str!("../openapi.json");

/// Security scheme of the mother (or her representative): the session token of her BundID login.
pub const CITIZEN: &str = "citizen";
/// Security scheme of a case worker (a token of the office's own identity provider) or an
/// operator of the platform.
pub const STAFF: &str = "staff";
/// Security scheme of an office's case-management system (Fachverfahren): a token with role
/// `machine`, confined to its office.
pub const MACHINE: &str = "machine";

/// The bytes of a document or an uploaded file, as responses carry them.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBytes(pub Vec<u8>);

/// Tags group the operations by who calls them.
pub mod tag {
    pub const PUBLIC: &str = "public";
    pub const CITIZEN: &str = "citizen";
    pub const OFFICE: &str = "office";
    pub const REGISTER: &str = "register";
    pub const OPERATOR: &str = "operator";
}

/// The whole document from the functions' parts: information for integrators, the security
/// schemes, the error schema, and on every operation the errors it can answer with (all in the
/// shape of [`ErrorBody`]).
pub fn document(parts: impl IntoIterator<Item = OpenApi>) -> OpenApi {
    let mut document = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Sorgeregister online")
                .version("1")
                .description(Some(DESCRIPTION))
                .license(Some(utoipa::openapi::License::new("EUPL-1.2")))
                .build(),
        )
        .build();
    for part in parts {
        refuse_homonyms(&document, &part);
        document.merge(part);
    }
    let bearer = |description: &str| {
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        scheme.description = Some(description.into());
        SecurityScheme::Http(scheme)
    };
    let components = document.components.take().unwrap_or_default();
    let mut components = ComponentsBuilder::from(components)
        .schema(ErrorBody::name(), ErrorBody::schema())
        .security_scheme(CITIZEN, bearer("The session token of the mother's BundID login (`/anmelden`)."))
        .security_scheme(
            STAFF,
            bearer("A case worker's token from the office's own identity provider (OpenID Connect), or an operator's."),
        )
        .security_scheme(MACHINE, bearer("A token of the office's case-management system (role `machine`)."))
        .build();
    let mut error_schemas = Vec::new();
    ErrorBody::schemas(&mut error_schemas);
    components.schemas.extend(error_schemas);
    document.components = Some(components);
    document.tags = Some(
        [
            (tag::PUBLIC, "Without login: the pre-check, the office directory, verification of certificates."),
            (tag::CITIZEN, "The mother's drafts, requests, certificate and messages."),
            (tag::OFFICE, "The office's inbox: requests, documents, decisions, messages, audit trail."),
            (tag::REGISTER, "The custody register of a birth-place office kept on the platform."),
            (tag::OPERATOR, "Operators of the platform: tenants."),
        ]
        .into_iter()
        .map(|(name, description)| {
            let mut tag = Tag::new(name);
            tag.description = Some(description.into());
            tag
        })
        .collect(),
    );
    for (path, item) in document.paths.paths.iter_mut() {
        let templated = path.contains('{');
        for operation in operations(item) {
            add_errors(operation, templated);
        }
    }
    document
}

/// Two types of one name would be one schema, the first one's: a document that lies.
/// `#[schema(as = …)]` gives one of them a name of its own.
fn refuse_homonyms(document: &OpenApi, part: &OpenApi) {
    let (Some(known), Some(new)) = (&document.components, &part.components) else { return };
    for (name, schema) in &new.schemas {
        if known.schemas.get(name).is_some_and(|other| other != schema) {
            panic!("two different types are named {name} in the OpenAPI document");
        }
    }
}

/// The document as JSON text, as it is published.
pub fn to_json(document: &OpenApi) -> String {
    let mut value = serde_json::to_value(document).expect("the document serialises");
    camel_case_links(&mut value);
    let mut json = serde_json::to_string_pretty(&value).expect("JSON serialises");
    json.push('\n');
    json
}

/// utoipa 5.5 writes the fields of a Link Object in snake case (`operation_id`); OpenAPI spells
/// them `operationId`, `operationRef`, `requestBody`.
fn camel_case_links(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(fields) => {
            if let Some(Value::Object(links)) = fields.get_mut("links") {
                for link in links.values_mut().filter_map(Value::as_object_mut) {
                    for (snake, camel) in [
                        ("operation_id", "operationId"),
                        ("operation_ref", "operationRef"),
                        ("request_body", "requestBody"),
                    ] {
                        if let Some(field) = link.remove(snake) {
                            link.insert(camel.to_owned(), field);
                        }
                    }
                }
            }
            fields.values_mut().for_each(camel_case_links);
        }
        Value::Array(items) => items.iter_mut().for_each(camel_case_links),
        _ => {}
    }
}

const DESCRIPTION: &str = "The certificate from the custody register (Negativbescheinigung, § 58 SGB VIII) \
online: the mother's requests, the offices' inbox and registers, public verification. \
Every error answers `{\"error\": {\"code\", \"message\"}}` with the message in the caller's \
language (`?lang=de|ls|en`, the `lang` cookie or `Accept-Language`).";

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
}

/// The errors every operation of its kind can answer with, unless it names them itself.
fn add_errors(operation: &mut Operation, templated: bool) {
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_body = operation.request_body.is_some();
    let mut add = |status: &str, description: &str| {
        operation.responses.responses.entry(status.to_owned()).or_insert_with(|| error_response(description));
    };
    if secured {
        add("401", "No token, or one that is not valid (`unauthorized`).");
        add("403", "The token's holder may not do this (`forbidden`).");
    }
    if templated {
        add("404", "Not there, or not the caller's (`not_found`): the two are not told apart.");
    }
    if has_body {
        add("413", "The body is too large (`payload_too_large`).");
        add("415", "Not the content type the operation takes (`unsupported_media_type`).");
        add("422", "Invalid input (`invalid_input`), with what is wrong in each field in `fields`.");
    }
    add("default", "Any other error, in the same shape: 4xx the caller's, 5xx ours (`internal`).");
}

/// A response carrying [`ErrorBody`].
pub fn error_response(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name(ErrorBody::name()))).build();
    RefOr::T(ResponseBuilder::new().description(description).content("application/json", content).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_answers_errors_in_the_contract_shape() {
        use utoipa::openapi::path::{HttpMethod, PathItem};
        let mut operation = Operation::new();
        operation.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(CITIZEN, [""; 0])]);
        let mut part = OpenApi::default();
        part.paths.paths.insert("/api/v1/requests/{id}".into(), PathItem::new(HttpMethod::Get, operation));
        let document = document([part]);
        let responses = &document.paths.paths["/api/v1/requests/{id}"].get.as_ref().unwrap().responses.responses;
        for status in ["401", "403", "404", "default"] {
            assert!(responses.contains_key(status), "{status} missing");
        }
        assert!(!responses.contains_key("422"), "no body, no invalid input");
        assert!(document.components.unwrap().security_schemes.contains_key(MACHINE));
    }
}
