use serde_json::json;
use shared::records;
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

async fn submitted_for(app: &TestApp, child: &str) -> String {
    let body = json!({
        "applicant": {"role": "mother"},
        "mother": {"given_names": "Sophia", "family_name": "Beispiel", "birth_date": "1994-05-02", "birth_place": "Bremen",
                   "address": {"street": "Am Markt", "house_number": "1", "postcode": "28195", "city": "Bremen"}},
        "child": {"given_names": child, "family_name": "Beispiel", "birth_date": "2021-03-14", "birth_place": "Bremen", "born_abroad": false},
        "delivery": "download"
    });
    let (status, created) = app.call("POST", "/api/v1/requests", Some(&app.mother()), Some(body)).await;
    assert_eq!(status, 202, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// `GET /api/v1/requests` with `token`: the status, the body and the `Link` header's address.
async fn list(app: &TestApp, uri: &str, token: &str) -> (u16, serde_json::Value, Option<String>) {
    let authorization = format!("Bearer {token}");
    let response = app.page_send("GET", uri, &[("authorization", &authorization)], None).await;
    let link = response.headers.get("link").map(|link| {
        let link = link.to_str().unwrap();
        assert!(link.ends_with(">; rel=\"next\""), "{link}");
        link.trim_start_matches('<').split('>').next().unwrap().to_owned()
    });
    (response.status.as_u16(), serde_json::from_str(&response.html).unwrap(), link)
}

#[tokio::test]
async fn her_requests_are_listed_newest_first_a_page_at_a_time_and_hers_only() {
    let app = TestApp::new(status::router().merge(submit::router())).await;
    let mut ids = Vec::new();
    for child in ["Mia", "Lena", "Paul"] {
        ids.push(submitted_for(&app, child).await);
        app.clock.advance(time::Duration::minutes(1));
    }
    let (status, page, next) = list(&app, "/api/v1/requests?limit=2", &app.mother()).await;
    assert_eq!(status, 200, "{page}");
    let listed: Vec<&str> = page.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [ids[2].as_str(), ids[1].as_str()], "newest first");
    assert_eq!(page[0]["child_given_names"], "Paul");
    assert_eq!(page[0]["status"], "submitted");
    assert_eq!(page[0]["status_text"], "Antrag eingegangen");
    assert_eq!(page[0]["office_name"], "Jugendamt Bremen");
    assert_eq!(page[0]["page"], format!("/antraege/{}", ids[2]));
    let next = next.expect("a link to the rest");
    let (_, rest, after) = list(&app, &next, &app.mother()).await;
    assert_eq!(rest.as_array().unwrap().len(), 1);
    assert_eq!(rest[0]["id"], ids[0].as_str());
    assert_eq!(after, None, "the last page links nowhere");

    let (status, theirs, link) = list(&app, "/api/v1/requests", &app.other_mother()).await;
    assert_eq!((status, theirs, link), (200, json!([]), None), "another mother sees none of hers");
    let (_, from_her_cursor, _) = list(&app, &next, &app.other_mother()).await;
    assert_eq!(from_her_cursor, json!([]), "her cursor shows another mother nothing");

    for (query, field) in [("limit=0", "limit"), ("limit=101", "limit"), ("cursor=%25%25", "cursor")] {
        let (status, error, _) = list(&app, &format!("/api/v1/requests?{query}"), &app.mother()).await;
        assert_eq!(status, 422, "{query}: {error}");
        assert!(error.to_string().contains(field), "{query}: {error}");
    }
    assert_eq!(app.call("GET", "/api/v1/requests", None, None).await.0, 401);
}

#[tokio::test]
async fn she_changes_her_address_or_switches_her_mails_off_on_her_own_request_only() {
    let app = TestApp::new(status::router().merge(submit::router())).await;
    let id = submitted(&app).await;
    let path = format!("/api/v1/requests/{id}/contact");
    let address = json!({"email": "sophia.neu@example.org"});

    let (foreign, _) = app.call("PUT", &path, Some(&app.other_mother()), Some(address.clone())).await;
    let (missing, _) =
        app.call("PUT", "/api/v1/requests/nope/contact", Some(&app.mother()), Some(address.clone())).await;
    let (signed_out, _) = app.call("PUT", &path, None, Some(address.clone())).await;
    assert_eq!((foreign.as_u16(), missing.as_u16(), signed_out.as_u16()), (404, 404, 401));
    for (body, field) in [
        (json!({"email": "sophia.example.org"}), "email"),
        (json!({"email": "sophia@example.org\r\nBcc: all@example.org"}), "email"),
        (json!({"email": "sophia.neu@example.org", "notifications": "no"}), "notifications"),
    ] {
        let (status, refused) = app.call("PUT", &path, Some(&app.mother()), Some(body.clone())).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(refused["error"]["fields"].as_object().unwrap().keys().collect::<Vec<_>>(), [field], "{refused}");
    }
    let before = records::request(&*app.services.store, &id).await.unwrap().unwrap().value;
    assert_eq!(before.application.contact.email, None, "nothing refused is kept");

    let (status, contact) = app.call("PUT", &path, Some(&app.mother()), Some(address)).await;
    assert_eq!(
        (status.as_u16(), &contact["email"], &contact["notifications"]),
        (200, &json!("sophia.neu@example.org"), &json!(true))
    );
    let off = json!({"email": "sophia.neu@example.org", "notifications": false});
    let (status, contact) = app.call("PUT", &path, Some(&app.mother()), Some(off)).await;
    assert_eq!((status.as_u16(), &contact["notifications"]), (200, &json!(false)));
    let stored = records::request(&*app.services.store, &id).await.unwrap().unwrap().value;
    assert_eq!(stored.application.contact.mail_to(), None, "no mail goes out now");
    assert_eq!(stored.application.contact.email.as_ref().map(|e| e.as_str()), Some("sophia.neu@example.org"));
    assert_eq!(
        (&stored.application.mother, &stored.application.child, stored.status),
        (&before.application.mother, &before.application.child, before.status),
        "nothing else changed"
    );
}
