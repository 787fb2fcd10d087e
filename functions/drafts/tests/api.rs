use serde_json::json;
use shared::ports::Clock;
use shared::testing::TestApp;
use time::{Duration, OffsetDateTime, format_description::well_known::Rfc3339};

fn expires_at(body: &serde_json::Value) -> OffsetDateTime {
    OffsetDateTime::parse(body["expires_at"].as_str().unwrap(), &Rfc3339).unwrap()
}

#[tokio::test]
async fn a_draft_is_saved_read_and_kept_30_days_after_the_last_save() {
    let app = TestApp::new(drafts::router()).await;
    let mother = app.mother();
    let (status, saved) =
        app.call("PUT", "/api/v1/drafts/d-1", Some(&mother), Some(json!({"child": {"given_names": "Mia"}}))).await;
    assert_eq!(status, 200);
    assert_eq!(expires_at(&saved) - app.clock.now(), Duration::days(30));

    let (status, read) = app.call("GET", "/api/v1/drafts/d-1", Some(&mother), None).await;
    assert_eq!(status, 200);
    assert_eq!(read["data"]["child"]["given_names"], "Mia");

    app.clock.advance(Duration::days(10));
    let (_, updated) =
        app.call("PUT", "/api/v1/drafts/d-1", Some(&mother), Some(json!({"child": {"given_names": "Mia Lou"}}))).await;
    assert_eq!(expires_at(&updated), expires_at(&saved) + Duration::days(10), "saving again moves the expiry");
    let (_, read) = app.call("GET", "/api/v1/drafts/d-1", Some(&mother), None).await;
    assert_eq!(read["data"]["child"]["given_names"], "Mia Lou");
}

#[tokio::test]
async fn an_expired_draft_is_invisible_and_then_purged() {
    let app = TestApp::new(drafts::router()).await;
    let mother = app.mother();
    app.call("PUT", "/api/v1/drafts/d-1", Some(&mother), Some(json!({"delivery": "post"}))).await;

    app.clock.advance(Duration::days(30) - Duration::seconds(1));
    assert_eq!(app.call("GET", "/api/v1/drafts/d-1", Some(&mother), None).await.0, 200, "still there on day 30");

    app.clock.advance(Duration::seconds(2));
    assert_eq!(app.call("GET", "/api/v1/drafts/d-1", Some(&mother), None).await.0, 404);
    let purge = || app.services.store.purge_expired(None, 1000);
    assert_eq!(purge().await.unwrap().items, 1, "the expired draft is deleted for good");
    assert_eq!(purge().await.unwrap().items, 0);
}

#[tokio::test]
async fn another_mother_cannot_see_or_delete_the_draft() {
    let app = TestApp::new(drafts::router()).await;
    app.call("PUT", "/api/v1/drafts/d-1", Some(&app.mother()), Some(json!({"secret": "Mia"}))).await;
    let other = app.other_mother();
    assert_eq!(app.call("GET", "/api/v1/drafts/d-1", Some(&other), None).await.0, 404);
    assert_eq!(app.call("DELETE", "/api/v1/drafts/d-1", Some(&other), None).await.0, 404);
    let (status, read) = app.call("GET", "/api/v1/drafts/d-1", Some(&app.mother()), None).await;
    assert_eq!((status.as_u16(), read["data"]["secret"].as_str()), (200, Some("Mia")), "still there for its owner");
}

#[tokio::test]
async fn drafts_need_a_citizen_login() {
    let app = TestApp::new(drafts::router()).await;
    let (status, body) = app.call("GET", "/api/v1/drafts/d-1", None, None).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(app.call("GET", "/api/v1/drafts/d-1", Some("not-a-token"), None).await.0, 401);
    assert_eq!(app.call("GET", "/api/v1/drafts/d-1", Some(&app.staff("jugendamt-bremen")), None).await.0, 403);
}

#[tokio::test]
async fn deleting_a_draft_removes_it() {
    let app = TestApp::new(drafts::router()).await;
    let mother = app.mother();
    app.call("PUT", "/api/v1/drafts/d-1", Some(&mother), Some(json!({}))).await;
    assert_eq!(app.call("DELETE", "/api/v1/drafts/d-1", Some(&mother), None).await.0, 204);
    assert_eq!(app.call("GET", "/api/v1/drafts/d-1", Some(&mother), None).await.0, 404);
    assert_eq!(app.call("DELETE", "/api/v1/drafts/d-1", Some(&mother), None).await.0, 404);
}

#[tokio::test]
async fn bad_ids_and_bodies_are_422() {
    let app = TestApp::new(drafts::router()).await;
    let mother = app.mother();
    let (status, body) = app.call("PUT", "/api/v1/drafts/a%20b", Some(&mother), Some(json!({}))).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["id"].is_string());
    let (status, body) =
        app.call("PUT", "/api/v1/drafts/d-1", Some(&mother), Some(json!(["not", "an", "object"]))).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["draft"].is_string());
}
