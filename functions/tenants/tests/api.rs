use serde_json::{Value, json};
use shared::domain::office::ProviderAddresses;
use shared::services::Services;
use shared::testing::TestApp;

/// The tenants' routes, with client secrets kept as files of a folder of their own.
fn tenants() -> axum::Router<Services> {
    tenants::router(tenants::TenantSettings::in_folder(
        tempfile::tempdir().unwrap().keep(),
        ProviderAddresses::HttpsOnly,
    ))
}

fn verden() -> Value {
    json!({
        "id": "jugendamt-verden", "name": "Jugendamt Landkreis Verden",
        "address": {"street": "Lindhooper Straße", "house_number": "67", "postcode": "27283", "city": "Verden (Aller)"},
        "phone": "+49 4231 15-0", "email": "jugendamt@landkreis-verden.example",
        "municipalities": [{"ags": "03361012", "name": "Verden (Aller), Stadt"}, "Achim"],
        "connected": true, "auto_issue": false, "retention_days": 400
    })
}

#[tokio::test]
async fn an_operator_adds_a_tenant_and_routing_uses_it_at_once() {
    let app = TestApp::new(tenants().merge(precheck::router())).await;
    let (status, created) = app.call("POST", "/api/v1/tenants", Some(&app.admin()), Some(verden())).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["municipalities"][1],
        json!({"ags": "03361001", "name": "Achim, Stadt"}),
        "a unique name is keyed"
    );
    // 28832 is Achim's: routing follows the municipalities, by key.
    let (_, offices) = app.call("GET", "/api/v1/offices?postcode=28832", None, None).await;
    assert_eq!(offices[0]["id"], "jugendamt-verden");
    assert_eq!(offices[0]["municipalities"][0]["ags"], "03361001");
    let (status, _) = app.call("POST", "/api/v1/tenants", Some(&app.admin()), Some(verden())).await;
    assert_eq!(status, 409, "creating twice is refused");
}

#[tokio::test]
async fn an_operator_changes_a_tenant() {
    let app = TestApp::new(tenants().merge(precheck::router())).await;
    app.call("POST", "/api/v1/tenants", Some(&app.admin()), Some(verden())).await;
    let mut changed = verden();
    changed["connected"] = json!(false);
    let (status, _) =
        app.call("PUT", "/api/v1/tenants/jugendamt-verden", Some(&app.admin()), Some(changed.clone())).await;
    assert_eq!(status, 200);
    let (_, offices) = app.call("GET", "/api/v1/offices?postcode=27283", None, None).await;
    assert_eq!(offices[0]["connected"], false);
    let (status, _) = app.call("PUT", "/api/v1/tenants/another-id", Some(&app.admin()), Some(changed)).await;
    assert_eq!(status, 422, "path and body must name the same tenant");
}

#[tokio::test]
async fn invalid_tenants_are_422_with_field_errors() {
    let app = TestApp::new(tenants().merge(precheck::router())).await;
    let mut body = verden();
    body["email"] = json!("no-at-sign");
    body["postcodes"] = json!(["123"]);
    body["municipalities"] = json!(["Neustadt", {"ags": "0336101"}, {"ags": "99999999"}]);
    body.as_object_mut().unwrap().remove("retention_days");
    let (status, answer) = app.call("POST", "/api/v1/tenants", Some(&app.admin()), Some(body)).await;
    assert_eq!(status, 422);
    let fields = answer["error"]["fields"].as_object().unwrap();
    assert_eq!(
        fields.keys().collect::<Vec<_>>(),
        ["email", "municipalities.0", "municipalities.1", "municipalities.2", "postcodes", "retention_days"]
    );
    assert!(fields["municipalities.0"].as_str().unwrap().contains("mehrmals"), "a repeated name asks for the key");
    let (_, offices) = app.call("GET", "/api/v1/offices", None, None).await;
    assert!(offices.as_array().unwrap().iter().all(|o| o["id"] != "jugendamt-verden"), "nothing stored");
}

#[tokio::test]
async fn overlapping_areas_are_refused_with_the_office_they_belong_to() {
    let app = TestApp::new(tenants()).await;
    let mut body = verden();
    body["municipalities"] = json!([{"ags": "03361012"}, {"ags": "04011000", "name": "Bremen"}]);
    let (status, answer) = app.call("POST", "/api/v1/tenants", Some(&app.admin()), Some(body)).await;
    assert_eq!(status, 422);
    assert_eq!(answer["error"]["code"], "area_overlap");
    assert_eq!(answer["error"]["details"][0]["office_id"], "jugendamt-bremen");
    assert_eq!(answer["error"]["details"][0]["municipalities"][0]["ags"], "04011000");
}

#[tokio::test]
async fn two_offices_of_towns_with_the_same_name_both_join() {
    let app = TestApp::new(tenants().merge(precheck::router())).await;
    let neustadt = |id: &str, ags: &str, postcode: &str| {
        let mut body = verden();
        body["id"] = json!(id);
        body["address"]["postcode"] = json!(postcode);
        body["municipalities"] = json!([{"ags": ags, "name": "Neustadt"}]);
        body
    };
    let holstein = neustadt("jugendamt-ostholstein", "01055032", "23730");
    let ruebenberge = neustadt("jugendamt-region-hannover", "03241012", "31535");
    assert_eq!(app.call("POST", "/api/v1/tenants", Some(&app.admin()), Some(holstein)).await.0, 201);
    assert_eq!(app.call("POST", "/api/v1/tenants", Some(&app.admin()), Some(ruebenberge)).await.0, 201);
    let (_, offices) = app.call("GET", "/api/v1/offices?postcode=31535", None, None).await;
    assert_eq!(offices[0]["id"], "jugendamt-region-hannover");
}

#[tokio::test]
async fn only_operators_manage_tenants() {
    let app = TestApp::new(tenants()).await;
    assert_eq!(app.call("POST", "/api/v1/tenants", Some(&app.staff("jugendamt-bremen")), Some(verden())).await.0, 403);
    assert_eq!(app.call("POST", "/api/v1/tenants", Some(&app.mother()), Some(verden())).await.0, 403);
    assert_eq!(app.call("POST", "/api/v1/tenants", None, Some(verden())).await.0, 401);
}

#[tokio::test]
async fn an_offices_provider_secret_goes_to_the_secret_store_not_the_record() {
    let folder = tempfile::tempdir().unwrap();
    let settings = tenants::TenantSettings::in_folder(folder.path().into(), ProviderAddresses::HttpsOnly);
    let app = TestApp::new(tenants::router(settings.clone())).await;
    let mut body = verden();
    body["staff_identity_provider"] = json!({"issuer": "https://login.landkreis-verden.example", "client_id": "sorgeregister", "client_secret": "geheim-123"});
    let (status, created) = app.call("POST", "/api/v1/tenants", Some(&app.admin()), Some(body.clone())).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["staff_identity_provider"]["confidential"], true);
    assert!(!created.to_string().contains("geheim-123"), "the answer holds no secret: {created}");
    let stored = shared::records::offices(&*app.services.store).await.unwrap();
    assert!(!serde_json::to_string(&stored).unwrap().contains("geheim-123"), "nor does the record");
    let kept = settings.secrets.get("office-idp-client-secret-jugendamt-verden").await.unwrap();
    assert_eq!(kept.as_deref(), Some(&b"geheim-123"[..]));

    // Plain http is no provider address outside local mode.
    body["id"] = json!("jugendamt-verden");
    body["staff_identity_provider"]["issuer"] = json!("http://login.landkreis-verden.example");
    let (status, refused) = app.call("PUT", "/api/v1/tenants/jugendamt-verden", Some(&app.admin()), Some(body)).await;
    assert_eq!(status, 422);
    assert!(refused["error"]["fields"]["staff_identity_provider.issuer"].is_string(), "{refused}");
}
