//! The service on the AWS adapters against moto server: the emulator builds exactly what
//! `template.yaml` declares, and the whole chain runs with `BACKEND=aws`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_dynamodb::types::{KeyType, ProjectionType, TimeToLiveStatus};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};
use serde_yaml::Value as Yaml;
use shared::aws::Resources;
use system_tests::{Runtime, emulator, pdftotext};

fn template() -> Yaml {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).expect("template.yaml")).expect("YAML")
}

/// The emulator's stack, as CloudFormation would name its resources.
const STACK: &str = "sorgeregister-local";

/// A `!Sub` of a resource name, for the emulator's stack.
fn name(value: &Yaml, env: &HashMap<String, String>) -> String {
    let Yaml::Tagged(sub) = value else { panic!("names are !Sub: {value:?}") };
    assert_eq!(sub.tag, "!Sub");
    sub.value
        .as_str()
        .expect("a string")
        .replace("${AWS::StackName}", STACK)
        .replace("${AWS::Region}", &env["AWS_REGION"])
        // moto's account.
        .replace("${AWS::AccountId}", "123456789012")
}

fn resources_of<'a>(template: &'a Yaml, kind: &str) -> Vec<(&'a str, &'a Yaml)> {
    let resources = template["Resources"].as_mapping().expect("Resources");
    resources
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
        .map(|(logical, resource)| (logical.as_str().expect("logical id"), &resource["Properties"]))
        .collect()
}

fn parameter_default(template: &Yaml, parameter: &str) -> i64 {
    template["Parameters"][parameter]["Default"].as_i64().expect("a number")
}

fn ref_to(value: &Yaml) -> &str {
    match value {
        Yaml::Tagged(tagged) if tagged.tag == "!Ref" => tagged.value.as_str().expect("a name"),
        other => panic!("expected !Ref: {other:?}"),
    }
}

#[tokio::test]
async fn the_emulator_builds_what_the_template_declares() {
    let template = template();
    let env = emulator::start();
    let config = emulator::sdk_config(&env).await;

    // The runtime's environment is the functions' environment.
    let globals = template["Globals"]["Function"]["Environment"]["Variables"].as_mapping().expect("variables");
    for variable in globals.keys() {
        assert!(env.contains_key(variable.as_str().unwrap()), "{variable:?} in the emulator's environment");
    }
    let resources = Resources::from_lookup(&|name| env.get(name).cloned()).expect("the adapters' variables");
    assert_eq!(resources.max_receives as i64, parameter_default(&template, "MaxReceiveCount"));

    let [(_, table)] = resources_of(&template, "AWS::DynamoDB::Table")[..] else { panic!("one table") };
    assert_eq!(resources.table, name(&table["TableName"], &env));
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let described = dynamodb.describe_table().table_name(&resources.table).send().await.unwrap().table.unwrap();
    let keys = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Vec<(String, KeyType)> {
        schema.iter().map(|k| (k.attribute_name.clone(), k.key_type.clone())).collect()
    };
    let declared_keys = |schema: &Yaml| -> Vec<(String, KeyType)> {
        schema
            .as_sequence()
            .unwrap()
            .iter()
            .map(|k| (k["AttributeName"].as_str().unwrap().to_owned(), KeyType::from(k["KeyType"].as_str().unwrap())))
            .collect()
    };
    assert_eq!(keys(described.key_schema()), declared_keys(&table["KeySchema"]));
    let [index] = described.global_secondary_indexes() else { panic!("one index") };
    let declared_index = &table["GlobalSecondaryIndexes"][0];
    assert_eq!(index.index_name(), declared_index["IndexName"].as_str());
    assert_eq!(index.index_name(), Some(shared::aws::INDEX_NAME), "the adapter queries the template's index");
    assert_eq!(keys(index.key_schema()), declared_keys(&declared_index["KeySchema"]));
    assert_eq!(index.projection().and_then(|p| p.projection_type()), Some(&ProjectionType::All));
    let ttl = dynamodb.describe_time_to_live().table_name(&resources.table).send().await.unwrap();
    let ttl = ttl.time_to_live_description.unwrap();
    assert_eq!(ttl.attribute_name(), table["TimeToLiveSpecification"]["AttributeName"].as_str());
    assert_eq!(ttl.attribute_name(), Some("expires_at"), "the adapter's TTL attribute");
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    let backups = dynamodb.describe_continuous_backups().table_name(&resources.table).send().await.unwrap();
    let recovery = backups.continuous_backups_description.unwrap().point_in_time_recovery_description.unwrap();
    assert_eq!(recovery.point_in_time_recovery_status().map(|s| s.as_str()), Some("ENABLED"));
    assert_eq!(described.sse_description().and_then(|s| s.status()).map(|s| s.as_str()), Some("ENABLED"));

    let sqs = aws_sdk_sqs::Client::new(&config);
    let queues = resources_of(&template, "AWS::SQS::Queue");
    assert_eq!(queues.len(), 9, "four queues, each with its dead-letter queue, and the mail feedback's");
    for (logical, queue) in &queues {
        let url = sqs.get_queue_url().queue_name(name(&queue["QueueName"], &env)).send().await.unwrap();
        let attributes =
            sqs.get_queue_attributes().queue_url(url.queue_url().unwrap()).attribute_names(QueueAttributeName::All);
        let attributes = attributes.send().await.unwrap().attributes.unwrap();
        let attribute = |name: QueueAttributeName| attributes.get(&name).cloned();
        for (property, attribute_name) in [
            ("VisibilityTimeout", QueueAttributeName::VisibilityTimeout),
            ("MessageRetentionPeriod", QueueAttributeName::MessageRetentionPeriod),
        ] {
            if let Some(declared) = queue[property].as_i64() {
                assert_eq!(attribute(attribute_name), Some(declared.to_string()), "{logical}.{property}");
            }
        }
        assert_eq!(attribute(QueueAttributeName::SqsManagedSseEnabled).as_deref(), Some("true"), "{logical}");
        if let Some(redrive) = queue.get("RedrivePolicy") {
            let policy: Value = serde_json::from_str(&attribute(QueueAttributeName::RedrivePolicy).unwrap()).unwrap();
            assert_eq!(
                policy["maxReceiveCount"].as_i64(),
                Some(parameter_default(&template, ref_to(&redrive["maxReceiveCount"])))
            );
            let Yaml::Tagged(target) = &redrive["deadLetterTargetArn"] else { panic!("!GetAtt") };
            let dead_letter_queue = target.value.as_str().unwrap().trim_end_matches(".Arn");
            let dead_letter_name = name(&template["Resources"][dead_letter_queue]["Properties"]["QueueName"], &env);
            assert!(
                policy["deadLetterTargetArn"].as_str().unwrap().ends_with(&format!(":{dead_letter_name}")),
                "{logical}"
            );
        }
    }
    for queue in shared::ports::QueueName::ALL {
        let url = &resources.queue_urls[&queue];
        assert!(url.ends_with(&format!("{STACK}-{}", queue.as_str())), "{url}");
    }

    // SES: the configuration set the notify function sends through, and the domain it sends from.
    let ses = aws_sdk_sesv2::Client::new(&config);
    let [(_, configuration_set)] = resources_of(&template, "AWS::SES::ConfigurationSet")[..] else { panic!("one set") };
    assert_eq!(env["MAIL_CONFIGURATION_SET"], name(&configuration_set["Name"], &env));
    // (moto answers GetConfigurationSet in a shape the SDK refuses; that the set exists is
    // proven by sending through it in the SES test below.)
    let identity = ses.get_email_identity().email_identity("sorgeregister.localhost").send().await.unwrap();
    assert_eq!(identity.identity_type().map(|t| t.as_str()), Some("DOMAIN"));

    let [(_, bucket)] = resources_of(&template, "AWS::S3::Bucket")[..] else { panic!("one bucket") };
    assert_eq!(resources.bucket, name(&bucket["BucketName"], &env));
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    let block = s3.get_public_access_block().bucket(&resources.bucket).send().await.unwrap();
    let block = block.public_access_block_configuration.unwrap();
    let all_blocked =
        [block.block_public_acls, block.block_public_policy, block.ignore_public_acls, block.restrict_public_buckets];
    assert_eq!(all_blocked, [Some(true); 4], "private bucket");
    let encryption = s3.get_bucket_encryption().bucket(&resources.bucket).send().await.unwrap();
    let rule = &encryption.server_side_encryption_configuration.unwrap().rules[0];
    assert_eq!(rule.apply_server_side_encryption_by_default().unwrap().sse_algorithm().as_str(), "AES256");
    // moto answers GetBucketVersioning with a root element the SDK refuses; read it as text.
    let versioning = format!("{}/{}?versioning", env["AWS_ENDPOINT_URL"], resources.bucket);
    let versioning = ureq::get(&versioning).call().unwrap().body_mut().read_to_string().unwrap();
    assert!(versioning.contains("<Status>Enabled</Status>"), "versioning: {versioning}");
    let lifecycle = s3.get_bucket_lifecycle_configuration().bucket(&resources.bucket).send().await.unwrap();
    let retention = lifecycle.rules().iter().find(|r| r.id() == Some("retention")).expect("retention rule");
    assert_eq!(
        retention.expiration().and_then(|e| e.days()).map(i64::from),
        Some(parameter_default(&template, "DocumentRetentionDays"))
    );
}

/// Each queue hides a message for at least 6 x the timeout of the function consuming it, and
/// every queue function reports partial batch failures.
#[test]
fn queue_visibility_outlasts_six_function_timeouts() {
    let template = template();
    let default_timeout = template["Globals"]["Function"]["Timeout"].as_i64().unwrap();
    let mut consumers = 0;
    for (logical, function) in resources_of(&template, "AWS::Serverless::Function") {
        for event in function["Events"].as_mapping().into_iter().flat_map(|events| events.values()) {
            if event["Type"].as_str() != Some("SQS") {
                continue;
            }
            consumers += 1;
            let Yaml::Tagged(queue) = &event["Properties"]["Queue"] else { panic!("!GetAtt") };
            let queue = queue.value.as_str().unwrap().trim_end_matches(".Arn");
            let visibility = template["Resources"][queue]["Properties"]["VisibilityTimeout"].as_i64().unwrap();
            let timeout = function["Timeout"].as_i64().unwrap_or(default_timeout);
            assert!(visibility >= 6 * timeout, "{queue}: {visibility} s < 6 x {timeout} s of {logical}");
            assert_eq!(event["Properties"]["FunctionResponseTypes"][0].as_str(), Some("ReportBatchItemFailures"));
        }
    }
    assert_eq!(consumers, 4);
}

/// Every crate in functions/ is deployed as one function built from its binary.
#[test]
fn every_function_crate_is_deployed() {
    let template = template();
    let binaries: Vec<&str> = resources_of(&template, "AWS::Serverless::Function")
        .iter()
        .map(|(logical, _)| template["Resources"][*logical]["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap())
        .collect();
    let functions = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../functions");
    for crate_dir in std::fs::read_dir(functions).unwrap() {
        let crate_dir = crate_dir.unwrap().path();
        let name = crate_dir.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(crate_dir.join("src/main.rs").exists(), "functions/{name} has a Lambda entrypoint");
        assert!(binaries.contains(&name.as_str()), "functions/{name} is a function in template.yaml");
    }
}

/// An HTTP API route of the template: method (or `ANY`), path segments, and its function.
struct ApiRoute {
    method: String,
    segments: Vec<String>,
    binary: String,
}

impl ApiRoute {
    fn all(template: &Yaml) -> Vec<ApiRoute> {
        let mut routes = Vec::new();
        for (logical, function) in resources_of(template, "AWS::Serverless::Function") {
            let binary = template["Resources"][logical]["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
            for event in function["Events"].as_mapping().into_iter().flat_map(|events| events.values()) {
                if event["Type"].as_str() == Some("HttpApi") {
                    let path = event["Properties"]["Path"].as_str().unwrap();
                    routes.push(ApiRoute {
                        method: event["Properties"]["Method"].as_str().unwrap().to_owned(),
                        segments: path.split('/').skip(1).map(str::to_owned).collect(),
                        binary: binary.to_owned(),
                    });
                }
            }
        }
        routes
    }

    /// How specifically the route matches (API Gateway takes the most specific route: per
    /// segment a literal over a `{parameter}` over a greedy `{proxy+}`, then a method over
    /// `ANY`), or `None` when it does not match.
    fn specificity(&self, method: &str, path: &str) -> Option<(Vec<u8>, bool)> {
        if self.method != "ANY" && self.method != method {
            return None;
        }
        let segments: Vec<&str> = path.split('/').skip(1).collect();
        let mut ranks = Vec::new();
        for (i, segment) in self.segments.iter().enumerate() {
            if segment.ends_with("+}") {
                if segments.len() <= i {
                    return None;
                }
                ranks.push(0);
                return Some((ranks, self.method != "ANY"));
            }
            let given = segments.get(i)?;
            if segment.starts_with('{') {
                ranks.push(1);
            } else if segment == given {
                ranks.push(2);
            } else {
                return None;
            }
        }
        (segments.len() == self.segments.len()).then_some((ranks, self.method != "ANY"))
    }

    /// The function API Gateway hands the request to.
    fn function_for<'a>(routes: &'a [ApiRoute], method: &str, path: &str) -> Option<&'a str> {
        routes
            .iter()
            .filter_map(|route| route.specificity(method, path).map(|rank| (rank, route)))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, route)| route.binary.as_str())
    }
}

/// Every page of the service, with the function whose router serves it.
const PAGES: &[(&str, &str, &str)] = &[
    ("GET", "/", "precheck"),
    ("GET", "/faq", "precheck"),
    ("GET", "/barrierefreiheit", "precheck"),
    ("GET", "/static/site.css", "precheck"),
    ("GET", "/vorab-check", "precheck"),
    ("GET", "/vorab-check/ergebnis", "precheck"),
    ("POST", "/vorab-check/wer", "precheck"),
    ("GET", "/antrag", "drafts"),
    ("GET", "/antrag/kind", "drafts"),
    ("POST", "/antrag/kind", "drafts"),
    ("POST", "/antrag/nachweise/entfernen", "drafts"),
    ("POST", "/antrag/absenden", "submit"),
    ("GET", "/antrag/eingereicht/r-1", "submit"),
    ("GET", "/antraege", "status"),
    ("GET", "/antraege/r-1", "status"),
    ("GET", "/antraege/r-1/bescheinigung", "status"),
    ("POST", "/antraege/r-1/nachricht", "status"),
    ("GET", "/antraege/r-1/nachweise", "status"),
    ("GET", "/antrag/nachweise/eingang", "drafts"),
    ("GET", "/amt", "inbox"),
    ("GET", "/amt/antraege/r-1", "inbox"),
    ("POST", "/amt/antraege/r-1/entscheidung", "inbox"),
    ("POST", "/amt/antraege/r-1/nachricht", "inbox"),
    ("POST", "/amt/antraege/r-1/widerruf", "inbox"),
    ("POST", "/amt/antraege/r-1/bearbeitung", "inbox"),
    ("POST", "/amt/antraege/uebernehmen", "inbox"),
    ("GET", "/amt/antraege/r-1/dokumente/antrag.pdf", "inbox"),
    ("GET", "/pruefen", "verify"),
    ("GET", "/pruefen/ABCD-EFGH", "verify"),
    ("POST", "/pruefen", "verify"),
    // The office sign-in's routes are tested with oidc-provider (tests/office_signin.rs).
    ("GET", "/amt/anmelden", "staff-login"),
    ("GET", "/amt/anmelden/callback", "staff-login"),
    ("GET", "/amt/anmelden/jwks.json", "staff-login"),
    ("GET", "/amt/sitzung", "staff-login"),
    ("POST", "/amt/abmelden", "staff-login"),
    ("GET", "/amt/abgemeldet", "staff-login"),
    // The login's routes are tested with its SAML identity provider (functions/login/tests).
    ("GET", "/anmelden", "login"),
    ("POST", "/abmelden", "login"),
    ("GET", "/saml/metadata", "login"),
    ("GET", "/saml/.well-known/openid-configuration", "login"),
    ("POST", "/saml/acs", "login"),
];

/// Every office brings its own identity provider, and API Gateway's JWT authorizer takes one
/// issuer: staff routes have no authorizer, their functions verify every token (the platform's
/// issuers and the offices' providers, `shared::lambda::verifier_from_env`), and each staff API
/// route has a throttle of its own.
#[test]
fn staff_routes_are_verified_by_their_functions_and_throttled() {
    let template = template();
    let api = &template["Resources"]["HttpApi"]["Properties"];
    let authorizers = api["Auth"]["Authorizers"].as_mapping().expect("authorizers");
    let jwt_issuers: Vec<&str> = authorizers.keys().map(|name| name.as_str().unwrap()).collect();
    assert_eq!(jwt_issuers, ["CitizenAuthorizer"], "only the citizens' sessions have one issuer");
    let throttled = api["RouteSettings"].as_mapping().expect("route settings");
    let mut staff_routes = 0;
    for (logical, function) in resources_of(&template, "AWS::Serverless::Function") {
        let variables = &function["Environment"]["Variables"];
        for event in function["Events"].as_mapping().into_iter().flat_map(|events| events.values()) {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let (method, path) =
                (event["Properties"]["Method"].as_str().unwrap(), event["Properties"]["Path"].as_str().unwrap());
            let staff_api =
                ["/api/v1/staff/", "/api/v1/registers/", "/api/v1/tenants"].iter().any(|p| path.starts_with(p));
            if !staff_api && !path.starts_with("/amt") {
                continue;
            }
            staff_routes += 1;
            let auth = &event["Properties"]["Auth"];
            assert!(auth.is_null(), "{logical} {method} {path}: no single-issuer authorizer ({auth:?})");
            if staff_api {
                let route = format!("{method} {path}");
                assert!(throttled.contains_key(route.as_str()), "{route} has a throttle of its own");
                for variable in ["STAFF_ISSUER", "STAFF_AUDIENCE", "STAFF_JWKS_URL"] {
                    assert!(!variables[variable].is_null(), "{logical} verifies staff tokens itself ({variable})");
                }
            }
        }
    }
    assert!(staff_routes >= 14, "all staff routes seen: {staff_routes}");
    // The inbox trusts the office sign-in's sessions, at the service's address.
    let inbox = &template["Resources"]["InboxFunction"]["Properties"]["Environment"]["Variables"];
    assert!(!inbox["PUBLIC_BASE_URL"].is_null());
}

/// The pages work when deployed: API Gateway hands each to the function that serves it, and
/// that function's router has the route (a request it does not route gets the marked fallback).
#[tokio::test]
async fn every_page_reaches_the_function_that_serves_it() {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use shared::testing::TestApp;

    const UNROUTED: &str = "x-unrouted";
    async fn unrouted() -> axum::response::Response {
        (StatusCode::IM_A_TEAPOT, [(UNROUTED, "1")]).into_response()
    }
    let routes = ApiRoute::all(&template());
    for &(method, path, binary) in PAGES {
        assert_eq!(ApiRoute::function_for(&routes, method, path), Some(binary), "{method} {path}");
        let router = match binary {
            "precheck" => precheck::router(),
            "drafts" => drafts::router(),
            "submit" => submit::router(),
            "status" => status::router(),
            "inbox" => inbox::router(),
            "verify" => verify::router(),
            _ => continue,
        };
        let app = TestApp::new(router.fallback(unrouted).method_not_allowed_fallback(unrouted)).await;
        let response = app.page_send(method, path, &[("sec-fetch-site", "same-origin")], None).await;
        assert!(response.headers.get(UNROUTED).is_none(), "{binary} does not serve {method} {path}");
    }
}

/// And back: every route of the template outside `/api/` (those are held against the OpenAPI
/// document) reaches a handler of the function it names, with its parameters filled in.
#[tokio::test]
async fn every_page_route_of_the_template_reaches_a_handler_of_its_function() {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use shared::testing::TestApp;

    const UNROUTED: &str = "x-unrouted";
    async fn unrouted() -> axum::response::Response {
        (StatusCode::IM_A_TEAPOT, [(UNROUTED, "1")]).into_response()
    }
    for route in
        ApiRoute::all(&template()).iter().filter(|route| route.segments.first().map(String::as_str) != Some("api"))
    {
        let path: Vec<&str> = route
            .segments
            .iter()
            .map(|segment| match segment.as_str() {
                "{proxy+}" => "x",
                "{code}" => "ABCD-EFGH",
                segment if segment.starts_with('{') => "r-1",
                segment => segment,
            })
            .collect();
        let path = format!("/{}", path.join("/"));
        if path == "/health" {
            continue; // every function answers it (shared::lambda::api)
        }
        if let Some(prefix) = path.strip_suffix("/x").filter(|_| route.segments.last().is_some_and(|s| s == "{proxy+}"))
        {
            // A greedy route stands for the pages below it: PAGES probes them one by one.
            let covered = PAGES.iter().any(|(_, page, binary)| {
                *binary == route.binary && page.starts_with(&format!("{prefix}/")) && page.len() > prefix.len() + 1
            });
            assert!(covered, "PAGES probes a page of {} under {prefix}/", route.binary);
            continue;
        }
        let router = match route.binary.as_str() {
            "precheck" => precheck::router(),
            "drafts" => drafts::router(),
            "submit" => submit::router(),
            "status" => status::router(),
            "inbox" => inbox::router(),
            "verify" => verify::router(),
            // The login's routes are tested with its SAML identity provider (functions/login/tests),
            // the office sign-in's with oidc-provider (tests/office_signin.rs).
            "login" | "staff-login" => continue,
            other => panic!("{other} serves {path} but is not a page function"),
        };
        let method = if route.method == "ANY" { "GET" } else { route.method.as_str() };
        let app = TestApp::new(router.fallback(unrouted).method_not_allowed_fallback(unrouted)).await;
        let response = app.page_send(method, &path, &[("sec-fetch-site", "same-origin")], None).await;
        assert!(response.headers.get(UNROUTED).is_none(), "{} does not serve {method} {path}", route.binary);
    }
}

#[test]
fn the_chain_runs_on_the_aws_adapters() {
    let env = emulator::fresh_resources(&[]);
    let dir = tempfile::tempdir().unwrap();
    let mut variables: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    variables.push(("BACKEND", "aws"));
    let runtime = Runtime::start_with(dir.path(), &variables);
    // On AWS nothing is seeded: an operator subscribes the offices.
    let admin = runtime.login("admin");
    for (id, name, ags) in
        [("jugendamt-bremen", "Jugendamt Bremen", "04011000"), ("jugendamt-cuxhaven", "Jugendamt Cuxhaven", "03352011")]
    {
        let tenant = json!({
            "id": id, "name": name, "phone": "+49 421 000000", "email": format!("{id}@example.org"),
            "address": {"street": "Am Amt", "house_number": "1", "postcode": "28195", "city": "Bremen"},
            "municipalities": [{"ags": ags}], "connected": true, "auto_issue": true, "retention_days": 365
        });
        let created = runtime.send("POST", "/api/v1/tenants", Some(&admin), Some(&tenant));
        assert_eq!(created.status, 201, "{}", created.body);
    }

    let mother = runtime.login("mother");
    let application = json!({
        "applicant": {"role": "mother"},
        "mother": {
            "given_names": "Sophia", "family_name": "Beispiel", "birth_date": "1994-05-02", "birth_place": "Bremen",
            "address": {"street": "Am Markt", "house_number": "1", "postcode": "28195", "city": "Bremen"}
        },
        "child": {"given_names": "Mia", "family_name": "Beispiel", "birth_date": "2021-03-14", "birth_place": "Cuxhaven", "born_abroad": false},
        "delivery": "download"
    });
    let submitted = runtime.send("POST", "/api/v1/requests", Some(&mother), Some(&application));
    assert_eq!(submitted.status, 202, "{}", submitted.body);
    let id = submitted.body["id"].as_str().unwrap().to_owned();
    let status = runtime.wait_for_status(&id, &mother, "issued", Duration::from_secs(60));
    let steps: Vec<&str> =
        status["timeline"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(steps, ["submitted", "prepared", "issued"]);

    // The download is a presigned S3 URL, valid for a minute.
    let (redirect, headers, _) = runtime.get_bytes(&format!("/api/v1/requests/{id}/certificate"), Some(&mother));
    assert!((300..400).contains(&redirect), "a redirect: {redirect}");
    let location = headers.iter().find(|(k, _)| k == "location").map(|(_, v)| v.clone()).expect("Location");
    assert!(location.starts_with(&env["AWS_ENDPOINT_URL"]), "{location}");
    assert!(location.contains("X-Amz-Expires=60"), "{location}");
    let mut response = ureq::get(&location).call().expect("the link works");
    let pdf = response.body_mut().read_to_vec().unwrap();
    assert!(pdftotext(&pdf).contains("Mia"), "the certificate");

    let listed = runtime.get("/api/v1/requests", Some(&mother));
    assert_eq!(listed.status, 200, "StatusFunction lists her requests: {}", listed.body);
    assert_eq!(listed.body[0]["id"], id.as_str());
    let code = status["certificate"]["code"].as_str().unwrap();
    assert_eq!(runtime.get(&format!("/api/v1/verify/{code}?birth_date=2021-03-14"), None).body["valid"], true);
}

/// `cfn-lint` and `sam validate --lint` find nothing (tools from scripts/venv).
#[test]
fn the_template_is_lint_clean() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv = std::process::Command::new(root.join("scripts/venv")).output().expect("scripts/venv runs");
    assert!(venv.status.success(), "scripts/venv: {}", String::from_utf8_lossy(&venv.stderr));
    let bin = PathBuf::from(String::from_utf8(venv.stdout).unwrap().trim()).join("bin");
    for (tool, arguments) in [
        ("cfn-lint", &["template.yaml"][..]),
        ("sam", &["validate", "--lint", "--template", "template.yaml", "--region", "eu-central-1"][..]),
    ] {
        let output = std::process::Command::new(bin.join(tool))
            .args(arguments)
            .current_dir(&root)
            .env("SAM_CLI_TELEMETRY", "0")
            .output()
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert!(
            output.status.success(),
            "{tool} {}:\n{}{}",
            arguments.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0];

fn post_form(runtime: &Runtime, path: &str, cookie: &str, form: &[(&str, &str)]) -> (u16, String) {
    let body = serde_urlencoded::to_string(form).unwrap().into_bytes();
    let headers =
        [("cookie", cookie), ("sec-fetch-site", "same-origin"), ("content-type", "application/x-www-form-urlencoded")];
    let (status, headers, body) = runtime.exchange("POST", path, &headers, body);
    let location = headers.into_iter().find(|(k, _)| k == "location").map(|(_, v)| v);
    (status, location.unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned()))
}

/// A phone photo of the birth certificate: a 9 MB JPEG, more than a Lambda request can carry.
fn photo() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0];
    bytes.resize(9_000_000, 0x5A);
    bytes
}

/// The file behind a document link of the staff API: a redirect to a presigned S3 URL, signed
/// with the function's own identity.
fn follow(runtime: &Runtime, path: &str, token: &str) -> Vec<u8> {
    let (status, headers, _) = runtime.get_bytes(path, Some(token));
    assert_eq!(status, 302, "a link to {path}");
    let location = headers.iter().find(|(k, _)| k == "location").map(|(_, v)| v.clone()).expect("Location");
    assert!(location.contains("X-Amz-Expires=60"), "{location}");
    let mut response = ureq::get(&location).call().expect("the link works with the function's own rights");
    response.body_mut().read_to_vec().unwrap()
}

/// The runtime on the emulator that enforces IAM, each function signing as itself; with the
/// emulator's environment.
fn runtime_enforcing_iam(dir: &std::path::Path, without: &[&str]) -> (Runtime, HashMap<String, String>) {
    let env = emulator::fresh_resources_enforcing_iam(without);
    let mut variables: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    variables.push(("BACKEND", "aws"));
    (Runtime::start_with(dir, &variables), env)
}

/// The services as `function` (a logical id of template.yaml) has them on the emulator of
/// `env`, signing as that function, at the time `at`; and its SDK configuration.
async fn services_of(
    env: &HashMap<String, String>,
    function: &str,
    at: time::OffsetDateTime,
) -> (shared::services::Services, aws_config::SdkConfig) {
    use std::sync::Arc;
    let config = emulator::sdk_config_of(env, function).await;
    let resources = Resources::from_lookup(&|name| env.get(name).cloned()).unwrap();
    let clock = Arc::new(shared::ports::ManualClock::new(at));
    let adapters = shared::aws::Adapters::with_config(&config, &resources, clock.clone());
    let services = shared::services::Services::new(
        adapters.store,
        adapters.documents,
        adapters.queue,
        clock,
        Arc::new(shared::ports::RandomIds),
        Arc::new(shared::auth::Verifier::new(Vec::new())),
    )
    .with_audit_keys(adapters.audit_keys);
    (services, config)
}

/// Her application: born in Cuxhaven, living there (no register entry: issued automatically).
fn ida_in_cuxhaven() -> Value {
    json!({
        "applicant": {"role": "mother"},
        "mother": {
            "given_names": "Sophia", "family_name": "Beispiel", "birth_date": "1994-05-02", "birth_place": "Bremen",
            "address": {"street": "Deichstraße", "house_number": "2", "postcode": "27472", "city": "Cuxhaven"}
        },
        "child": {"given_names": "Ida", "family_name": "Beispiel", "birth_date": "2022-02-02", "birth_place": "Cuxhaven", "born_abroad": false},
        "delivery": "download"
    })
}

/// Submits `application` through the API with the idempotency key `key`; its id.
fn submit_application(runtime: &Runtime, token: &str, application: &Value, key: &str) -> String {
    let headers = [("idempotency-key", key)];
    let answer = runtime.send_with_headers("POST", "/api/v1/requests", Some(token), Some(application), &headers);
    assert_eq!(answer.status, 202, "{}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

fn subscribe_offices(runtime: &Runtime) {
    let admin = runtime.login("admin");
    for (id, name, ags, documents) in [
        ("jugendamt-bremen", "Jugendamt Bremen", "04011000", json!(["geburtsurkunde"])),
        ("jugendamt-cuxhaven", "Jugendamt Cuxhaven", "03352011", json!([])),
    ] {
        let tenant = json!({
            "id": id, "name": name, "phone": "+49 421 000000", "email": format!("{id}@example.org"),
            "address": {"street": "Am Amt", "house_number": "1", "postcode": "28195", "city": "Bremen"},
            "municipalities": [{"ags": ags}], "connected": true, "auto_issue": true, "retention_days": 365,
            "required_documents": documents
        });
        let created = runtime.send("POST", "/api/v1/tenants", Some(&admin), Some(&tenant));
        assert_eq!(created.status, 201, "TenantsFunction adds a tenant: {}", created.body);
        let replaced = runtime.send("PUT", &format!("/api/v1/tenants/{id}"), Some(&admin), Some(&tenant));
        assert_eq!(replaced.status, 200, "TenantsFunction replaces a tenant: {}", replaced.body);
    }
}

/// Every function runs its part of the journey with exactly the rights template.yaml gives it,
/// on an emulator that refuses everything else, DynamoDB per table, index and transaction item.
#[test]
fn every_function_does_its_work_with_the_policy_of_the_template_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (runtime, env) = runtime_enforcing_iam(dir.path(), &[]);
    subscribe_offices(&runtime);

    // The register of the birth place: an entry for another child, corrected, removed, imported.
    let staff = runtime.login("staff-cuxhaven");
    let keeper = runtime.login("register-cuxhaven");
    let entry = json!({
        "child": {"given_names": "Lena", "family_name": "Muster", "birth_date": "2020-01-01", "birth_place": "Cuxhaven"},
        "mother": {"given_names": "Anna", "family_name": "Muster"}, "kind": "01"
    });
    let uri = "/api/v1/registers/jugendamt-cuxhaven/entries";
    let stored = runtime.send("POST", uri, Some(&keeper), Some(&entry));
    assert_eq!(stored.status, 201, "RegisterApiFunction stores an entry: {}", stored.body);
    let one = format!("{uri}/{}", stored.body["id"].as_str().unwrap());
    assert_eq!(runtime.send("PUT", &one, Some(&keeper), Some(&entry)).status, 200, "and corrects it");
    assert_eq!(runtime.send("DELETE", &one, Some(&keeper), None).status, 204, "and deletes it");
    let line = entry.to_string();
    let headers = [("content-type", "application/x-ndjson")];
    let imported =
        runtime.send_raw("POST", "/api/v1/registers/jugendamt-cuxhaven/import", Some(&keeper), &headers, &line);
    assert_eq!(imported.status, 200, "and imports: {}", imported.body);
    assert_eq!(imported.body["accepted"].as_array().map(Vec::len), Some(1), "{}", imported.body);

    // Her form with the birth certificate Bremen asks for, then the submit button.
    let cookie = format!("session={}", runtime.login("mother"));
    for (step, form) in shared::testing::FORM {
        let (status, next) = post_form(&runtime, &format!("/antrag/{step}"), &cookie, form);
        assert_eq!(status, 303, "DraftsFunction saves {step}: {next}");
    }
    let (status, headers, page) = runtime.exchange("GET", "/antrag/nachweise", &[("cookie", &cookie)], Vec::new());
    assert_eq!(status, 200);
    let form = &shared::testing::upload_forms(&String::from_utf8(page).unwrap())[0];
    let s3 = form.action.rsplit_once('/').expect("a bucket URL").0;
    assert!(s3.starts_with("http://127.0.0.1:"), "the form posts to S3 (moto): {}", form.action);
    let csp = headers.iter().find(|(k, _)| k == "content-security-policy").map(|(_, v)| v.as_str()).unwrap();
    assert!(csp.contains(&format!("form-action 'self' {s3};")), "the page may post there: {csp}");
    let stored = runtime.upload("/antrag/nachweise", &cookie, &photo());
    assert_eq!(stored, (303, "/antrag/pruefen".into()), "S3 takes it as DraftsFunction signed; it keeps it");
    let (status, _, check) = runtime.exchange("GET", "/antrag/pruefen", &[("cookie", &cookie)], Vec::new());
    assert_eq!(status, 200);
    let check = String::from_utf8(check).unwrap();
    let start = check.find("name=\"idempotency_key\" value=\"").expect("a key") + 30;
    let key = &check[start..start + check[start..].find('"').unwrap()];
    let (status, submitted) = post_form(&runtime, "/antrag/absenden", &cookie, &[("idempotency_key", key)]);
    assert_eq!(status, 303, "SubmitFunction takes the draft and its upload: {submitted}");
    let id = submitted.rsplit('/').next().unwrap().to_owned();

    // XFamilie, the register check and the certificate, each as itself.
    let mother = runtime.login("mother");
    let status = runtime.wait_for_status(&id, &mother, "issued", Duration::from_secs(60));
    let (redirect, headers, _) = runtime.get_bytes(&format!("/api/v1/requests/{id}/certificate"), Some(&mother));
    assert!((300..400).contains(&redirect), "StatusFunction presigns the download: {redirect}");
    let location = headers.iter().find(|(k, _)| k == "location").map(|(_, v)| v.clone()).unwrap();
    let mut response = ureq::get(&location).call().expect("the link works with the function's own rights");
    assert!(pdftotext(&response.body_mut().read_to_vec().unwrap()).contains("Mia"));
    let code = status["certificate"]["code"].as_str().unwrap();
    let verified = runtime.get(&format!("/api/v1/verify/{code}?birth_date=2021-03-14"), None);
    assert_eq!(verified.body["valid"], true, "VerifyFunction reads and counts the check: {}", verified.body);
    // NotifyFunction reads the request, records each notice and mails through SES as itself:
    // received and ready, two mails through the stack's configuration set, tagged with the request.
    let started = std::time::Instant::now();
    let mails = loop {
        let mails = mails_sent_by_ses(&env["AWS_ENDPOINT_URL"], &id);
        if mails.len() >= 2 {
            break mails;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "NotifyFunction tells her: {mails:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(mails.len(), 2, "{mails:?}");
    for mail in &mails {
        assert_eq!(mail["configuration_set"], env["MAIL_CONFIGURATION_SET"].as_str(), "{mail}");
        assert!(mail["raw_data"].as_str().unwrap().contains("To: sophia.beispiel@example.org"), "{mail}");
    }
    assert!(!dir.path().join("outbox").exists(), "SES, not the outbox");

    // The office of her residence: its inbox by status (the index), the request, her upload.
    let bremen = runtime.login("staff-bremen");
    let inbox = runtime.get("/api/v1/staff/requests?status=issued", Some(&bremen));
    assert_eq!(inbox.status, 200, "InboxFunction lists by the index: {}", inbox.body);
    assert_eq!(inbox.body[0]["id"], id.as_str());
    let detail = runtime.get(&format!("/api/v1/staff/requests/{id}"), Some(&bremen));
    assert_eq!(detail.status, 200, "{}", detail.body);
    let upload = detail.body["documents"]["uploads"][0]["url"].as_str().expect("her upload").to_owned();
    assert!(follow(&runtime, &upload, &bremen) == photo(), "InboxFunction links to her upload");

    // A request the register check sends to review (the register has an entry): the office asks
    // for the birth certificate, she sends it from her status page, the office reads it and issues.
    let application = json!({
        "applicant": {"role": "mother"},
        "mother": {
            "given_names": "Anna", "family_name": "Muster", "birth_date": "1990-07-01", "birth_place": "Cuxhaven",
            "address": {"street": "Deichstraße", "house_number": "2", "postcode": "27472", "city": "Cuxhaven"}
        },
        "child": {"given_names": "Lena", "family_name": "Muster", "birth_date": "2020-01-01", "birth_place": "Cuxhaven", "born_abroad": false},
        "delivery": "download"
    });
    let id = submit_application(&runtime, &mother, &application, "iam-2");
    runtime.wait_for_status(&id, &mother, "in_review", Duration::from_secs(60));
    let ask = json!({"text": "Bitte senden Sie uns die Geburtsurkunde.", "asks_for": "geburtsurkunde"});
    let asked = runtime.send("POST", &format!("/api/v1/staff/requests/{id}/messages"), Some(&staff), Some(&ask));
    assert_eq!(asked.status, 201, "InboxFunction asks: {}", asked.body);
    let sent = runtime.upload(&format!("/antraege/{id}"), &cookie, PNG);
    assert_eq!(sent.0, 303, "StatusFunction stores what the office asked for: {}", sent.1);
    let detail = runtime.get(&format!("/api/v1/staff/requests/{id}"), Some(&staff));
    let upload = detail.body["documents"]["uploads"][0]["url"].as_str().expect("her upload").to_owned();
    assert_eq!(follow(&runtime, &upload, &staff), PNG, "InboxFunction links to it");
    let decision = json!({"outcome": "issue"});
    let decided = runtime.send("POST", &format!("/api/v1/staff/requests/{id}/decision"), Some(&staff), Some(&decision));
    assert_eq!(decided.status, 200, "InboxFunction decides and hands on: {}", decided.body);
    runtime.wait_for_status(&id, &mother, "issued", Duration::from_secs(60));
}

/// The mails moto's SES took that are tagged with `request_id` (the emulator keeps the
/// configuration set and the tags with each).
fn mails_sent_by_ses(endpoint: &str, request_id: &str) -> Vec<Value> {
    // moto dumps every model of every service there; when another test changes its IAM state
    // in the same moment, the dump fails (500, "AccessKey is not JSON serializable"): ask again.
    let data = (0..10)
        .find_map(|attempt| {
            std::thread::sleep(Duration::from_millis(100 * attempt));
            let mut answer = ureq::get(&format!("{endpoint}/moto-api/data.json")).call().ok()?;
            answer.body_mut().read_json::<Value>().ok()
        })
        .expect("moto's model data");
    let sent = data["ses"]["RawMessage"].as_array().cloned().unwrap_or_default();
    sent.into_iter().filter(|mail| mail["tags"]["request"] == request_id).collect()
}

/// SES decides per sending identity and configuration set (moto alone checks only the action):
/// the notify function sends from the stack's domain through its set, and nothing else does.
#[tokio::test]
async fn ses_takes_mail_from_the_notify_function_through_its_configuration_set_only() {
    use shared::domain::values::EmailAddress;
    use shared::mail::Ses;
    use shared::ports::{Ids, Mail, MailError, Mailer, RandomIds};
    let env = emulator::fresh_resources_enforcing_iam(&[]);
    let notify = emulator::sdk_config_of(&env, "NotifyFunction").await;
    let submit = emulator::sdk_config_of(&env, "SubmitFunction").await;
    let configuration_set = env["MAIL_CONFIGURATION_SET"].clone();
    let from = || "Sorgeregister online <noreply@sorgeregister.localhost>".parse().unwrap();
    let request_id = RandomIds.new_id();
    let mail = Mail {
        id: format!("{request_id}.received"),
        request_id: Some(request_id.clone()),
        to: EmailAddress::parse("sophia.beispiel@example.org").unwrap(),
        account: "bundid-demo".into(),
        subject: "Ihr Antrag ist eingegangen".into(),
        text: "Guten Tag".into(),
        html: "<p>Guten Tag</p>".into(),
    };

    Ses::new(&notify, from(), &configuration_set).send(&mail).await.expect("the notify function sends");
    let sent = mails_sent_by_ses(&env["AWS_ENDPOINT_URL"], &request_id);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["configuration_set"], configuration_set.as_str());
    assert!(sent[0]["raw_data"].as_str().unwrap().contains("Auto-Submitted: auto-generated"));

    let refusals = [
        ("another function", Ses::new(&submit, from(), &configuration_set)),
        ("another domain", Ses::new(&notify, "x <noreply@elsewhere.example>".parse().unwrap(), &configuration_set)),
        ("another configuration set", Ses::new(&notify, from(), "someone-elses-mail")),
    ];
    for (what, ses) in refusals {
        let error = ses.send(&mail).await.expect_err(what);
        // Not her address's fault: the message waits for operators, it is not marked refused.
        assert!(matches!(&error, MailError::Unavailable(reason) if reason.starts_with("SES ")), "{what}: {error:?}");
    }
    assert_eq!(mails_sent_by_ses(&env["AWS_ENDPOINT_URL"], &request_id).len(), 1, "none of them was sent");
}

/// The daily draft reminders read the day's reminders on DynamoDB and mail through SES with
/// DraftRemindersFunction's policy alone; the draft is the one her form saved as DraftsFunction.
#[tokio::test(flavor = "multi_thread")]
async fn draft_reminders_run_with_their_function_policy_alone() {
    use shared::mail::Ses;
    let dir = tempfile::tempdir().unwrap();
    let (runtime, env) = runtime_enforcing_iam(dir.path(), &[]);
    subscribe_offices(&runtime);
    let cookie = format!("session={}", runtime.login("mother"));
    for (step, form) in shared::testing::FORM {
        assert_eq!(post_form(&runtime, &format!("/antrag/{step}"), &cookie, form).0, 303, "{step}");
    }

    // Three days before the draft is deleted.
    let at = time::OffsetDateTime::now_utc() + time::Duration::days(27);
    let (services, config) = services_of(&env, "DraftRemindersFunction", at).await;
    let from = "Sorgeregister online <noreply@sorgeregister.localhost>".parse().unwrap();
    let ses = std::sync::Arc::new(Ses::new(&config, from, &env["MAIL_CONFIGURATION_SET"]));
    let reminders = notify::DraftReminders::new(services, ses, "https://sorgeregister.localhost");
    assert_eq!(reminders.run().await.expect("its policy allows the run"), 1);
    assert_eq!(reminders.run().await.unwrap(), 0, "once");
    let data: Value = ureq::get(&format!("{}/moto-api/data.json", env["AWS_ENDPOINT_URL"]))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let sent = data["ses"]["RawMessage"].as_array().cloned().unwrap_or_default();
    let reminded: Vec<&Value> = sent
        .iter()
        .filter(|mail| mail["configuration_set"] == env["MAIL_CONFIGURATION_SET"].as_str())
        .filter(|mail| mail["raw_data"].as_str().unwrap_or_default().contains("Message-ID: <reminder."))
        .collect();
    assert_eq!(reminded.len(), 1, "through this stack's configuration set: {sent:?}");
}

/// Retention finds the request through its index, deletes its documents, its items in chunks and
/// the request, and pages the purge from its cursor, with RetentionFunction's policy alone.
#[tokio::test(flavor = "multi_thread")]
async fn retention_runs_with_its_function_policy_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (runtime, env) = runtime_enforcing_iam(dir.path(), &[]);
    subscribe_offices(&runtime);
    let mother = runtime.login("mother");
    let application = ida_in_cuxhaven();
    let id = submit_application(&runtime, &mother, &application, "retention-1");
    runtime.wait_for_status(&id, &mother, "issued", Duration::from_secs(60));

    let later = time::OffsetDateTime::now_utc() + time::Duration::days(366);
    let (services, _) = services_of(&env, "RetentionFunction", later).await;
    let request = shared::records::request(&*services.store, &id).await.unwrap().expect("stored").value;
    let no_time = retention::Settings { time_budget: time::Duration::ZERO, ..retention::Settings::default() };
    let mut deleted = 0;
    for _ in 0..10 {
        let report = retention::run(&services, &no_time).await.expect("its policy allows the run");
        deleted += report.requests;
        if !report.unfinished {
            break;
        }
    }
    assert_eq!(deleted, 1);
    assert!(shared::records::request(&*services.store, &id).await.unwrap().is_none());
    // Read as StatusFunction, which may read documents (retention may only delete them).
    let (reader, _) = services_of(&env, "StatusFunction", later).await;
    for key in request.document_keys() {
        assert!(reader.documents.get(key).await.unwrap().is_none(), "{key} deleted");
    }
    let trail = shared::records::audit_trail(&*services.store, &id).await.unwrap();
    assert_eq!(trail.last().map(|entry| entry.action.as_str()), Some("deleted:retention"));
    assert!(shared::records::purge_cursor(&*services.store).await.unwrap().passed_at.is_some(), "a whole pass");
}

/// A write DynamoDB made but whose answer the network lost: the SDK sends it again. A
/// transaction's token makes that a success (without it, its own `Absent` conditions would fail
/// on what it just wrote, and submit would report a stored request as failed); a single put,
/// which has no token, finds the very item it wrote and counts as made.
#[tokio::test(flavor = "multi_thread")]
async fn a_write_whose_answer_was_lost_is_made_once_and_reported_so() {
    use shared::ports::{Condition, Item, Key, ManualClock, StateStore, Write};
    let env = emulator::fresh_resources(&[]);
    let upstream = env["AWS_ENDPOINT_URL"].trim_start_matches("http://").to_owned();
    for (case, sorts) in [("transaction", &["A", "B"][..]), ("single put", &["C"][..])] {
        let (proxy, connections) = losing_the_first_answer(upstream.clone()).await;
        let mut proxied = env.clone();
        proxied.insert("AWS_ENDPOINT_URL".into(), format!("http://{proxy}"));
        let resources = Resources::from_lookup(&|name| proxied.get(name).cloned()).unwrap();
        let clock = std::sync::Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        let store = shared::aws::Adapters::with_config(&emulator::sdk_config(&proxied).await, &resources, clock).store;
        let keys: Vec<Key> = sorts.iter().map(|sort| Key::new("LOST#1", *sort)).collect();
        let writes = || -> Vec<Write> {
            let item = |key: &Key| Item::new(key.clone(), json!({"case": case}));
            keys.iter().map(|key| Write::Put { item: item(key), condition: Condition::Absent }).collect()
        };
        store.write(writes()).await.unwrap_or_else(|e| panic!("{case}: made, and reported as made: {e:?}"));
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 2, "{case}: the answer was lost, sent again");
        for key in &keys {
            assert_eq!(store.get(key).await.unwrap().map(|item| item.version), Some(1), "{case}: once: {key:?}");
        }
        // The same writes again are new ones: their conditions fail.
        let refused = store.write(writes()).await;
        assert!(matches!(refused, Err(shared::ports::StoreError::ConditionFailed)), "{case}: {refused:?}");
    }
}

/// A proxy to `upstream` that passes the first request on, reads its answer and drops it with
/// the connection, as a network failing after the service did its work; later connections pass
/// through. Counts the connections.
async fn losing_the_first_answer(
    upstream: String,
) -> (std::net::SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else { return };
            let mut server = tokio::net::TcpStream::connect(&upstream).await.unwrap();
            let first = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
            tokio::spawn(async move {
                if first {
                    let request = http_message(&mut client).await;
                    server.write_all(&request).await.unwrap();
                    http_message(&mut server).await;
                } else {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    (address, connections)
}

/// One HTTP/1.1 message with a `content-length`, read whole.
async fn http_message(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut message = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let read = stream.read(&mut chunk).await.unwrap_or(0);
        if read == 0 {
            return message;
        }
        message.extend_from_slice(&chunk[..read]);
        let Some(end) = message.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&message[..end]).to_ascii_lowercase();
        let length: usize =
            head.lines().find_map(|line| line.strip_prefix("content-length:")).map_or(0, |v| v.trim().parse().unwrap());
        if message.len() >= end + 4 + length {
            return message;
        }
    }
}

/// The emulator refuses what a policy leaves out: without one S3 action the form's upload
/// fails, without the index the inbox does (so the test above proves the policies, not moto).
#[test]
fn a_function_missing_one_permission_fails_where_aws_would() {
    let dir = tempfile::tempdir().unwrap();
    let (runtime, _) =
        runtime_enforcing_iam(dir.path(), &["DraftsFunction=s3:PutObject", "InboxFunction=dynamodb:Query"]);
    subscribe_offices(&runtime);
    let cookie = format!("session={}", runtime.login("mother"));
    for (step, form) in shared::testing::FORM {
        assert_eq!(post_form(&runtime, &format!("/antrag/{step}"), &cookie, form).0, 303, "{step}");
    }
    let (status, page) = runtime.upload("/antrag/nachweise", &cookie, PNG);
    assert_eq!(status, 403, "S3 refuses a post signed by a function without s3:PutObject: {page}");
    assert!(page.contains("AccessDenied"), "{page}");
    let inbox = runtime.get("/api/v1/staff/requests", Some(&runtime.login("staff-bremen")));
    assert!(inbox.status >= 500, "an inbox without dynamodb:Query fails: {}", inbox.status);
}

/// Secrets Manager decided per secret, as on AWS (moto alone checks only the action): the login
/// keeps its keys under its stage's prefix and reaches no other secret.
#[tokio::test]
async fn the_login_reaches_the_secrets_of_its_stage_only() {
    use shared::aws::{AccessKey, SecretsManagerStore};
    use shared::ports::{Ids, RandomIds, SecretStore};
    let env = emulator::fresh_resources_enforcing_iam(&[]);
    let identities: HashMap<String, AccessKey> = serde_json::from_str(&env["FUNCTION_IDENTITIES"]).unwrap();
    let login = &identities["LoginFunction"];
    let mut as_login = env.clone();
    as_login.insert("AWS_ACCESS_KEY_ID".into(), login.access_key_id.clone());
    as_login.insert("AWS_SECRET_ACCESS_KEY".into(), login.secret_access_key.clone());
    let config = emulator::sdk_config(&as_login).await;
    // A fresh name per run: the server keeps secrets for its lifetime.
    let name = format!("saml-sp-keys-{}", RandomIds.new_id());
    let make = || Ok(b"keys".to_vec());
    let own = SecretsManagerStore::new(&config, "sorgeregister/dev/");
    assert_eq!(own.get_or_create(&name, &make).await.expect("its own stage's secret"), b"keys");
    assert_eq!(own.get_or_create(&name, &make).await.expect("read again"), b"keys");
    let other = SecretsManagerStore::new(&config, "sorgeregister/prod/").get_or_create(&name, &make).await;
    let refused = format!("{:?}", other.expect_err("another stage's secret is refused"));
    assert!(refused.contains("not authorized") || refused.contains("AccessDenied"), "{refused}");
}

/// An operator's `tenant add` on AWS writes that tenant and nothing else: no demo offices.
#[tokio::test]
async fn an_operators_tenant_add_on_aws_stores_exactly_that_tenant() {
    let env = emulator::fresh_resources(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tenant.json");
    let tenant = json!({
        "id": "jugendamt-verden", "name": "Jugendamt Landkreis Verden",
        "address": {"street": "Lindhooper Straße", "house_number": "67", "postcode": "27283", "city": "Verden (Aller)"},
        "phone": "+49 4231 15-0", "email": "jugendamt@landkreis-verden.example",
        "municipalities": [{"ags": "03361012"}], "connected": true, "auto_issue": true, "retention_days": 365
    });
    std::fs::write(&file, tenant.to_string()).unwrap();
    let output = std::process::Command::new(system_tests::binary())
        .args(["tenant", "add", file.to_str().unwrap()])
        .envs(&env)
        .env("BACKEND", "aws")
        .env("DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    let config = emulator::sdk_config(&env).await;
    let resources = Resources::from_lookup(&|name| env.get(name).cloned()).unwrap();
    let adapters =
        shared::aws::Adapters::with_config(&config, &resources, std::sync::Arc::new(shared::ports::SystemClock));
    let offices = shared::records::offices(&*adapters.store).await.unwrap();
    let ids: Vec<&str> = offices.iter().map(|office| office.id.as_str()).collect();
    assert_eq!(ids, ["jugendamt-verden"]);
}

/// The logical ids that a `!Ref`, `!GetAtt` or `!Sub "${…}"` in `value` names, anywhere inside it.
fn references(value: &Yaml) -> Vec<String> {
    match value {
        Yaml::Tagged(tagged) if tagged.tag == "!Ref" || tagged.tag == "!GetAtt" => {
            tagged.value.as_str().and_then(|name| name.split('.').next()).map(str::to_owned).into_iter().collect()
        }
        Yaml::Tagged(tagged) => references(&tagged.value),
        Yaml::String(text) => text
            .split("${")
            .skip(1)
            .filter_map(|rest| rest.split('}').next())
            .map(|name| name.split('.').next().unwrap_or(name).to_owned())
            .collect(),
        Yaml::Sequence(items) => items.iter().flat_map(references).collect(),
        Yaml::Mapping(fields) => fields.values().flat_map(references).collect(),
        _ => Vec::new(),
    }
}

/// What an operator needs on day one: every function's logs expire, every function and the
/// API's 5xx raise an alarm, so does a work queue whose oldest message waits too long, prod
/// cannot go live without an alarm address, and the routes anyone may call are held to less.
#[test]
fn the_template_is_operable() {
    let template = template();
    let functions: Vec<&str> =
        resources_of(&template, "AWS::Serverless::Function").iter().map(|(logical, _)| *logical).collect();
    let log_groups = resources_of(&template, "AWS::Logs::LogGroup");
    let alarms = resources_of(&template, "AWS::CloudWatch::Alarm");
    for function in &functions {
        let logs = log_groups.iter().find(|(_, group)| references(&group["LogGroupName"]) == [*function]);
        let (_, logs) = logs.unwrap_or_else(|| panic!("{function} has a log group of its own"));
        assert_eq!(ref_to(&logs["RetentionInDays"]), "LogRetentionDays", "{function}'s logs expire");
        let alarmed = alarms.iter().any(|(_, alarm)| {
            references(&alarm["Metrics"]).contains(&function.to_string())
                && serde_yaml::to_string(&alarm["Metrics"]).unwrap().contains("MetricName: Errors")
        });
        assert!(alarmed, "an error of {function} raises an alarm");
    }
    let metric = |name: &str, dimension: &str| {
        alarms.iter().any(|(_, alarm)| {
            alarm["MetricName"].as_str() == Some(name) && references(&alarm["Dimensions"]).contains(&dimension.into())
        })
    };
    assert!(metric("5xx", "HttpApi"), "the API's 5xx raise an alarm");
    for queue in ["SubmittedQueue", "PreparedQueue", "IssueQueue", "NotifyQueue"] {
        assert!(metric("ApproximateAgeOfOldestMessage", queue), "{queue} waiting too long raises an alarm");
    }
    for (_, alarm) in &alarms {
        assert_eq!(references(&alarm["AlarmActions"]), ["AlarmTopic"], "every alarm tells the operators");
    }

    let rule = &template["Rules"]["ProdHasAlarmAddress"];
    assert!(serde_yaml::to_string(rule).unwrap().contains("AlarmEmail"), "prod needs an alarm address");

    // With a domain of its own every address is known at the first deploy: the certificate's
    // links and the SAML entity id (PUBLIC_BASE_URL), and the citizen issuer the authorizer checks.
    let resources = &template["Resources"];
    assert_eq!(resources["ApiDomain"]["Condition"].as_str(), Some("HasDomain"));
    assert_eq!(resources["ApiDomainMapping"]["Condition"].as_str(), Some("HasDomain"));
    for function in ["LoginFunction", "CertificateFunction"] {
        let env = serde_yaml::to_string(&resources[function]["Properties"]["Environment"]).unwrap();
        assert!(env.contains("https://${DomainName}"), "{function}'s PUBLIC_BASE_URL derives from DomainName");
    }
    let authorizer = serde_yaml::to_string(&resources["HttpApi"]["Properties"]["Auth"]).unwrap();
    assert!(authorizer.contains("https://${DomainName}/saml"), "the citizen issuer derives from DomainName");

    let routes: Vec<String> = ApiRoute::all(&template)
        .iter()
        .map(|route| format!("{} /{}", route.method, route.segments.join("/")))
        .collect();
    let throttled =
        template["Resources"]["HttpApi"]["Properties"]["RouteSettings"].as_mapping().expect("route settings");
    for (route, settings) in throttled {
        let route = route.as_str().unwrap();
        assert!(routes.iter().any(|r| r == route), "{route} is a route of the template");
        assert!(settings["ThrottlingRateLimit"].as_i64().unwrap() < 100, "{route} is held to less than the default");
    }
    for public in [
        "ANY /saml/{proxy+}",
        "POST /api/v1/precheck",
        "GET /api/v1/verify/{code}",
        "GET /pruefen/{code}",
        "POST /pruefen",
    ] {
        assert!(throttled.contains_key(public), "{public} has a throttle of its own");
    }
}

/// A request whose hand-on was lost in a crash, on the emulator that enforces IAM: the sweep,
/// with SweepFunction's policy, finds it and hands it on; a sweep refused the queue cannot, gives
/// up after its hand-ons and marks it failed, and an operator's retry (RecoveryFunction's
/// policy) brings it to its certificate.
#[test]
fn lost_hand_ons_are_swept_and_failed_requests_retried_with_their_functions_policies() {
    let application = ida_in_cuxhaven();
    for without in [&[][..], &["SweepFunction=sqs:SendMessage*"][..]] {
        let dir = tempfile::tempdir().unwrap();
        let env = emulator::fresh_resources_enforcing_iam(without);
        let mut variables: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        variables.push(("BACKEND", "aws"));
        let mut crashing =
            Runtime::start_with(dir.path(), &[&variables[..], &[("CRASH_ON_SEND", "submitted")]].concat());
        subscribe_offices(&crashing);
        let mother = crashing.login("mother");
        let answer = crashing.try_send_with_headers("POST", "/api/v1/requests", Some(&mother), &application, &[]);
        let answer = answer.map(|answer| (answer.status, answer.body));
        assert!(crashing.wait_for_exit(Duration::from_secs(20)), "no crash as it handed the request on: {answer:?}");

        let swept = [("HANDON_DEADLINE_SECONDS", "1"), ("SWEEP_EVERY_SECONDS", "1"), ("HANDON_GIVE_UP_SECONDS", "6")];
        let runtime = Runtime::start_with(dir.path(), &[&variables[..], &swept].concat());
        let listed = runtime.get("/api/v1/requests", Some(&mother));
        let id = listed.body[0]["id"].as_str().unwrap_or_else(|| panic!("stored: {}", listed.body)).to_owned();
        if without.is_empty() {
            runtime.wait_for_status(&id, &mother, "issued", Duration::from_secs(60));
            continue;
        }
        runtime.wait_for_status(&id, &mother, "failed", Duration::from_secs(60));
        let retried = runtime.send(
            "POST",
            &format!("/api/v1/operators/requests/{id}/retry"),
            Some(&runtime.login("admin")),
            None,
        );
        assert_eq!((retried.status, retried.body["status"].as_str()), (200, Some("submitted")), "{}", retried.body);
        runtime.wait_for_status(&id, &mother, "issued", Duration::from_secs(60));
    }
}
