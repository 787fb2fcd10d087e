use serde_json::{Value, json};
use shared::testing::TestApp;

fn answers(overrides: Value) -> Value {
    let mut body = json!({
        "applicant": "mother", "child_under_18": true, "mother_adult": true, "married_to_father": "no",
        "sorgeerklaerung": "no", "court_decision": "no", "foreign_joint_custody": "no",
        "residence_postcode": "28195", "child_born_abroad": false
    });
    for (key, value) in overrides.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

#[tokio::test]
async fn an_eligible_mother_learns_her_office() {
    let app = TestApp::new(precheck::router()).await;
    let (status, body) = app.call("POST", "/api/v1/precheck", None, Some(answers(json!({})))).await;
    assert_eq!(status, 200);
    assert_eq!(body["eligible"], true);
    assert_eq!(body["reasons"], json!([]));
    assert_eq!(body["office"]["id"], "jugendamt-bremen");
    assert_eq!(body["office"]["email"], "jugendamt-bremen@example.org");
}

#[tokio::test]
async fn a_blocking_answer_gives_the_reason_in_words_and_the_office_to_contact() {
    let app = TestApp::new(precheck::router()).await;
    let (status, body) =
        app.call("POST", "/api/v1/precheck", None, Some(answers(json!({"sorgeerklaerung": "yes"})))).await;
    assert_eq!(status, 200);
    assert_eq!(body["eligible"], false);
    assert_eq!(body["reasons"][0]["code"], "sorgeerklaerung");
    assert!(body["reasons"][0]["message"].as_str().unwrap().contains("Sorgeerklärungen"));
    assert_eq!(body["office"]["phone"], "+49 000 000");
}

#[tokio::test]
async fn an_office_not_on_the_service_is_named_with_its_contact_data() {
    let app = TestApp::new(precheck::router()).await;
    let (_, body) =
        app.call("POST", "/api/v1/precheck", None, Some(answers(json!({"residence_postcode": "20095"})))).await;
    assert_eq!(body["eligible"], false);
    assert_eq!(body["reasons"][0]["code"], "office_not_connected");
    assert_eq!(body["office"]["id"], "jugendamt-hamburg");
    assert_eq!(body["office"]["connected"], false);
}

#[tokio::test]
async fn reasons_speak_the_callers_language() {
    let app = TestApp::new(precheck::router()).await;
    let (_, body) =
        app.call("POST", "/api/v1/precheck?lang=en", None, Some(answers(json!({"applicant": "other"})))).await;
    assert!(body["reasons"][0]["message"].as_str().unwrap().starts_with("Only the mother"));
    let (_, body) =
        app.call("POST", "/api/v1/precheck?lang=ls", None, Some(answers(json!({"applicant": "other"})))).await;
    assert!(body["reasons"][0]["message"].as_str().unwrap().starts_with("Nur die Mutter darf"));
}

#[tokio::test]
async fn invalid_answers_are_422_naming_each_field() {
    let app = TestApp::new(precheck::router()).await;
    let body = answers(json!({"applicant": "father", "residence_postcode": "123", "child_under_18": "ja"}));
    let (status, body) = app.call("POST", "/api/v1/precheck", None, Some(body)).await;
    assert_eq!(status, 422);
    let fields = body["error"]["fields"].as_object().unwrap();
    assert_eq!(fields.keys().collect::<Vec<_>>(), ["applicant", "child_under_18", "residence_postcode"]);
}

#[tokio::test]
async fn malformed_bodies_are_the_callers_fault() {
    let app = TestApp::new(precheck::router()).await;
    let (status, body) =
        app.call_with_headers("POST", "/api/v1/precheck", None, None, &[("content-type", "application/json")]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_json");
    let (status, _) =
        app.call_with_headers("POST", "/api/v1/precheck", None, None, &[("content-type", "text/plain")]).await;
    assert_eq!(status, 415);
    let oversized = json!({"padding": "a".repeat(200 * 1024)});
    let (status, body) = app.call("POST", "/api/v1/precheck", None, Some(oversized)).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn offices_are_listed_by_postcode() {
    let app = TestApp::new(precheck::router()).await;
    let (status, body) = app.call("GET", "/api/v1/offices?postcode=28195", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), 1);
    assert_eq!(body[0]["id"], "jugendamt-bremen");
    assert_eq!(body[0]["connected"], true);
    let (_, all) = app.call("GET", "/api/v1/offices", None, None).await;
    assert_eq!(all.as_array().unwrap().len(), 3);
    let (status, body) = app.call("GET", "/api/v1/offices?postcode=abc", None, None).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["postcode"].is_string());
}

#[tokio::test]
async fn a_postcode_nobody_knows_is_a_field_error() {
    let app = TestApp::new(precheck::router()).await;
    let (status, body) =
        app.call("POST", "/api/v1/precheck", None, Some(answers(json!({"residence_postcode": "99999"})))).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["residence_postcode"].is_string());
}

#[tokio::test]
async fn a_postcode_across_two_offices_asks_for_her_municipality() {
    use shared::testing::office;
    let app = TestApp::new(precheck::router()).await;
    app.put_office(&office("jugendamt-harz", "38820", "Harz", &["15085110"])).await;
    app.put_office(&office("jugendamt-msh", "06526", "Mansfeld-Südharz", &["15087220"])).await;
    let (status, body) =
        app.call("POST", "/api/v1/precheck", None, Some(answers(json!({"residence_postcode": "06333"})))).await;
    assert_eq!(status, 422, "{body}");
    let choices = body["error"]["details"]["choices"]["residence_municipality"].as_array().unwrap();
    assert_eq!(choices[0]["label"], "Falkenstein/Harz, Stadt — Harz, Sachsen-Anhalt");
    let chosen = answers(json!({"residence_postcode": "06333", "residence_municipality": "15085110"}));
    let (status, body) = app.call("POST", "/api/v1/precheck", None, Some(chosen)).await;
    assert_eq!(status, 200);
    assert_eq!(body["office"]["id"], "jugendamt-harz");
    let (_, offices) = app.call("GET", "/api/v1/offices?postcode=06333", None, None).await;
    assert_eq!(offices.as_array().unwrap().len(), 2, "each office with the municipality it serves there");
}
