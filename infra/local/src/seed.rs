//! Demo data seeded on first start. All contact details are examples (reserved `.example`
//! domains, no real phone numbers); names follow real offices only so the routing reads true.

use shared::domain::office::{Office, PostalAddress};
use shared::ports::{StateStore, StoreError};
use shared::records;

fn address(street: &str, house_number: &str, postcode: &str, city: &str) -> PostalAddress {
    PostalAddress {
        street: street.into(),
        house_number: house_number.into(),
        postcode: postcode.into(),
        city: city.into(),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

pub fn demo_offices() -> Vec<Office> {
    vec![
        Office {
            id: "jugendamt-bremen".into(),
            name: "Jugendamt Bremen (Demo)".into(),
            address: address("Musterstraße", "1", "28195", "Bremen"),
            phone: "+49 421 000000-0 (Demo)".into(),
            email: "sorgeregister@jugendamt-bremen.example".into(),
            opening_hours: Some("Mo–Fr 9–12 Uhr, Do 14–17 Uhr".into()),
            postcodes: strings(&[
                "28195", "28197", "28199", "28201", "28203", "28205", "28207", "28209", "28211", "28213", "28215",
                "28217", "28219", "28237", "28239", "28259", "28277", "28279", "28307", "28309", "28325", "28327",
                "28329", "28355", "28357", "28359", "28717", "28719", "28755", "28757", "28759", "28777", "28779",
            ]),
            municipalities: strings(&["Bremen"]),
            connected: true,
            auto_issue: true,
            required_documents: vec![],
            retention_days: 365,
            keeps_register_for_born_abroad: false,
            staff_identity_provider: None,
            letterhead: None,
        },
        Office {
            id: "jugendamt-cuxhaven".into(),
            name: "Jugendamt Landkreis Cuxhaven (Demo)".into(),
            address: address("Beispielweg", "2", "27472", "Cuxhaven"),
            phone: "+49 4721 000000-0 (Demo)".into(),
            email: "sorgeregister@jugendamt-cuxhaven.example".into(),
            opening_hours: Some("Mo–Do 8–15 Uhr, Fr 8–12 Uhr".into()),
            postcodes: strings(&[
                "27472", "27474", "27476", "27478", "21762", "21745", "27607", "27612", "27616", "27619", "27628",
                "27639",
            ]),
            municipalities: strings(&[
                "Cuxhaven",
                "Otterndorf",
                "Hemmoor",
                "Geestland",
                "Loxstedt",
                "Schiffdorf",
                "Beverstedt",
                "Hagen im Bremischen",
                "Wurster Nordseeküste",
            ]),
            connected: true,
            auto_issue: true,
            // One demo office asks for the birth certificate, so the form's upload step is seen.
            required_documents: strings(&["geburtsurkunde"]),
            retention_days: 365,
            keeps_register_for_born_abroad: false,
            staff_identity_provider: None,
            letterhead: None,
        },
        Office {
            id: "jugendamt-berlin".into(),
            name: "Jugendamt Berlin – Sorgeregister für im Ausland geborene Kinder (Demo)".into(),
            address: address("Beispielplatz", "3", "10117", "Berlin"),
            phone: "+49 30 000000-0 (Demo)".into(),
            email: "sorgeregister@jugendamt-berlin.example".into(),
            opening_hours: Some("Mo–Fr 9–13 Uhr".into()),
            postcodes: strings(&["10115", "10117", "10119"]),
            municipalities: strings(&["Berlin"]),
            connected: true,
            auto_issue: true,
            required_documents: vec![],
            retention_days: 365,
            keeps_register_for_born_abroad: true,
            staff_identity_provider: None,
            letterhead: None,
        },
        Office {
            id: "jugendamt-hamburg-mitte".into(),
            name: "Jugendamt Hamburg-Mitte (Demo, nicht angeschlossen)".into(),
            address: address("Musterallee", "4", "20095", "Hamburg"),
            phone: "+49 40 000000-0 (Demo)".into(),
            email: "jugendamt@hamburg-mitte.example".into(),
            opening_hours: Some("Mo–Fr 8–12 Uhr".into()),
            postcodes: strings(&["20095", "20097", "20099"]),
            municipalities: strings(&["Hamburg"]),
            connected: false,
            auto_issue: false,
            required_documents: vec![],
            retention_days: 365,
            keeps_register_for_born_abroad: false,
            staff_identity_provider: None,
            letterhead: None,
        },
    ]
}

/// Seeds the demo offices that are not there yet; changes made since are kept.
pub async fn seed(store: &dyn StateStore) -> Result<usize, StoreError> {
    let mut added = 0;
    for office in demo_offices() {
        if records::put_office(store, &office, true).await? {
            added += 1;
        }
    }
    Ok(added)
}
