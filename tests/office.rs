//! The office side: decisions, messages, audit trail and the register, each confined to the
//! staff member's own office.

use serde_json::{Value, json};
use shared::domain::request::Status;
use shared::ports::{Clock, Condition, Item, Key, Write};
use system_tests::chain::Chain;
use system_tests::{pdftotext, pdftotext_in};

/// A request that the register step sent to the Bremen office for review (username/password login).
async fn in_review(chain: &Chain, changes: &[(&str, Value)]) -> String {
    let basic = chain.app.citizen("sophia", "Sophia", "Beispiel", "1994-05-02", "STORK-QAA-Level-1");
    let id = chain.submit(&basic, changes).await;
    chain.run(false).await;
    assert_eq!(chain.request(&id).await.status, Status::InReview);
    id
}

async fn decide(chain: &Chain, id: &str, token: &str, body: Value) -> (u16, Value) {
    let (status, answer) =
        chain.app.call("POST", &format!("/api/v1/staff/requests/{id}/decision"), Some(token), Some(body)).await;
    (status.as_u16(), answer)
}

#[tokio::test]
async fn a_case_worker_issues_the_certificate_through_the_certificate_step() {
    let chain = Chain::new().await;
    let id = in_review(&chain, &[]).await;
    let staff = chain.app.staff("jugendamt-bremen");
    assert_eq!(decide(&chain, &id, &staff, json!({"outcome": "issue"})).await.0, 200);
    chain.run(false).await;
    let request = chain.request(&id).await;
    assert_eq!(request.status, Status::Issued);
    assert_eq!(request.approval.unwrap().by, "staff-jugendamt-bremen");
    let pdf = chain.app.services.documents.get(&request.certificate.unwrap().document).await.unwrap().unwrap();
    assert!(pdftotext(&pdf).contains("Mia"));
    assert_eq!(
        decide(&chain, &id, &staff, json!({"outcome": "reject", "reason": "zu spät"})).await.0,
        409,
        "decided requests stay decided"
    );
}

#[tokio::test]
async fn a_partial_certificate_names_the_parts_with_entries() {
    let chain = Chain::new().await;
    let id = in_review(&chain, &[]).await;
    let staff = chain.app.staff("jugendamt-bremen");
    let (status, _) =
        decide(&chain, &id, &staff, json!({"outcome": "partial", "parts": ["Aufenthaltsbestimmungsrecht"]})).await;
    assert_eq!(status, 200);
    chain.run(false).await;
    let request = chain.request(&id).await;
    assert_eq!(request.status, Status::Issued);
    let pdf = chain.app.services.documents.get(&request.certificate.unwrap().document).await.unwrap().unwrap();
    assert!(pdftotext(&pdf).contains("Aufenthaltsbestimmungsrecht"));
    let (status, answer) = decide(&chain, &id, &staff, json!({"outcome": "partial", "parts": []})).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("invalid_input")));
}

#[tokio::test]
async fn a_rejection_reaches_the_mother_in_plain_words() {
    let chain = Chain::new().await;
    let id = in_review(&chain, &[]).await;
    let staff = chain.app.staff("jugendamt-bremen");
    let reason =
        "Im Sorgeregister ist eine Sorgeerklärung eingetragen. Sie haben gemeinsam mit dem Vater das Sorgerecht.";
    assert_eq!(decide(&chain, &id, &staff, json!({"outcome": "reject", "reason": reason})).await.0, 200);
    let basic = chain.app.citizen("sophia", "Sophia", "Beispiel", "1994-05-02", "STORK-QAA-Level-1");
    let (_, status) = chain.app.call("GET", &format!("/api/v1/requests/{id}"), Some(&basic), None).await;
    assert_eq!(status["status"], "rejected");
    assert_eq!(status["rejection_reason"], reason);
    assert_eq!(decide(&chain, &id, &staff, json!({"outcome": "issue"})).await.0, 409);
}

/// DIN 5008 form B: the window of the envelope, 85 × 45 mm at 20 mm from the left, 45 mm from the top.
const ADDRESS_FIELD: (f64, f64, f64, f64) = (20.0, 45.0, 85.0, 45.0);

async fn letter(chain: &Chain, id: &str, token: &str) -> (u16, Vec<u8>) {
    let (status, pdf) = chain.app.get_bytes(&format!("/api/v1/staff/requests/{id}/letter.pdf"), token).await;
    (status.as_u16(), pdf)
}

#[tokio::test]
async fn a_letter_carries_the_certificate_by_post_and_the_request_is_marked_posted() {
    let chain = Chain::new().await;
    let id = in_review(&chain, &[("/delivery", json!("post"))]).await;
    let staff = chain.app.staff("jugendamt-bremen");
    assert_eq!(decide(&chain, &id, &staff, json!({"outcome": "posted"})).await.0, 409, "nothing to post yet");
    assert_eq!(letter(&chain, &id, &staff).await.0, 409, "no letter before the certificate");
    decide(&chain, &id, &staff, json!({"outcome": "issue"})).await;
    chain.run(false).await;

    let (status, pdf) = letter(&chain, &id, &staff).await;
    assert_eq!(status, 200);
    let window = pdftotext_in(&pdf, ADDRESS_FIELD);
    for line in ["Sophia Beispiel", "Am Markt 1", "28195 Bremen", "Jugendamt Bremen · Amtsweg 1"] {
        assert!(window.contains(line), "{line:?} in the window: {window}");
    }
    let text = pdftotext(&pdf);
    let pages: Vec<&str> = text.split('\u{c}').filter(|page| !page.trim().is_empty()).collect();
    assert_eq!(pages.len(), 2, "the letter and the certificate");
    assert!(pages[0].contains("Jugendamt Bremen") && pages[0].contains("bremen@example.org"), "letterhead");
    let code = chain.request(&id).await.certificate.unwrap().code;
    assert!(pages[1].contains("Mia Beispiel") && pages[1].contains(&code[..4]), "the issued certificate on page 2");
    assert_eq!(letter(&chain, &id, &chain.app.staff("jugendamt-berlin")).await.0, 404, "another office's");

    assert_eq!(decide(&chain, &id, &staff, json!({"outcome": "posted"})).await.0, 200);
    assert_eq!(chain.request(&id).await.status, Status::Posted);
    assert_eq!(letter(&chain, &id, &staff).await.0, 200, "the letter stays for a second print");
    let (_, audit) = chain.app.call("GET", &format!("/api/v1/staff/requests/{id}/audit"), Some(&staff), None).await;
    let actions =
        audit["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect::<Vec<_>>();
    assert!(actions.contains(&"read:letter.pdf") && actions.contains(&"decision:posted"), "{actions:?}");
}

#[tokio::test]
async fn a_certificate_to_download_has_no_letter() {
    let chain = Chain::new().await;
    let id = chain.submit(&chain.app.mother(), &[]).await;
    chain.run(false).await;
    assert_eq!(chain.request(&id).await.status, Status::Issued);
    assert_eq!(letter(&chain, &id, &chain.app.staff("jugendamt-bremen")).await.0, 409);
}

#[tokio::test]
async fn machine_clients_and_register_keepers_read_but_do_no_case_work() {
    let chain = Chain::new().await;
    let id = in_review(&chain, &[]).await;
    let machine = chain.app.machine("jugendamt-bremen");
    assert_eq!(chain.app.call("GET", &format!("/api/v1/staff/requests/{id}"), Some(&machine), None).await.0, 200);
    assert_eq!(decide(&chain, &id, &machine, json!({"outcome": "issue"})).await.0, 403);
    let message = json!({"text": "Bitte senden Sie die Geburtsurkunde.", "asks_for": "geburtsurkunde"});
    let messages = format!("/api/v1/staff/requests/{id}/messages");
    let register_keeper = chain.app.office_admin("jugendamt-bremen");
    for token in [&machine, &register_keeper] {
        assert_eq!(chain.app.call("POST", &messages, Some(token), Some(message.clone())).await.0, 403, "case work");
    }
    // Their page offers no form the API would refuse; a case worker's does.
    let forms = |page: &str| (page.contains("/entscheidung\""), page.contains("/nachricht\""));
    let page = format!("/amt/antraege/{id}");
    let keeper_page = chain.app.page_get(&page, &shared::testing::staff_session(&register_keeper)).await;
    assert_eq!((keeper_page.status.as_u16(), forms(&keeper_page.text())), (200, (false, false)));
    let case_worker = chain.app.staff("jugendamt-bremen");
    let worker_page = chain.app.page_get(&page, &shared::testing::staff_session(&case_worker)).await;
    assert_eq!((worker_page.status.as_u16(), forms(&worker_page.text())), (200, (true, true)));
}

#[tokio::test]
async fn every_office_endpoint_is_confined_to_the_own_office() {
    let chain = Chain::new().await;
    let id = in_review(&chain, &[]).await;
    let berlin = chain.app.staff("jugendamt-berlin");
    for path in ["", "/xfamilie.xml", "/auskunft.xml", "/antrag.pdf", "/letter.pdf", "/messages", "/audit"] {
        let (status, _) =
            chain.app.call("GET", &format!("/api/v1/staff/requests/{id}{path}"), Some(&berlin), None).await;
        assert_eq!(status, 404, "GET {path}");
    }
    assert_eq!(decide(&chain, &id, &berlin, json!({"outcome": "issue"})).await.0, 404);
    let (status, _) = chain
        .app
        .call("POST", &format!("/api/v1/staff/requests/{id}/messages"), Some(&berlin), Some(json!({"text": "Hallo"})))
        .await;
    assert_eq!(status, 404);
    let (_, inbox) = chain.app.call("GET", "/api/v1/staff/requests?status=in_review", Some(&berlin), None).await;
    assert_eq!(inbox, json!([]), "the Berlin inbox does not show Bremen's request");
    let (_, inbox) = chain
        .app
        .call("GET", "/api/v1/staff/requests?status=in_review", Some(&chain.app.staff("jugendamt-bremen")), None)
        .await;
    assert_eq!(inbox[0]["id"], id.as_str());
    assert_eq!(chain.app.call("GET", "/api/v1/staff/requests?status=lost", Some(&berlin), None).await.0, 422);
}

#[tokio::test]
async fn office_and_mother_exchange_messages() {
    let chain = Chain::new().await;
    let id = in_review(&chain, &[]).await;
    let staff = chain.app.staff("jugendamt-bremen");
    let mother = chain.app.citizen("sophia", "Sophia", "Beispiel", "1994-05-02", "STORK-QAA-Level-1");
    let ask = json!({"text": "Guten Tag,\nbitte senden Sie uns die Geburtsurkunde."});
    assert_eq!(
        chain.app.call("POST", &format!("/api/v1/staff/requests/{id}/messages"), Some(&staff), Some(ask)).await.0,
        201
    );
    let (_, seen) = chain.app.call("GET", &format!("/api/v1/requests/{id}/messages"), Some(&mother), None).await;
    assert_eq!(seen[0]["from"], "office");
    assert!(seen[0]["text"].as_str().unwrap().contains("Geburtsurkunde"));
    chain.app.clock.advance(time::Duration::minutes(5));
    let reply = json!({"text": "Die Urkunde kommt mit der Post."});
    assert_eq!(
        chain.app.call("POST", &format!("/api/v1/requests/{id}/messages"), Some(&mother), Some(reply)).await.0,
        201
    );
    let (_, thread) = chain.app.call("GET", &format!("/api/v1/staff/requests/{id}/messages"), Some(&staff), None).await;
    assert_eq!(
        thread.as_array().unwrap().iter().map(|m| m["from"].as_str().unwrap()).collect::<Vec<_>>(),
        ["office", "citizen"]
    );
    let other = chain.app.other_mother();
    assert_eq!(chain.app.call("GET", &format!("/api/v1/requests/{id}/messages"), Some(&other), None).await.0, 404);
    let (status, _) = chain
        .app
        .call("POST", &format!("/api/v1/requests/{id}/messages"), Some(&mother), Some(json!({"text": "\u{7}"})))
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn the_audit_trail_records_every_step_and_detects_tampering() {
    let chain = Chain::new().await;
    let id = in_review(&chain, &[]).await;
    let staff = chain.app.staff("jugendamt-bremen");
    chain.app.call("GET", &format!("/api/v1/staff/requests/{id}/antrag.pdf"), Some(&staff), None).await;
    decide(&chain, &id, &staff, json!({"outcome": "issue"})).await;
    chain.run(false).await;
    let (_, audit) = chain.app.call("GET", &format!("/api/v1/staff/requests/{id}/audit"), Some(&staff), None).await;
    assert_eq!(audit["intact"], true);
    let actions: Vec<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in ["submitted", "prepared", "register:review", "read:antrag.pdf", "decision:issue", "issued"] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    let text = audit.to_string();
    assert!(!text.contains("Beispiel") && !text.contains("Mia"), "no personal data in the trail");

    // Someone with database access rewrites who decided.
    let mut forged =
        audit["entries"].as_array().unwrap().iter().find(|e| e["action"] == "decision:issue").unwrap().clone();
    let seq = forged["seq"].as_u64().unwrap();
    forged["actor"] = json!("staff-somebody-else");
    let key = Key::new(format!("AUDIT#{id}"), format!("{seq:010}"));
    chain
        .app
        .services
        .store
        .write(vec![Write::Put { item: Item::new(key, forged), condition: Condition::Always }])
        .await
        .unwrap();
    let (_, audit) = chain.app.call("GET", &format!("/api/v1/staff/requests/{id}/audit"), Some(&staff), None).await;
    assert_eq!(audit["intact"], false);
    assert_eq!(audit["broken_at"], seq);
}

/// Whoever can write the table but not read the audit key rewrites who decided and makes every
/// hash of the trail again, and its head: the HMACs, made with the key from the secret store,
/// do not match.
#[tokio::test]
async fn a_trail_recomputed_without_the_key_is_detected() {
    use shared::domain::audit::{AuditEntry, AuditKey};
    let chain = Chain::new().await;
    let id = in_review(&chain, &[]).await;
    let staff = chain.app.staff("jugendamt-bremen");
    decide(&chain, &id, &staff, json!({"outcome": "issue"})).await;
    let uri = format!("/api/v1/staff/requests/{id}/audit");
    let trail = shared::records::audit_trail(&*chain.app.services.store, &id).await.unwrap();
    let guess = AuditKey::new(b"sorgeregister");
    let mut forged: Vec<AuditEntry> = Vec::new();
    for entry in &trail {
        let actor = if entry.action == "decision:issue" { "staff-somebody-else" } else { entry.actor.as_str() };
        forged.push(AuditEntry::after(&guess, forged.last(), entry.at, actor, &entry.action));
    }
    let mut writes: Vec<Write> = forged
        .iter()
        .map(|entry| {
            let key = Key::new(format!("AUDIT#{id}"), format!("{:010}", entry.seq));
            Write::Put { item: Item::new(key, json!(entry)), condition: Condition::Always }
        })
        .collect();
    let head = Item::new(Key::new(format!("AUDITHEAD#{id}"), "HEAD"), json!(forged.last().unwrap()));
    writes.push(Write::Put { item: head, condition: Condition::Always });
    chain.app.services.store.write(writes).await.unwrap();
    assert_eq!(shared::domain::audit::verify(&guess, &forged, forged.last()), Ok(()), "consistent in itself");
    let (_, audit) = chain.app.call("GET", &uri, Some(&staff), None).await;
    assert_eq!((audit["intact"].clone(), audit["broken_at"].clone()), (json!(false), json!(1)), "{audit}");
    let actors: Vec<&str> = audit["entries"].as_array().unwrap().iter().map(|e| e["actor"].as_str().unwrap()).collect();
    assert!(actors.contains(&"staff-somebody-else"), "the forged trail is what is stored: {actors:?}");
}

/// Whoever can write the table cuts the trail off after an entry: the head stored beside the
/// trail names where it ends, so the cut is seen.
#[tokio::test]
async fn a_trail_cut_off_at_its_end_is_detected() {
    let chain = Chain::new().await;
    let id = in_review(&chain, &[]).await;
    let staff = chain.app.staff("jugendamt-bremen");
    let uri = format!("/api/v1/staff/requests/{id}/audit");
    let (_, audit) = chain.app.call("GET", &uri, Some(&staff), None).await;
    assert_eq!(audit["intact"], true, "{audit}");
    let last = audit["entries"].as_array().unwrap().last().unwrap()["seq"].as_u64().unwrap();
    let key = Key::new(format!("AUDIT#{id}"), format!("{last:010}"));
    chain.app.services.store.write(vec![Write::Delete { key, condition: Condition::Always }]).await.unwrap();
    let (_, audit) = chain.app.call("GET", &uri, Some(&staff), None).await;
    assert_eq!((audit["intact"].clone(), audit["broken_at"].clone()), (json!(false), json!(last)), "{audit}");
}

/// A case worker reads the request in a second tab while deciding in the first: the read's
/// audit entry comes between the decision's read and its write, and the decision still holds.
#[tokio::test]
async fn an_audited_read_between_reading_and_deciding_is_no_conflict() {
    let chain = Chain::new().await;
    let id = in_review(&chain, &[]).await;
    let store = &*chain.app.services.store;
    let shared::records::Versioned { value: mut request, version } =
        shared::records::request(store, &id).await.unwrap().unwrap();
    let now = chain.app.services.clock.now();
    let read = chain.app.services.audit("staff-bremen", "read:antrag.pdf", now).await.unwrap();
    shared::records::append_audit(store, &id, read).await.unwrap();
    request.decide(shared::domain::request::Outcome::Issue, "staff-bremen", now).unwrap();
    let decided = chain.app.services.audit("staff-bremen", "decision:issue", now).await.unwrap();
    shared::records::update_request(store, &request, version, decided).await.expect("no conflict with the read");
    let trail = shared::records::audit_trail(store, &id).await.unwrap();
    let actions: Vec<&str> = trail.iter().rev().take(2).map(|entry| entry.action.as_str()).collect();
    assert_eq!(actions, ["decision:issue", "read:antrag.pdf"]);
    let head = shared::records::audit_head(store, &id).await.unwrap();
    assert!(
        shared::domain::audit::verify(chain.app.services.audit_keys.key().await.unwrap(), &trail, head.as_ref())
            .is_ok()
    );
    // A change of the request itself still is one.
    let stale = chain.app.services.audit("staff-bremen", "decision:issue", now).await.unwrap();
    let again = shared::records::update_request(store, &request, version, stale).await;
    assert!(matches!(again, Err(shared::ports::StoreError::ConditionFailed)), "{again:?}");
}

/// An import sent again (its answer lost) stores nothing twice, and a row repeated in the file
/// is one entry: each row's id comes from its content and its office.
#[tokio::test]
async fn an_import_sent_again_reports_its_rows_as_duplicates_and_stores_nothing_twice() {
    let chain = Chain::new().await;
    let staff = chain.app.office_admin("jugendamt-bremen");
    let mut csv = String::from(
        "child_given_names,child_family_name,child_birth_date,child_birth_place,mother_given_names,mother_family_name,kind,parts\n",
    );
    // More rows than one transaction takes, and the first row once more at the end.
    for day in 0..150 {
        let date = time::macros::date!(2019 - 01 - 01) + time::Duration::days(day);
        csv.push_str(&format!("Mia,Muster,{date},Bremen,Eva,Muster,01,\n"));
    }
    csv.push_str("Mia,Muster,2019-01-01,Bremen,Eva,Muster,01,\n");
    let import = async || {
        let uri = "/api/v1/registers/jugendamt-bremen/import";
        let (status, report) =
            chain.app.call_raw("POST", uri, Some(&staff), "text/csv", csv.clone().into_bytes()).await;
        assert_eq!(status, 200, "{report}");
        let count = |key: &str| report[key].as_array().unwrap().len();
        (count("accepted"), count("duplicates"), count("refused"), report)
    };
    let (accepted, duplicates, refused, first) = import().await;
    assert_eq!((accepted, duplicates, refused), (150, 1, 0));
    assert_eq!(first["duplicates"][0]["line"], 152);
    assert_eq!(first["duplicates"][0]["id"], first["accepted"][0]["id"], "the same entry");
    let (accepted, duplicates, _, again) = import().await;
    assert_eq!((accepted, duplicates), (0, 151), "sent again: all stored already");
    assert_eq!(again["duplicates"][0]["id"], first["accepted"][0]["id"]);
    let stored = chain.app.services.store.query("REGISTER#jugendamt-bremen", "").await.unwrap();
    assert_eq!(stored.len(), 150, "each entry once");
}

#[tokio::test]
async fn a_bulk_import_reports_accepted_and_refused_rows() {
    let chain = Chain::new().await;
    let staff = chain.app.office_admin("jugendamt-bremen");
    let csv = "child_given_names,child_family_name,child_birth_date,child_birth_place,mother_given_names,mother_family_name,kind,parts\n\
               Mia,Beispiel,2021-03-14,Bremen,Sophia,Beispiel,01,\n\
               Ben,Yılmaz,2020-13-01,Bremen,Ayşe,Yılmaz,02,\n\
               \"Anna, Lena\",Schulz,2019-07-01,Bremen,Eva,Schulz,05,\n\
               Paul,Meier,2018-02-02,Bremen,Jana,Meier,02,Aufenthaltsbestimmungsrecht;Vermögenssorge\n";
    let (status, report) = chain
        .app
        .call_raw(
            "POST",
            "/api/v1/registers/jugendamt-bremen/import",
            Some(&staff),
            "text/csv",
            csv.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["accepted"].as_array().unwrap().iter().map(|r| r["line"].as_u64().unwrap()).collect::<Vec<_>>(),
        [2, 5]
    );
    assert_eq!(report["refused"][0]["line"], 3);
    assert!(report["refused"][0]["fields"]["child.birth_date"].is_string());
    assert_eq!(report["refused"][1]["line"], 4);
    assert!(report["refused"][1]["fields"]["kind"].is_string());

    let lines = "{\"child\": {\"given_names\": \"Lea\", \"family_name\": \"Kurz\", \"birth_date\": \"2022-01-01\", \"birth_place\": \"Bremen\"}, \"mother\": {\"given_names\": \"Ina\", \"family_name\": \"Kurz\"}, \"kind\": \"01\"}\nnot json\n";
    let (status, report) = chain
        .app
        .call_raw(
            "POST",
            "/api/v1/registers/jugendamt-bremen/import",
            Some(&staff),
            "application/x-ndjson",
            lines.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!((report["accepted"].as_array().unwrap().len(), report["refused"][0]["line"].as_u64()), (1, Some(2)));

    let cuxhaven = chain.app.office_admin("jugendamt-cuxhaven");
    let (status, _) = chain
        .app
        .call_raw(
            "POST",
            "/api/v1/registers/jugendamt-bremen/import",
            Some(&cuxhaven),
            "text/csv",
            csv.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(status, 403, "only the register's own office imports");
}

#[tokio::test]
async fn a_corrected_or_deleted_entry_changes_the_register_check() {
    let chain = Chain::new().await;
    let staff = chain.app.office_admin("jugendamt-bremen");
    let entry = json!({"child": {"given_names": "Mia", "family_name": "Beispiel", "birth_date": "2021-03-14", "birth_place": "Bremen"},
                       "mother": {"given_names": "Sophia", "family_name": "Beispiel"}, "kind": "01"});
    let (_, created) =
        chain.app.call("POST", "/api/v1/registers/jugendamt-bremen/entries", Some(&staff), Some(entry.clone())).await;
    let entry_id = created["id"].as_str().unwrap().to_owned();

    // Corrected to another child's birthday (0805): it no longer blocks Mia.
    let mut corrected = entry.clone();
    corrected["child"]["birth_date"] = json!("2020-01-01");
    let path = format!("/api/v1/registers/jugendamt-bremen/entries/{entry_id}");
    assert_eq!(chain.app.call("PUT", &path, Some(&staff), Some(corrected)).await.0, 200);
    let id = chain.submit(&chain.app.mother(), &[]).await;
    chain.run(false).await;
    assert_eq!(chain.request(&id).await.status, Status::Issued);

    // Deleted (0806): gone for good.
    assert_eq!(chain.app.call("DELETE", &path, Some(&staff), None).await.0, 204);
    assert_eq!(chain.app.call("DELETE", &path, Some(&staff), None).await.0, 404);
    let cuxhaven = chain.app.office_admin("jugendamt-cuxhaven");
    assert_eq!(chain.app.call("PUT", &path, Some(&cuxhaven), Some(entry.clone())).await.0, 403);
    let case_worker = chain.app.staff("jugendamt-bremen");
    assert_eq!(
        chain.app.call("PUT", &path, Some(&case_worker), Some(entry)).await.0,
        403,
        "case workers do not keep the register"
    );
}

#[tokio::test]
async fn retention_deletes_finished_requests_after_the_offices_period_and_keeps_open_ones() {
    let chain = Chain::new().await;
    let issued = chain.submit(&chain.app.mother(), &[]).await;
    chain.run(false).await;
    let open = in_review(&chain, &[("/child/given_names", json!("Lea"))]).await;
    let staff = chain.app.staff("jugendamt-bremen");
    chain
        .app
        .call(
            "POST",
            &format!("/api/v1/staff/requests/{issued}/messages"),
            Some(&staff),
            Some(json!({"text": "Alles gut."})),
        )
        .await;
    let before = chain.request(&issued).await;
    let certificate = before.certificate.clone().unwrap();
    let store = &*chain.app.services.store;
    let told = shared::records::NoticeRecord { news: "received".into(), at: chain.app.clock.now(), delivered: true };
    shared::records::record_notice(store, &issued, "received", &told).await.unwrap();

    chain.app.clock.advance(time::Duration::days(364));
    assert_eq!(
        retention::run(&chain.app.services, &retention::Settings::default()).await.unwrap().requests,
        0,
        "the office keeps requests for 365 days"
    );

    chain.app.clock.advance(time::Duration::days(2));
    let report = retention::run(&chain.app.services, &retention::Settings::default()).await.unwrap();
    assert_eq!((report.requests, report.documents), (1, 4));
    assert!(shared::records::request(&*chain.app.services.store, &issued).await.unwrap().is_none());
    for key in before.document_keys() {
        assert!(chain.app.services.documents.get(key).await.unwrap().is_none(), "{key} deleted");
    }
    assert!(shared::records::messages(&*chain.app.services.store, &issued).await.unwrap().is_empty());
    assert!(shared::records::notices(store, &issued).await.unwrap().is_empty(), "nor what she was told");
    // The certificate still verifies, without the child's name, until the record's time ends.
    let verify = format!("/api/v1/verify/{}?birth_date=2021-03-14", certificate.code);
    let (_, verified) = chain.app.call("GET", &verify, None, None).await;
    assert_eq!((verified["status"].as_str(), verified.get("child_given_names")), (Some("valid"), None), "{verified}");
    let kept = store.get(&shared::records::certificate_key(&certificate.code)).await.unwrap().unwrap();
    assert!(kept.expires_at.is_some_and(|at| at - chain.app.services.clock.now() > time::Duration::days(729)));
    assert!(!kept.body.to_string().contains(issued.as_str()), "nothing leads back to the request");
    let trail = shared::records::audit_trail(&*chain.app.services.store, &issued).await.unwrap();
    assert_eq!(trail.last().unwrap().action, "deleted:retention");
    let head = shared::records::audit_head(&*chain.app.services.store, &issued).await.unwrap();
    assert!(
        shared::domain::audit::verify(chain.app.services.audit_keys.key().await.unwrap(), &trail, head.as_ref())
            .is_ok()
    );
    assert_eq!(chain.request(&open).await.status, Status::InReview, "open requests are never deleted");
}

/// A request with more items than one transaction takes (DynamoDB's 100, which the embedded
/// store enforces too) is deleted all the same, a transaction's worth at a time.
#[tokio::test]
async fn retention_deletes_a_request_with_more_items_than_a_transaction_takes() {
    let chain = Chain::new().await;
    let id = chain.submit(&chain.app.mother(), &[]).await;
    chain.run(false).await;
    let store = &*chain.app.services.store;
    for n in 0..150 {
        let told =
            shared::records::NoticeRecord { news: format!("news-{n}"), at: chain.app.clock.now(), delivered: true };
        shared::records::record_notice(store, &id, &format!("news-{n}"), &told).await.unwrap();
    }
    let everything: Vec<Write> = store
        .query(&shared::records::request_partition(&id), "")
        .await
        .unwrap()
        .into_iter()
        .map(|item| Write::Delete { key: item.key, condition: Condition::Always })
        .collect();
    assert!(store.write(everything).await.is_err(), "one transaction cannot take them all");
    chain.app.clock.advance(time::Duration::days(366));
    let report = retention::run(&chain.app.services, &retention::Settings::default()).await.unwrap();
    assert_eq!(report.requests, 1);
    assert!(shared::records::request(store, &id).await.unwrap().is_none());
    assert!(store.query(&shared::records::request_partition(&id), "").await.unwrap().is_empty(), "nothing left");
}

/// A run that reaches its time budget stops and says so; the next run goes on where it stopped
/// (each does at least one request), until nothing due is left.
#[tokio::test]
async fn retention_stops_at_its_time_budget_and_the_next_run_goes_on() {
    let chain = Chain::new().await;
    let mut ids = Vec::new();
    for given_names in ["Mia", "Lea", "Ida"] {
        ids.push(chain.submit(&chain.app.mother(), &[("/child/given_names", json!(given_names))]).await);
    }
    chain.run(false).await;
    for id in &ids {
        assert_eq!(chain.request(id).await.status, Status::Issued);
    }
    chain.app.clock.advance(time::Duration::days(366));
    let no_time = retention::Settings { time_budget: time::Duration::ZERO, ..retention::Settings::default() };
    let mut runs = Vec::new();
    loop {
        let report = retention::run(&chain.app.services, &no_time).await.unwrap();
        runs.push((report.requests, report.unfinished));
        if !report.unfinished || runs.len() > 10 {
            break;
        }
    }
    assert_eq!(runs.iter().map(|(deleted, _)| deleted).sum::<usize>(), 3, "{runs:?}");
    assert!(runs.iter().all(|(deleted, _)| *deleted <= 1), "one request per run without time: {runs:?}");
    assert!(runs[0].1, "the first run said it had more to do");
    for id in &ids {
        assert!(shared::records::request(&*chain.app.services.store, id).await.unwrap().is_none());
    }
}

/// Requests that finished before the retention index existed (stored without their place in it)
/// are found all the same: the first run puts an office's finished requests into the index, a
/// page at a time; open ones stay out.
#[tokio::test]
async fn retention_finds_requests_finished_before_its_index_existed() {
    let chain = Chain::new().await;
    let issued = chain.submit(&chain.app.mother(), &[]).await;
    chain.run(false).await;
    let open = in_review(&chain, &[("/child/given_names", json!("Lea"))]).await;
    let store = &*chain.app.services.store;
    let unindexed = [issued.as_str(), open.as_str()].map(|id| Write::Delete {
        key: Key::new(shared::records::request_partition(id), "RETENTION"),
        condition: Condition::Always,
    });
    store.write(unindexed.to_vec()).await.unwrap();

    chain.app.clock.advance(time::Duration::days(366));
    let report = retention::run(&chain.app.services, &retention::Settings::default()).await.unwrap();
    assert_eq!((report.requests, report.unfinished), (1, false));
    assert!(shared::records::request(store, &issued).await.unwrap().is_none());
    assert_eq!(chain.request(&open).await.status, Status::InReview, "open requests are never deleted");
    assert!(shared::records::retention_backfill(store, "jugendamt-bremen").await.unwrap().done);
}

/// The index only points the way: a request it lists as long finished that is open again (or
/// finished lately) is read again and kept.
#[tokio::test]
async fn retention_keeps_a_request_its_index_lists_wrongly() {
    let chain = Chain::new().await;
    let open = in_review(&chain, &[]).await;
    let store = &*chain.app.services.store;
    let mut stale =
        Item::new(Key::new(shared::records::request_partition(&open), "RETENTION"), json!({"request_id": open}));
    stale.index = Some(Key::new("RETAIN#jugendamt-bremen", format!("{:013}#{open}", 1)));
    store.write(vec![Write::Put { item: stale, condition: Condition::Always }]).await.unwrap();

    let report = retention::run(&chain.app.services, &retention::Settings::default()).await.unwrap();
    assert_eq!(report.requests, 0);
    assert_eq!(chain.request(&open).await.status, Status::InReview);
}

#[tokio::test]
async fn only_a_supervisor_revokes_a_certificate_and_its_code_then_verifies_as_revoked() {
    let chain = Chain::new().await;
    let id = chain.submit(&chain.app.mother(), &[]).await;
    chain.run(false).await;
    let request = chain.request(&id).await;
    assert_eq!(request.status, Status::Issued);
    let code = request.certificate.unwrap().code;
    let revoke = format!("/api/v1/staff/requests/{id}/certificate/revoke");
    let reason = json!({"reason": "Nach der Ausstellung wurde eine Sorgeerklärung nachgetragen."});
    let verify = format!("/api/v1/verify/{code}?birth_date=2021-03-14");
    let (status, _) = chain.app.call("GET", &verify, None, None).await;
    assert_eq!(status, 200);

    for (who, token) in [
        ("a case worker", chain.app.staff("jugendamt-bremen")),
        ("the register's keeper", chain.app.office_admin("jugendamt-bremen")),
        ("a machine client", chain.app.machine("jugendamt-bremen")),
    ] {
        let (status, _) = chain.app.call("POST", &revoke, Some(&token), Some(reason.clone())).await;
        assert_eq!(status, 403, "{who} may not revoke");
    }
    let (_, verified) = chain.app.call("GET", &verify, None, None).await;
    assert_eq!(verified["valid"], true, "nothing changed: {verified}");

    let supervisor = chain.app.supervisor("jugendamt-bremen");
    let other = chain.app.supervisor("jugendamt-cuxhaven");
    assert_eq!(chain.app.call("POST", &revoke, Some(&other), Some(reason.clone())).await.0, 404, "another office's");
    let (status, invalid) = chain.app.call("POST", &revoke, Some(&supervisor), Some(json!({"reason": " "}))).await;
    assert_eq!(status, 422, "a reason is required: {invalid}");
    let (status, revoked) = chain.app.call("POST", &revoke, Some(&supervisor), Some(reason.clone())).await;
    assert_eq!(status, 200, "{revoked}");
    assert!(revoked["certificate"]["revoked_at"].is_string(), "{revoked}");
    assert_eq!(chain.app.call("POST", &revoke, Some(&supervisor), Some(reason)).await.0, 409, "once");

    let (_, verified) = chain.app.call("GET", &verify, None, None).await;
    assert_eq!(
        (verified["status"].as_str(), verified["revoked_at"].is_string()),
        (Some("revoked"), true),
        "{verified}"
    );
    let born = [
        ("code", code.as_str()),
        ("geburtsdatum.day", "14"),
        ("geburtsdatum.month", "3"),
        ("geburtsdatum.year", "2021"),
    ];
    let page = chain.app.page_post("/pruefen", "", &born).await;
    assert!(page.text().contains("Die Bescheinigung wurde widerrufen"), "{}", page.text());
    let counted = shared::records::certificate(&*chain.app.services.store, &code).await.unwrap().unwrap().value;
    assert_eq!((counted.counts.valid, counted.counts.revoked), (2, 2), "the checks before and after, counted");
    let (_, detail) = chain.app.call("GET", &format!("/api/v1/staff/requests/{id}"), Some(&supervisor), None).await;
    assert_eq!(
        detail["certificate"]["revocation_reason"],
        "Nach der Ausstellung wurde eine Sorgeerklärung nachgetragen."
    );
    let (_, trail) =
        chain.app.call("GET", &format!("/api/v1/staff/requests/{id}/audit"), Some(&supervisor), None).await;
    assert!(trail.to_string().contains("revoke_certificate"), "in the audit trail: {trail}");
}

#[tokio::test]
async fn deciding_is_case_work_and_the_registers_keeper_does_not_decide() {
    let chain = Chain::new().await;
    let id = in_review(&chain, &[]).await;
    let keeper = chain.app.office_admin("jugendamt-bremen");
    assert_eq!(decide(&chain, &id, &keeper, json!({"outcome": "issue"})).await.0, 403);
    let supervisor = chain.app.supervisor("jugendamt-bremen");
    assert_eq!(decide(&chain, &id, &supervisor, json!({"outcome": "issue"})).await.0, 200, "supervisors decide too");
}

#[tokio::test]
async fn one_case_worker_holds_a_request_and_only_a_supervisor_takes_it_from_her() {
    let chain = Chain::new().await;
    let id = in_review(&chain, &[]).await;
    let (meyer, weber) = (chain.app.staff("jugendamt-bremen"), chain.app.other_staff("jugendamt-bremen"));
    let supervisor = chain.app.supervisor("jugendamt-bremen");
    let assignment = format!("/api/v1/staff/requests/{id}/assignment");
    let call = async |method: &str, token: &str| {
        let (status, body) = chain.app.call(method, &assignment, Some(token), None).await;
        (status.as_u16(), body)
    };

    let (status, taken) = call("POST", &meyer).await;
    assert_eq!(
        (status, &taken["assignment"]["to"]),
        (200, &json!({"id": "staff-jugendamt-bremen", "name": "Anna Meyer"}))
    );
    assert_eq!(call("POST", &meyer).await.0, 200, "taking it again changes nothing");

    // Her colleague is told who holds it, and can neither take, give back, decide nor write.
    let (status, refused) = call("POST", &weber).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("held_by_other")), "{refused}");
    assert_eq!(refused["error"]["details"]["assignee"]["name"], "Anna Meyer");
    assert_eq!(call("DELETE", &weber).await.0, 409);
    let (status, refused) = decide(&chain, &id, &weber, json!({"outcome": "issue"})).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("held_by_other")));
    let messages = format!("/api/v1/staff/requests/{id}/messages");
    let (status, _) = chain.app.call("POST", &messages, Some(&weber), Some(json!({"text": "Hallo"}))).await;
    assert_eq!(status, 409);
    let (_, inbox) = chain.app.call("GET", "/api/v1/staff/requests?status=in_review", Some(&weber), None).await;
    assert_eq!(inbox[0]["assignee"]["name"], "Anna Meyer", "the inbox names her");
    let (_, detail) = chain.app.call("GET", &format!("/api/v1/staff/requests/{id}"), Some(&weber), None).await;
    assert_eq!(detail["assignment"]["to"]["id"], "staff-jugendamt-bremen");

    // Given back, anyone takes it; then a supervisor takes it over, and decides.
    assert_eq!(call("DELETE", &meyer).await, (200, json!({"id": id, "assignment": null})));
    assert_eq!(call("POST", &weber).await.0, 200);
    let (status, over) = call("POST", &supervisor).await;
    assert_eq!((status, over["assignment"]["to"]["name"].as_str()), (200, Some("Petra Schulte")));
    assert_eq!(decide(&chain, &id, &weber, json!({"outcome": "issue"})).await.0, 409, "no longer his");
    assert_eq!(decide(&chain, &id, &supervisor, json!({"outcome": "issue"})).await.0, 200);

    // Machines and register keepers take nothing; another office's request is not found.
    assert_eq!(call("POST", &chain.app.machine("jugendamt-bremen")).await.0, 403);
    assert_eq!(call("POST", &chain.app.office_admin("jugendamt-bremen")).await.0, 403);
    assert_eq!(call("POST", &chain.app.staff("jugendamt-berlin")).await.0, 404);

    let (_, trail) = chain.app.call("GET", &format!("/api/v1/staff/requests/{id}/audit"), Some(&meyer), None).await;
    let actions: Vec<&str> = trail["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    let changes: Vec<&str> = actions.into_iter().filter(|a| ["assign", "release"].contains(a)).collect();
    assert_eq!(changes, ["assign", "release", "assign", "assign"], "each change in the audit trail");
}

#[tokio::test]
async fn the_inbox_page_takes_the_checked_requests_and_leaves_others_theirs() {
    use shared::testing::{PageResponse, staff_session};
    let chain = Chain::new().await;
    let (first, second) = (in_review(&chain, &[]).await, in_review(&chain, &[]).await);
    let (meyer, weber) = (chain.app.staff("jugendamt-bremen"), chain.app.other_staff("jugendamt-bremen"));
    let supervisor = chain.app.supervisor("jugendamt-bremen");
    let get = async |path: String, token: &str| chain.app.page_get(&path, &staff_session(token)).await.text();
    let post = async |path: String, token: &str, form: &[(&str, &str)]| -> PageResponse {
        chain.app.page_post(&path, &staff_session(token), form).await
    };
    let path = |id: &str, action: &str| format!("/amt/antraege/{id}{action}");
    assert_eq!(post(path(&second, "/bearbeitung"), &weber, &[("action", "take")]).await.status.as_u16(), 303);

    // Checked twice, and one that is gone: each counted once, the gone one passed over.
    let gone = "00000000-0000-0000-0000-000000000000";
    let bulk = [("id", first.as_str()), ("id", second.as_str()), ("id", second.as_str()), ("id", gone)];
    let answer = post("/amt/antraege/uebernehmen?status=in_review".into(), &meyer, &bulk).await;
    let location = answer.headers["location"].to_str().unwrap().to_owned();
    assert_eq!(location, "/amt?status=in_review&uebernommen=1-3");
    let inbox = get(location, &meyer).await;
    assert!(inbox.contains("Übernommen: 1.") && inbox.contains("nicht mehr gibt: 2."), "{inbox}");
    assert!(inbox.contains("Anna Meyer") && inbox.contains("Jonas Weber"), "the holders in the list");

    // On the second request she sees who holds it and no forms to decide or write.
    let page = get(path(&second, ""), &meyer).await;
    assert!(page.contains("Jonas Weber bearbeitet diesen Antrag"), "{page}");
    assert!(!page.contains("/entscheidung\"") && !page.contains("/nachricht\"") && !page.contains("/bearbeitung\""));
    // A decision sent anyway (an old tab) is refused with the page saying why.
    let stale = post(path(&second, "/entscheidung"), &meyer, &[("outcome", "issue")]).await;
    assert_eq!(stale.status.as_u16(), 409);
    assert!(stale.text().contains("Eine andere Person bearbeitet diesen Antrag inzwischen"));
    // A supervisor may take it over or free it.
    let lead = get(path(&second, ""), &supervisor).await;
    assert!(lead.contains("Antrag selbst übernehmen") && lead.contains("Antrag freigeben"));
    // Her own she gives back from its page.
    let own = get(path(&first, ""), &meyer).await;
    assert!(own.contains("Sie bearbeiten diesen Antrag") && own.contains("Antrag zurückgeben"));
    assert_eq!(post(path(&first, "/bearbeitung"), &meyer, &[("action", "give_back")]).await.status.as_u16(), 303);
    assert!(chain.request(&first).await.assignment.is_none());
    assert_eq!(post(path(&first, "/bearbeitung"), &meyer, &[("action", "steal")]).await.status.as_u16(), 400);
}

#[tokio::test]
async fn certificates_issued_before_the_hashed_lookup_verify_again_after_the_migration() {
    let chain = Chain::new().await;
    let id = chain.submit(&chain.app.mother(), &[]).await;
    chain.run(false).await;
    let request = chain.request(&id).await;
    let code = request.certificate.clone().unwrap().code;
    // As such a certificate was stored: found by the code in clear, no verification record.
    let store = &*chain.app.services.store;
    let old = Key::new(format!("CERTIFICATE#{code}"), "CERTIFICATE");
    let old_body = json!({"request_id": id, "office_id": "jugendamt-bremen", "issued_at": "2026-11-23T09:30:00Z"});
    store
        .write(vec![
            Write::Delete { key: shared::records::certificate_key(&code), condition: Condition::Always },
            Write::Put { item: Item::new(old.clone(), old_body), condition: Condition::Always },
        ])
        .await
        .unwrap();
    let verify = format!("/api/v1/verify/{code}?birth_date=2021-03-14");
    assert_eq!(chain.app.call("GET", &verify, None, None).await.1["status"], "unknown", "not found before");

    assert!(shared::records::migrate_certificate_lookup(store, &request).await.unwrap());
    assert!(!shared::records::migrate_certificate_lookup(store, &request).await.unwrap(), "once");
    assert!(store.get(&old).await.unwrap().is_none(), "the code in clear is gone");
    assert_eq!(chain.app.call("GET", &verify, None, None).await.1["status"], "valid");
}
