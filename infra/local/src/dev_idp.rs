//! The development identity provider of local mode: it mints citizen and staff tokens for the
//! personas of DESIGN.md § 4 with a local ES256 key, published as JWKS, so that the same
//! verification path runs locally and in production. It exists only in the local runtime.

use std::path::Path;
use std::sync::{Arc, LazyLock};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shared::auth::{
    CitizenClaims, ClaimAddress, KeyError, PrincipalKind, SigningKey, StaffClaims, StaffRole, TrustedIssuer,
    VerifyingKeys,
};
use shared::domain::request::TrustLevel;
use shared::http::ApiError;
use shared::input::FieldErrors;
use shared::services::Services;
use shared::texts::{Lang, text};
use shared::web::form::ErrorLink;
use shared::web::{self, Page, PageResult, SESSION_COOKIE, Templates, context};
use time::{Duration, OffsetDateTime};

pub const ISSUER: &str = "urn:sorgeregister:local-dev-idp";
pub const CITIZEN_AUDIENCE: &str = "sorgeregister-citizen";
pub const STAFF_AUDIENCE: &str = "sorgeregister-staff";
const TOKEN_LIFETIME: Duration = Duration::hours(8);
const KEY_FILE: &str = "dev-idp-es256.pk8";

pub struct DevIdentityProvider {
    key: SigningKey,
}

/// Someone to log in as.
pub struct Persona {
    pub id: &'static str,
    pub description: &'static str,
    claims: fn() -> PersonaClaims,
}

enum PersonaClaims {
    Citizen(CitizenClaims),
    Staff(StaffClaims),
}

fn sophia(trust_level: TrustLevel) -> PersonaClaims {
    PersonaClaims::Citizen(CitizenClaims {
        sub: "bundid-demo-sophia-beispiel".into(),
        given_name: "Sophia".into(),
        family_name: "Beispiel".into(),
        birth_name: None,
        birthdate: Some("1994-05-02".into()),
        place_of_birth: Some("Bremen".into()),
        address: Some(ClaimAddress {
            street: "Am Markt".into(),
            house_number: "1".into(),
            postcode: "28195".into(),
            city: "Bremen".into(),
        }),
        email: Some("sophia.beispiel@example.org".into()),
        trust_level,
        auth_time: None,
    })
}

fn staff(sub: &str, name: &str, office_id: Option<&str>, roles: &[StaffRole]) -> PersonaClaims {
    PersonaClaims::Staff(StaffClaims::new(sub, office_id, roles.to_vec()).named(Some(name)))
}

pub const PERSONAS: &[Persona] = &[
    Persona {
        id: "mother",
        description: "Sophia Beispiel, geboren 1994-05-02 in Bremen, Am Markt 1, 28195 Bremen, sophia.beispiel@example.org – Vertrauensniveau hoch (Online-Ausweis)",
        claims: || sophia(TrustLevel::Hoch),
    },
    Persona {
        id: "mother-basic",
        description: "Sophia Beispiel – Vertrauensniveau niedrig (Benutzername und Passwort)",
        claims: || sophia(TrustLevel::Basis),
    },
    Persona {
        id: "other-mother",
        description: "Lena Muster, geboren 1990-09-14 in Hamburg, Ostertorsteinweg 12, 28203 Bremen – Vertrauensniveau hoch",
        claims: || {
            PersonaClaims::Citizen(CitizenClaims {
                sub: "bundid-demo-lena-muster".into(),
                given_name: "Lena".into(),
                family_name: "Muster".into(),
                birth_name: None,
                birthdate: Some("1990-09-14".into()),
                place_of_birth: Some("Hamburg".into()),
                address: Some(ClaimAddress {
                    street: "Ostertorsteinweg".into(),
                    house_number: "12".into(),
                    postcode: "28203".into(),
                    city: "Bremen".into(),
                }),
                email: Some("lena.muster@example.org".into()),
                trust_level: TrustLevel::Hoch,
                auth_time: None,
            })
        },
    },
    Persona {
        id: "representative",
        description: "Petra Hilfreich, mit schriftlicher Vollmacht einer Mutter – Vertrauensniveau substantiell",
        claims: || {
            PersonaClaims::Citizen(CitizenClaims {
                sub: "bundid-demo-petra-hilfreich".into(),
                given_name: "Petra".into(),
                family_name: "Hilfreich".into(),
                birth_name: None,
                birthdate: Some("1970-03-03".into()),
                place_of_birth: Some("Bremen".into()),
                address: Some(ClaimAddress {
                    street: "Schwachhauser Heerstraße".into(),
                    house_number: "5".into(),
                    postcode: "28209".into(),
                    city: "Bremen".into(),
                }),
                email: None,
                trust_level: TrustLevel::Substantiell,
                auth_time: None,
            })
        },
    },
    Persona {
        id: "staff-bremen",
        description: "Sachbearbeitung, Jugendamt Bremen",
        claims: || staff("staff-demo-bremen", "Anna Meyer", Some("jugendamt-bremen"), &[StaffRole::CaseWorker]),
    },
    Persona {
        id: "staff-bremen-2",
        description: "Eine zweite Sachbearbeiterin, Jugendamt Bremen",
        claims: || staff("staff-demo-bremen-2", "Jonas Weber", Some("jugendamt-bremen"), &[StaffRole::CaseWorker]),
    },
    Persona {
        id: "supervisor-bremen",
        description: "Sachgebietsleitung, Jugendamt Bremen",
        claims: || staff("supervisor-demo-bremen", "Petra Schulte", Some("jugendamt-bremen"), &[StaffRole::Supervisor]),
    },
    Persona {
        id: "register-bremen",
        description: "Sorgeregister-Führung, Jugendamt Bremen",
        claims: || staff("register-demo-bremen", "Karl Brandt", Some("jugendamt-bremen"), &[StaffRole::OfficeAdmin]),
    },
    Persona {
        id: "staff-cuxhaven",
        description: "Sachbearbeitung, Jugendamt Landkreis Cuxhaven",
        claims: || staff("staff-demo-cuxhaven", "Mia Hansen", Some("jugendamt-cuxhaven"), &[StaffRole::CaseWorker]),
    },
    Persona {
        id: "register-cuxhaven",
        description: "Sorgeregister-Führung, Jugendamt Landkreis Cuxhaven",
        claims: || {
            staff("register-demo-cuxhaven", "Ole Petersen", Some("jugendamt-cuxhaven"), &[StaffRole::OfficeAdmin])
        },
    },
    Persona {
        id: "machine-bremen",
        description: "Fachverfahren des Jugendamts Bremen (Zugriff über die API)",
        claims: || {
            staff("fachverfahren-demo-bremen", "Fachverfahren Bremen", Some("jugendamt-bremen"), &[StaffRole::Machine])
        },
    },
    Persona {
        id: "admin",
        description: "Betrieb der Plattform (Mandanten, Register)",
        claims: || staff("admin-demo", "Betrieb", None, &[StaffRole::Admin]),
    },
];

#[derive(Debug, thiserror::Error)]
pub enum DevIdpError {
    #[error("cannot read or write the development key: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl DevIdentityProvider {
    /// Loads the key from `folder`, or creates one on first start (kept across restarts so
    /// that tokens stay valid).
    pub fn load_or_create(folder: &Path) -> Result<Self, DevIdpError> {
        let path = folder.join(KEY_FILE);
        let key = match std::fs::read(&path) {
            Ok(pkcs8) => SigningKey::from_pkcs8(&pkcs8)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SigningKey::generate()?;
                write_private(&path, key.pkcs8())?;
                key
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Self { key })
    }

    /// The issuers the verifier trusts in local mode.
    pub fn trusted_issuers(&self) -> Vec<TrustedIssuer> {
        let keys = VerifyingKeys::from(self.key.jwks());
        let trusted = |audience: &str, kind| TrustedIssuer {
            issuer: ISSUER.into(),
            audience: audience.into(),
            kind,
            keys: keys.clone(),
        };
        vec![trusted(CITIZEN_AUDIENCE, PrincipalKind::Citizen), trusted(STAFF_AUDIENCE, PrincipalKind::Staff)]
    }

    /// A signed token for the persona, valid for a working day.
    pub fn mint(&self, persona: &Persona, now: OffsetDateTime) -> (String, OffsetDateTime) {
        let (audience, claims) = match (persona.claims)() {
            PersonaClaims::Citizen(c) => (CITIZEN_AUDIENCE, serde_json::to_value(c)),
            PersonaClaims::Staff(s) => (STAFF_AUDIENCE, serde_json::to_value(s)),
        };
        self.key.sign(claims.expect("persona claims serialise"), ISSUER, audience, now, TOKEN_LIFETIME)
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn persona(id: &str) -> Option<&'static Persona> {
    PERSONAS.iter().find(|p| p.id == id)
}

/// `/dev/login`, `/dev/jwks.json`, the login page `/anmelden`, which offers the BundID login
/// beside the personas when `offer_bundid` (the runtime has `BUNDID_IDP_METADATA`), and
/// otherwise `POST /abmelden`.
pub fn router(idp: Arc<DevIdentityProvider>, offer_bundid: bool) -> Router<Services> {
    let login_page = move |page: Page, Query(query): Query<LoginQuery>| async move {
        render_login_page(&page, web::same_site_path(query.next.as_deref()).as_deref(), false, offer_bundid)
    };
    let mut pages = Router::new().route("/anmelden", get(login_page));
    // With BundID, the SAML login signs out (and ends her BundID session too), and renews
    // BundID sessions; a persona's lasts its eight hours, so the renewal has nothing to do.
    if !offer_bundid {
        pages = pages
            .route("/abmelden", post(|| async { web::signed_out("/") }))
            .route("/sitzung", get(|| async { StatusCode::NO_CONTENT }));
    }
    Router::new()
        .route("/dev/login", post(login))
        .route("/dev/jwks.json", get(jwks))
        .with_state(DevLogin { idp, offer_bundid })
        .merge(web::pages(pages))
}

#[derive(Clone)]
struct DevLogin {
    idp: Arc<DevIdentityProvider>,
    offer_bundid: bool,
}

#[derive(Deserialize)]
struct LoginForm {
    persona: String,
    #[serde(default)]
    next: Option<String>,
}

async fn login(
    State(DevLogin { idp, offer_bundid }): State<DevLogin>,
    lang: Lang,
    page: Page,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let form: Option<LoginForm> =
        if is_form { serde_urlencoded::from_bytes(&body).ok() } else { serde_json::from_slice(&body).ok() };
    let next = web::same_site_path(form.as_ref().and_then(|f| f.next.as_deref()));
    // The login page sent no persona (or an unknown one): the page again, saying so.
    if is_form && form.as_ref().and_then(|f| persona(&f.persona)).is_none() {
        let page = page.at("/anmelden");
        return web::finish(&page, render_login_page(&page, next.as_deref(), true, offer_bundid));
    }
    let Some(form) = form else {
        return ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", lang).into_response();
    };
    let Some(persona) = persona(&form.persona) else {
        let mut errors = FieldErrors::default();
        errors.add("persona", shared::domain::values::Problem::NotAChoice);
        return ApiError::invalid(lang, &errors).into_response();
    };
    let (token, expires_at) = idp.mint(persona, OffsetDateTime::now_utc());
    if !is_form {
        return Json(json!({"token": token, "persona": persona.id, "expires_at": expires_at.unix_timestamp()}))
            .into_response();
    }
    // Pages: the token travels in an HttpOnly cookie (staff's only to /amt, as after the
    // office's sign-in); only same-site paths are followed.
    let lifetime = Some(TOKEN_LIFETIME.whole_seconds());
    let (start, cookie) = match (persona.claims)() {
        PersonaClaims::Citizen(_) => ("/antrag", web::set_cookie(SESSION_COOKIE, &token, lifetime)),
        PersonaClaims::Staff(_) => ("/amt", web::set_staff_cookie(&token, lifetime)),
    };
    let mut response = Redirect::to(&next.unwrap_or_else(|| start.into())).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

async fn jwks(State(DevLogin { idp, .. }): State<DevLogin>) -> Json<Value> {
    Json(serde_json::to_value(idp.key.jwks()).expect("JWKS serialise"))
}

#[derive(Serialize)]
struct PersonaView {
    id: &'static str,
    description: &'static str,
}

static TEMPLATES: LazyLock<Templates> = LazyLock::new(|| {
    Templates::new(&[("anmelden.html", include_str!("templates/anmelden.html")), login::BUNDID_TEMPLATE])
});

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

/// The personas to choose from (and BundID, if offered); with `missing_choice`, the page says
/// that a persona must be chosen.
fn render_login_page(page: &Page, next: Option<&str>, missing_choice: bool, offer_bundid: bool) -> PageResult {
    let personas: Vec<PersonaView> =
        PERSONAS.iter().map(|p| PersonaView { id: p.id, description: p.description }).collect();
    let error = missing_choice.then(|| text(page.lang, "anmelden.error"));
    let errors: Vec<ErrorLink> =
        error.iter().map(|text| ErrorLink { href: "#persona".into(), text: (*text).to_owned() }).collect();
    let status = if missing_choice { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let bundid = if offer_bundid { login::level_links(page.lang, next) } else { Vec::new() };
    TEMPLATES.render_with_status(status, page, "anmelden.html", context! { personas, next, error, errors, bundid })
}
