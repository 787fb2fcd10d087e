use serde_json::{Value, json};
use shared::testing::TestApp;

fn verden() -> Value {
    json!({
        "id": "jugendamt-verden", "name": "Jugendamt Landkreis Verden",
        "address": {"street": "Lindhooper Straße", "house_number": "67", "postcode": "27283", "city": "Verden (Aller)"},
        "phone": "+49 4231 15-0", "email": "jugendamt@landkreis-verden.example",
        "postcodes": ["27283", "27299"], "municipalities": ["Verden (Aller)", "Achim"],
        "connected": true, "auto_issue": false, "retention_days": 400
    })
}

#[tokio::test]
async fn an_operator_adds_a_tenant_and_routing_uses_it_at_once() {
    let app = TestApp::new(tenants::router().merge(precheck::router())).await;
    let (status, created) = app.call("POST", "/api/v1/tenants", Some(&app.admin()), Some(verden())).await;
    assert_eq!(status, 201, "{created}");
    let (_, offices) = app.call("GET", "/api/v1/offices?postcode=27299", None, None).await;
    assert_eq!(offices[0]["id"], "jugendamt-verden");
    let (status, _) = app.call("POST", "/api/v1/tenants", Some(&app.admin()), Some(verden())).await;
    assert_eq!(status, 409, "creating twice is refused");
}

#[tokio::test]
async fn an_operator_changes_a_tenant() {
    let app = TestApp::new(tenants::router().merge(precheck::router())).await;
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
    let app = TestApp::new(tenants::router()).await;
    let mut body = verden();
    body["email"] = json!("no-at-sign");
    body["postcodes"] = json!(["123"]);
    body.as_object_mut().unwrap().remove("retention_days");
    let (status, answer) = app.call("POST", "/api/v1/tenants", Some(&app.admin()), Some(body)).await;
    assert_eq!(status, 422);
    let fields = answer["error"]["fields"].as_object().unwrap();
    assert_eq!(fields.keys().collect::<Vec<_>>(), ["email", "postcodes", "retention_days"]);
}

#[tokio::test]
async fn overlapping_areas_are_refused_with_the_office_they_belong_to() {
    let app = TestApp::new(tenants::router()).await;
    let mut body = verden();
    body["postcodes"] = json!(["27283", "28195"]);
    let (status, answer) = app.call("POST", "/api/v1/tenants", Some(&app.admin()), Some(body)).await;
    assert_eq!(status, 422);
    assert_eq!(answer["error"]["code"], "area_overlap");
    assert_eq!(answer["error"]["details"][0]["office_id"], "jugendamt-bremen");
    assert_eq!(answer["error"]["details"][0]["postcodes"], json!(["28195"]));
}

#[tokio::test]
async fn only_operators_manage_tenants() {
    let app = TestApp::new(tenants::router()).await;
    assert_eq!(app.call("POST", "/api/v1/tenants", Some(&app.staff("jugendamt-bremen")), Some(verden())).await.0, 403);
    assert_eq!(app.call("POST", "/api/v1/tenants", Some(&app.mother()), Some(verden())).await.0, 403);
    assert_eq!(app.call("POST", "/api/v1/tenants", None, Some(verden())).await.0, 401);
}
