//! The published contract: `shared/openapi.json` is what the handlers generate, a valid OpenAPI
//! 3.1 document, and it lists exactly the routes the functions serve and `template.yaml` sends
//! them; its request examples are accepted.

use std::path::PathBuf;
use std::process::Command;

use axum::Router;
use axum::http::StatusCode;
use local_runtime::{api_document, api_functions};
use serde_json::Value;
use serde_yaml::Value as Yaml;
use shared::services::Services;
use shared::testing::TestApp;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn document() -> Value {
    serde_json::from_str(&api_document()).expect("JSON")
}

/// Every operation of the document: method (upper case), path, operation id.
fn operations(document: &Value) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let id = operation["operationId"].as_str().expect("an operation id").to_owned();
            found.push((method.to_uppercase(), path.clone(), id));
        }
    }
    found
}

#[test]
fn the_published_document_is_the_generated_one() {
    let published = std::fs::read_to_string(root().join("shared/openapi.json")).expect("shared/openapi.json");
    assert!(
        published == api_document(),
        "shared/openapi.json is not what the handlers generate; run `cargo run -- openapi > shared/openapi.json`"
    );
    assert_eq!(shared::openapi::PUBLISHED, published, "the functions serve the committed file");
}

#[test]
fn the_document_is_valid_openapi_3_1() {
    let venv = std::env::var("SORGEREGISTER_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/sorgeregister-venv"));
    let output = Command::new(venv.join("bin/openapi-spec-validator"))
        .arg(root().join("shared/openapi.json"))
        .output()
        .expect("openapi-spec-validator runs (scripts/test installs tests/api/requirements.txt)");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{said}{}", String::from_utf8_lossy(&output.stderr));
    assert!(said.contains("OK"), "{said}");
    assert_eq!(document()["openapi"], "3.1.0");
}

#[test]
fn the_document_describes_errors_and_security_for_integrators() {
    let document = document();
    let schemes = document["components"]["securitySchemes"].as_object().expect("security schemes");
    for scheme in ["citizen", "staff", "machine"] {
        assert_eq!(schemes[scheme]["scheme"], "bearer", "{scheme}");
    }
    for (method, path, id) in operations(&document) {
        let operation = &document["paths"][&path][method.to_lowercase()];
        assert_eq!(
            operation["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody",
            "{id}: errors in the contract's shape"
        );
        let public = path == "/api/v1/precheck"
            || path == "/api/v1/offices"
            || path == "/api/v1/openapi.json"
            || path.starts_with("/api/v1/verify/");
        assert_eq!(operation["security"].is_array(), !public, "{id}: a token is needed unless public");
        if let Some(body) = operation.get("requestBody") {
            let json = &body["content"]["application/json"];
            if !json.is_null() {
                let schema = json["schema"]["$ref"].as_str().map(|r| r.trim_start_matches("#/components/schemas/"));
                let example = match schema {
                    Some(name) => &document["components"]["schemas"][name]["example"],
                    None => &json["example"],
                };
                assert!(example.is_object(), "{id}: its request body has an example");
            }
        }
    }
}

/// The routes of the HTTP API in `template.yaml`: (function, method, path).
fn template_routes() -> Vec<(String, String, String)> {
    let template: Yaml =
        serde_yaml::from_str(&std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml"))
            .expect("YAML");
    let mut routes = Vec::new();
    for (name, resource) in template["Resources"].as_mapping().expect("Resources") {
        let Some(events) = resource["Properties"]["Events"].as_mapping() else { continue };
        for event in events.values().filter(|event| event["Type"].as_str() == Some("HttpApi")) {
            let properties = &event["Properties"];
            let (Some(method), Some(path)) = (properties["Method"].as_str(), properties["Path"].as_str()) else {
                continue;
            };
            routes.push((name.as_str().expect("a name").to_owned(), method.to_uppercase(), path.to_owned()));
        }
    }
    routes
}

/// How API Gateway matches `concrete` against a route's path: `None` if not, else how specific
/// the match is (literal segments count most, a greedy `{proxy+}` least).
fn specificity(route: &str, concrete: &str) -> Option<(usize, usize)> {
    let route: Vec<&str> = route.trim_start_matches('/').split('/').collect();
    let concrete: Vec<&str> = concrete.trim_start_matches('/').split('/').collect();
    let mut literal = 0;
    for (index, segment) in route.iter().enumerate() {
        if segment.starts_with('{') && segment.ends_with("+}") {
            return (concrete.len() > index).then_some((literal, 0));
        }
        let given = concrete.get(index)?;
        if segment.starts_with('{') {
            continue;
        }
        if segment != given {
            return None;
        }
        literal += 1;
    }
    (route.len() == concrete.len()).then_some((literal, 1))
}

/// The function API Gateway sends `method path` to, as the template routes it.
fn routed_to(routes: &[(String, String, String)], method: &str, concrete: &str) -> Option<String> {
    routes
        .iter()
        .filter(|(_, m, _)| m == method || m == "ANY")
        .filter_map(|(function, m, path)| specificity(path, concrete).map(|score| (score, m != "ANY", function)))
        .max_by_key(|(score, exact_method, _)| (score.1, score.0, *exact_method))
        .map(|(_, _, function)| function.clone())
}

fn concrete(path: &str) -> String {
    path.split('/').map(|segment| if segment.starts_with('{') { "x" } else { segment }).collect::<Vec<_>>().join("/")
}

#[test]
fn the_template_sends_every_operation_to_the_function_that_documents_it() {
    let routes = template_routes();
    let mut missing = Vec::new();
    for (function, api) in api_functions() {
        let part: Value = serde_json::to_value(api().into_openapi()).expect("JSON");
        for (method, path, id) in operations(&part) {
            let target = routed_to(&routes, &method, &concrete(&path));
            if target.as_deref() != Some(function) {
                missing.push(format!("{method} {path} ({id}) goes to {target:?}, not {function}"));
            }
        }
    }
    assert!(missing.is_empty(), "template.yaml:\n{}", missing.join("\n"));
}

#[test]
fn every_api_route_of_the_template_is_documented() {
    let document = document();
    let documented = operations(&document);
    let undocumented: Vec<String> = template_routes()
        .into_iter()
        .filter(|(_, _, path)| path.starts_with("/api/"))
        .filter(|(_, method, path)| {
            !documented
                .iter()
                .any(|(m, p, _)| (method == "ANY" || m == method) && specificity(path, &concrete(p)).is_some())
        })
        .map(|(function, method, path)| format!("{function}: {method} {path}"))
        .collect();
    assert!(undocumented.is_empty(), "routes nobody documents:\n{}", undocumented.join("\n"));
}

/// The functions' routers, merged as the local runtime serves them, with a fallback that
/// tells "no such route" apart from a handler's own 404.
fn served() -> Router<Services> {
    let mut router = Router::new();
    for (_, api) in api_functions() {
        router = router.merge(Router::from(api()));
    }
    // What the tenants' routes keep beside the router (the offices' client secrets).
    let settings = tenants::TenantSettings::in_folder(
        tempfile::tempdir().expect("a folder").keep(),
        shared::domain::office::ProviderAddresses::HttpsOnly,
    );
    router
        .layer(axum::Extension(settings))
        .fallback(|| async { StatusCode::IM_A_TEAPOT })
        .method_not_allowed_fallback(|| async { StatusCode::IM_A_TEAPOT })
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = TestApp::new(served()).await;
    for (method, path, id) in operations(&document()) {
        let (status, _) = app.call(&method, &concrete(&path), None, None).await;
        assert_ne!(status, StatusCode::IM_A_TEAPOT, "{id}: {method} {path} is documented but not routed");
    }
    let (status, _) = app.call("GET", "/api/v1/undocumented", None, None).await;
    assert_eq!(status, StatusCode::IM_A_TEAPOT, "the probe tells unrouted paths apart");
}

fn example(document: &Value, schema: &str) -> Value {
    document["components"]["schemas"][schema]["example"].clone()
}

#[tokio::test]
async fn the_request_examples_are_accepted() {
    let document = document();
    let app = TestApp::new(served()).await;
    let (mother, staff, admin) = (app.mother(), app.staff("jugendamt-bremen"), app.admin());

    let (status, body) = app.call("POST", "/api/v1/precheck", None, Some(example(&document, "PrecheckBody"))).await;
    assert_eq!((status, body["eligible"].clone()), (StatusCode::OK, Value::Bool(true)), "{body}");

    let draft =
        document["paths"]["/api/v1/drafts/{id}"]["put"]["requestBody"]["content"]["application/json"]["example"]
            .clone();
    let (status, body) = app.call("PUT", "/api/v1/drafts/antrag-1", Some(&mother), Some(draft)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let submission = example(&document, "SubmissionBody");
    let (status, body) = app.call("POST", "/api/v1/requests", Some(&mother), Some(submission)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let request = body["id"].as_str().expect("an id").to_owned();

    let message = example(&document, "CitizenMessageBody");
    let uri = format!("/api/v1/requests/{request}/messages");
    let (status, body) = app.call("POST", &uri, Some(&mother), Some(message)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let message = example(&document, "OfficeMessageBody");
    let uri = format!("/api/v1/staff/requests/{request}/messages");
    let (status, body) = app.call("POST", &uri, Some(&staff), Some(message)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Open requests are decided once the register check has run; the example's words parse.
    shared::domain::request::parse_outcome(&example(&document, "DecisionBody")).expect("the decision example");

    let entry = example(&document, "EntryBody");
    let uri = "/api/v1/registers/jugendamt-bremen/entries";
    let keeper = app.office_admin("jugendamt-bremen");
    let (status, body) = app.call("POST", uri, Some(&keeper), Some(entry.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let uri = format!("{uri}/{}", body["id"].as_str().expect("an id"));
    let (status, body) = app.call("PUT", &uri, Some(&keeper), Some(entry)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let tenant = example(&document, "Office");
    let uri = format!("/api/v1/tenants/{}", tenant["id"].as_str().expect("an id"));
    let (status, body) = app.call("PUT", &uri, Some(&admin), Some(tenant)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
