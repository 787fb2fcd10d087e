use serde_json::json;
use shared::testing::TestApp;

async fn submitted(app: &TestApp) -> String {
    let body = json!({
        "applicant": {"role": "mother"},
        "mother": {"given_names": "Sophia", "family_name": "Beispiel", "birth_date": "1994-05-02", "birth_place": "Bremen",
                   "address": {"street": "Am Markt", "house_number": "1", "postcode": "28195", "city": "Bremen"}},
        "child": {"given_names": "Mia", "family_name": "Beispiel", "birth_date": "2021-03-14", "birth_place": "Bremen", "born_abroad": false},
        "delivery": "download"
    });
    let (_, created) = app.call("POST", "/api/v1/requests", Some(&app.mother()), Some(body)).await;
    created["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_owner_sees_status_office_and_timeline() {
    let app = TestApp::new(status::router().merge(submit::router())).await;
    let id = submitted(&app).await;
    let (status, body) = app.call("GET", &format!("/api/v1/requests/{id}"), Some(&app.mother()), None).await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], id);
    assert_eq!(body["status"], "submitted");
    assert_eq!(body["status_text"], "Antrag eingegangen");
    assert_eq!(body["office"]["id"], "jugendamt-bremen");
    assert_eq!(body["timeline"][0]["status"], "submitted");
    assert!(body["timeline"][0]["at"].as_str().unwrap().contains('T'));
}

#[tokio::test]
async fn another_mother_gets_404_as_if_it_did_not_exist() {
    let app = TestApp::new(status::router().merge(submit::router())).await;
    let id = submitted(&app).await;
    let (foreign, _) = app.call("GET", &format!("/api/v1/requests/{id}"), Some(&app.other_mother()), None).await;
    let (missing, _) = app.call("GET", "/api/v1/requests/does-not-exist", Some(&app.other_mother()), None).await;
    assert_eq!((foreign.as_u16(), missing.as_u16()), (404, 404));
    assert_eq!(app.call("GET", &format!("/api/v1/requests/{id}"), None, None).await.0, 401);
}
