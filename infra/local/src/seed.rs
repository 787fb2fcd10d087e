//! Demo data seeded on first start. All contact details are examples (reserved `.example`
//! domains, no real phone numbers); names follow real offices only so the routing reads true.

use shared::domain::office::{AreaMunicipality, Directory, Office, PostalAddress, overlaps};
use shared::domain::places::Places;
use shared::domain::upload::DocumentKind;
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

/// The municipalities of the directory whose key starts with `prefix` (a Land, a Kreis, or one
/// municipality).
fn area(places: &Places, prefix: &str) -> Vec<AreaMunicipality> {
    places
        .municipalities()
        .filter(|m| m.ags.as_str().starts_with(prefix))
        .map(|m| AreaMunicipality { ags: m.ags.clone(), name: m.name.clone() })
        .collect()
}

pub fn demo_offices(places: &Places) -> Vec<Office> {
    vec![
        Office {
            id: "jugendamt-bremen".into(),
            name: "Jugendamt Bremen (Demo)".into(),
            address: address("Musterstraße", "1", "28195", "Bremen"),
            phone: "+49 421 000000-0 (Demo)".into(),
            email: "sorgeregister@jugendamt-bremen.example".into(),
            opening_hours: Some("Mo–Fr 9–12 Uhr, Do 14–17 Uhr".into()),
            postcodes: vec![],
            municipalities: area(places, "04011000"),
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
            postcodes: vec![],
            // The whole Landkreis, Stadt Cuxhaven included.
            municipalities: area(places, "03352"),
            connected: true,
            auto_issue: true,
            // One demo office asks for the birth certificate, so the form's upload step is seen.
            required_documents: vec![DocumentKind::BirthCertificate],
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
            postcodes: vec![],
            municipalities: area(places, "11000000"),
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
            postcodes: vec![],
            municipalities: area(places, "02000000"),
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

/// Seeds the demo offices that are not there yet; changes made since are kept, and a demo
/// office never takes an area that a real tenant has (added with `sorgeregister tenant add`
/// before the first start).
pub async fn seed(store: &dyn StateStore, directory: &Directory) -> Result<usize, StoreError> {
    let mut added = 0;
    for office in demo_offices(directory.places()) {
        if !overlaps(directory, &office).is_empty() {
            tracing::info!(office_id = %office.id, "demo office left out: its area belongs to a tenant");
            continue;
        }
        if records::put_office(store, &office, true).await? {
            added += 1;
        }
    }
    Ok(added)
}
