//! Browser uploads straight into the document store, bypassing the function: an S3 POST policy
//! (signature version 4) that fixes the key, the content type, the size range and the page S3
//! sends the browser back to, so that a plain HTML form works without JavaScript; and the check
//! S3 makes of such a post, which the local runtime's upload endpoint makes the same way.
//!
//! The signature is computed with `aws-sigv4`'s key derivation; what is signed is the base64 of
//! the policy document (AWS: "Browser-based uploads using POST").

use std::time::SystemTime;

use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// What a signed upload may store: exactly one key, one content type, a size range and the
/// page the browser goes to afterwards, until `expires`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadTerms {
    pub key: String,
    pub content_type: String,
    pub max_bytes: u64,
    /// Absolute URL S3 redirects to (303) after storing; it appends `bucket`, `key` and `etag`.
    pub redirect: String,
}

/// The identity that signs: an access key, its secret, and (for temporary credentials, as a
/// Lambda function has) the session token, which then becomes a field of the form.
pub struct Signer<'a> {
    pub access_key: &'a str,
    pub secret: &'a str,
    pub session_token: Option<&'a str>,
    pub region: &'a str,
}

/// The hidden fields of the form, in order; the file follows them as the field `file`.
pub fn sign(
    bucket: &str,
    terms: &UploadTerms,
    signer: &Signer,
    now: OffsetDateTime,
    expires: OffsetDateTime,
) -> Vec<(String, String)> {
    let now = now.replace_nanosecond(0).expect("zero nanoseconds");
    let date = now.date().format(format_description!("[year][month][day]")).expect("a date formats");
    let credential = format!("{}/{date}/{}/s3/aws4_request", signer.access_key, signer.region);
    let amz_date = now.format(format_description!("[year][month][day]T[hour][minute][second]Z")).expect("formats");
    let mut fields = vec![
        ("key".to_owned(), terms.key.clone()),
        ("Content-Type".to_owned(), terms.content_type.clone()),
        ("success_action_redirect".to_owned(), terms.redirect.clone()),
        ("x-amz-server-side-encryption".to_owned(), "AES256".to_owned()),
        ("x-amz-algorithm".to_owned(), ALGORITHM.to_owned()),
        ("x-amz-credential".to_owned(), credential),
        ("x-amz-date".to_owned(), amz_date),
    ];
    if let Some(token) = signer.session_token {
        fields.push(("x-amz-security-token".to_owned(), token.to_owned()));
    }
    let mut conditions = vec![json!({ "bucket": bucket }), json!(["content-length-range", 0, terms.max_bytes])];
    conditions.extend(fields.iter().map(|(name, value)| json!({ name: value })));
    let expiration = expires.replace_nanosecond(0).expect("zero nanoseconds").format(&Rfc3339).expect("formats");
    let policy = BASE64.encode(json!({ "expiration": expiration, "conditions": conditions }).to_string());
    let signature = signature(signer.secret, now.date(), signer.region, &policy);
    fields.push(("policy".to_owned(), policy));
    fields.push(("x-amz-signature".to_owned(), signature));
    fields
}

fn signature(secret: &str, date: Date, region: &str, policy: &str) -> String {
    let day = SystemTime::from(date.midnight().assume_utc());
    calculate_signature(generate_signing_key(secret, day, region, "s3"), policy.as_bytes())
}

/// Why a post is refused, as S3 answers it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("Invalid according to Policy: Policy expired.")]
    Expired,
    #[error("The request signature we calculated does not match the signature you provided.")]
    SignatureDoesNotMatch,
    #[error("Invalid according to Policy: Policy Condition failed: {0}")]
    ConditionFailed(String),
    #[error("Invalid according to Policy: Extra input fields: {0}")]
    ExtraField(String),
    #[error("Your proposed upload exceeds the maximum allowed size")]
    TooLarge,
    #[error("Your proposed upload is smaller than the minimum allowed size")]
    TooSmall,
    #[error("Bucket POST must contain a valid policy: {0}")]
    Malformed(&'static str),
}

impl Refusal {
    /// S3's error code and HTTP status for it.
    pub fn code(&self) -> (&'static str, u16) {
        match self {
            Refusal::TooLarge => ("EntityTooLarge", 400),
            Refusal::TooSmall => ("EntityTooSmall", 400),
            Refusal::Malformed(_) => ("InvalidArgument", 400),
            Refusal::SignatureDoesNotMatch => ("SignatureDoesNotMatch", 403),
            Refusal::Expired | Refusal::ConditionFailed(_) | Refusal::ExtraField(_) => ("AccessDenied", 403),
        }
    }
}

/// A post that passed: where to store the file and where to send the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub key: String,
    pub content_type: Option<String>,
    pub redirect: Option<String>,
}

/// Checks a form post as S3 does: the signature over the policy by the secret of the access key
/// it names (`secret_of`), the expiry, every condition, no field the policy does not cover, and
/// the file's size against `content-length-range`. `fields` are the form's fields other than
/// the file, by name (S3 compares names case-insensitively).
pub fn check(
    bucket: &str,
    fields: &[(String, String)],
    file_size: u64,
    secret_of: impl Fn(&str) -> Option<String>,
    now: OffsetDateTime,
) -> Result<Accepted, Refusal> {
    let field = |name: &str| fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let policy_text = field("policy").ok_or(Refusal::Malformed("no policy"))?;
    let credential = field("x-amz-credential").ok_or(Refusal::Malformed("no credential"))?;
    if field("x-amz-algorithm") != Some(ALGORITHM) {
        return Err(Refusal::Malformed("unknown algorithm"));
    }
    let [access_key, day, region, "s3", "aws4_request"] = credential.split('/').collect::<Vec<_>>()[..] else {
        return Err(Refusal::Malformed("credential"));
    };
    let day = Date::parse(day, format_description!("[year][month][day]")).map_err(|_| Refusal::Malformed("date"))?;
    let secret = secret_of(access_key).ok_or(Refusal::SignatureDoesNotMatch)?;
    let expected = signature(&secret, day, region, policy_text);
    let given = field("x-amz-signature").unwrap_or_default();
    if aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), given.as_bytes()).is_err() {
        return Err(Refusal::SignatureDoesNotMatch);
    }
    let policy: Value = BASE64
        .decode(policy_text)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(Refusal::Malformed("policy is not base64 JSON"))?;
    let expiration = policy["expiration"].as_str().and_then(|e| OffsetDateTime::parse(e, &Rfc3339).ok());
    match expiration {
        None => return Err(Refusal::Malformed("expiration")),
        Some(expiration) if expiration <= now => return Err(Refusal::Expired),
        Some(_) => {}
    }
    let conditions = policy["conditions"].as_array().ok_or(Refusal::Malformed("conditions"))?;
    let mut covered = vec!["policy".to_owned(), "x-amz-signature".to_owned()];
    let value_of = |name: &str| if name.eq_ignore_ascii_case("bucket") { Some(bucket) } else { field(name) };
    for condition in conditions {
        let failed = || Refusal::ConditionFailed(condition.to_string());
        match condition {
            Value::Object(exact) => {
                for (name, wanted) in exact {
                    covered.push(name.to_ascii_lowercase());
                    if value_of(name) != wanted.as_str() {
                        return Err(failed());
                    }
                }
            }
            Value::Array(parts) => match &parts[..] {
                [Value::String(op), Value::String(name), Value::String(wanted)]
                    if op == "eq" || op == "starts-with" =>
                {
                    let name = name.strip_prefix('$').ok_or_else(failed)?;
                    covered.push(name.to_ascii_lowercase());
                    let value = value_of(name).unwrap_or_default();
                    let holds = if op == "eq" { value == wanted } else { value.starts_with(wanted.as_str()) };
                    if !holds {
                        return Err(failed());
                    }
                }
                [Value::String(op), min, max] if op == "content-length-range" => {
                    let (min, max) = (min.as_u64().ok_or_else(failed)?, max.as_u64().ok_or_else(failed)?);
                    if file_size > max {
                        return Err(Refusal::TooLarge);
                    }
                    if file_size < min {
                        return Err(Refusal::TooSmall);
                    }
                }
                _ => return Err(failed()),
            },
            _ => return Err(failed()),
        }
    }
    let extra = fields
        .iter()
        .map(|(name, _)| name.to_ascii_lowercase())
        .find(|name| !covered.contains(name) && !name.starts_with("x-ignore-") && name != "file");
    if let Some(extra) = extra {
        return Err(Refusal::ExtraField(extra));
    }
    Ok(Accepted {
        key: field("key").ok_or(Refusal::Malformed("no key"))?.to_owned(),
        content_type: field("Content-Type").map(str::to_owned),
        redirect: field("success_action_redirect").map(str::to_owned),
    })
}

/// Where S3 sends the browser after storing: the redirect with `bucket`, `key` and `etag` added.
pub fn redirect_after_upload(redirect: &str, bucket: &str, key: &str, etag: &str) -> String {
    let added = serde_urlencoded::to_string([("bucket", bucket), ("key", key), ("etag", etag)]).expect("plain strings");
    let separator = if redirect.contains('?') { '&' } else { '?' };
    format!("{redirect}{separator}{added}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-02 10:00:00 UTC);

    fn terms() -> UploadTerms {
        UploadTerms {
            key: "incoming/abc/geburtsurkunde".into(),
            content_type: "application/octet-stream".into(),
            max_bytes: 100,
            redirect: "https://example.org/antrag/nachweise/eingang?art=geburtsurkunde".into(),
        }
    }

    fn signed() -> Vec<(String, String)> {
        let signer =
            Signer { access_key: "AKID", secret: "secret", session_token: Some("token"), region: "eu-central-1" };
        sign("bucket", &terms(), &signer, NOW, NOW + Duration::minutes(15))
    }

    fn secret(access_key: &str) -> Option<String> {
        (access_key == "AKID").then(|| "secret".to_owned())
    }

    fn with(mut fields: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
        fields.retain(|(n, _)| n != name);
        fields.push((name.into(), value.into()));
        fields
    }

    #[test]
    fn a_signed_post_is_accepted_within_its_terms() {
        let accepted = check("bucket", &signed(), 100, secret, NOW + Duration::minutes(14)).expect("accepted");
        assert_eq!(accepted.key, "incoming/abc/geburtsurkunde");
        assert_eq!(accepted.content_type.as_deref(), Some("application/octet-stream"));
        assert!(signed().iter().any(|(n, v)| n == "x-amz-security-token" && v == "token"));
    }

    #[test]
    fn what_the_browser_changes_is_refused() {
        let fields = signed();
        let other_key = with(fields.clone(), "key", "drafts/someone-else/geburtsurkunde.pdf");
        assert!(matches!(check("bucket", &other_key, 1, secret, NOW), Err(Refusal::ConditionFailed(_))));
        let html = with(fields.clone(), "Content-Type", "text/html");
        assert!(matches!(check("bucket", &html, 1, secret, NOW), Err(Refusal::ConditionFailed(_))));
        let elsewhere = with(fields.clone(), "success_action_redirect", "https://evil.example/");
        assert!(matches!(check("bucket", &elsewhere, 1, secret, NOW), Err(Refusal::ConditionFailed(_))));
        let public = with(fields.clone(), "acl", "public-read");
        assert_eq!(check("bucket", &public, 1, secret, NOW), Err(Refusal::ExtraField("acl".into())));
        assert!(matches!(check("other-bucket", &fields, 1, secret, NOW), Err(Refusal::ConditionFailed(_))));
    }

    #[test]
    fn a_policy_is_only_as_good_as_its_signature() {
        let fields = signed();
        let policy = &fields.iter().find(|(n, _)| n == "policy").unwrap().1;
        let mut document: Value = serde_json::from_slice(&BASE64.decode(policy).unwrap()).unwrap();
        document["conditions"][1] = json!(["content-length-range", 0, 1_000_000_000]);
        let widened = with(fields.clone(), "policy", &BASE64.encode(document.to_string()));
        assert_eq!(check("bucket", &widened, 1000, secret, NOW), Err(Refusal::SignatureDoesNotMatch));
        assert_eq!(
            check("bucket", &fields, 1, |_| Some("other secret".into()), NOW),
            Err(Refusal::SignatureDoesNotMatch)
        );
        assert_eq!(check("bucket", &fields, 1, |_| None, NOW), Err(Refusal::SignatureDoesNotMatch));
    }

    #[test]
    fn size_and_time_are_limited() {
        assert_eq!(check("bucket", &signed(), 101, secret, NOW), Err(Refusal::TooLarge));
        assert_eq!(check("bucket", &signed(), 1, secret, NOW + Duration::minutes(15)), Err(Refusal::Expired));
    }

    #[test]
    fn the_redirect_names_what_was_stored() {
        let url = redirect_after_upload("https://example.org/eingang?art=vollmacht", "b", "incoming/x", "\"e\"");
        assert_eq!(url, "https://example.org/eingang?art=vollmacht&bucket=b&key=incoming%2Fx&etag=%22e%22");
    }
}
