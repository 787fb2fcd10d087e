//! Calls to other parties' servers (identity providers): https with rustls and the system's root
//! certificates, a timeout on every call, and plain http only to loopback addresses where the
//! runtime allows it (local mode, the tests' providers).

use axum::body::Bytes;
use axum::http::{Method, Request, Uri, header};
use http_body_util::{BodyExt, Full};

use crate::domain::office::ProviderAddresses;

/// An HTTP client for identity providers.
#[derive(Debug, Clone, Copy)]
pub struct HttpClient {
    addresses: ProviderAddresses,
    timeout: std::time::Duration,
}

/// What a server answered: status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl HttpClient {
    const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

    pub fn https_only() -> HttpClient {
        HttpClient::new(ProviderAddresses::HttpsOnly)
    }

    pub fn new(addresses: ProviderAddresses) -> HttpClient {
        HttpClient { addresses, timeout: Self::TIMEOUT }
    }

    pub fn with_timeout(self, timeout: std::time::Duration) -> HttpClient {
        HttpClient { timeout, ..self }
    }

    pub fn addresses(&self) -> ProviderAddresses {
        self.addresses
    }

    /// The body of `url`, which must answer 2xx.
    pub async fn get(&self, url: &str) -> Result<Bytes, String> {
        let answer = self.send(Method::GET, url, None, None).await?;
        if !(200..300).contains(&answer.status) {
            return Err(format!("HTTP {}", answer.status));
        }
        Ok(answer.body)
    }

    /// Posts `form` (`application/x-www-form-urlencoded`) with HTTP Basic `credentials`, if any;
    /// any status is an answer.
    pub async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        credentials: Option<(&str, &str)>,
    ) -> Result<Answer, String> {
        let body = serde_urlencoded::to_string(form).map_err(|e| e.to_string())?;
        let authorization = credentials.map(|(user, password)| {
            use base64::Engine;
            // RFC 6749 § 2.3.1: both parts form-encoded before Basic.
            let encode = |part: &str| url::form_urlencoded::byte_serialize(part.as_bytes()).collect::<String>();
            let pair = format!("{}:{}", encode(user), encode(password));
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
        });
        self.send(Method::POST, url, Some(body), authorization).await
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        form: Option<String>,
        authorization: Option<String>,
    ) -> Result<Answer, String> {
        if !self.addresses.permit(url) {
            return Err(match self.addresses {
                ProviderAddresses::HttpsOnly => "must use https".to_owned(),
                ProviderAddresses::LoopbackHttpToo => "must use https (or http on a loopback address)".to_owned(),
            });
        }
        let uri: Uri = url.parse().map_err(|e| format!("{e}"))?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| e.to_string())?
            .https_or_http()
            .enable_http1()
            .build();
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build::<_, Full<Bytes>>(connector);
        let mut request = Request::builder().method(method).uri(uri).header(header::ACCEPT, "application/json");
        if let Some(authorization) = authorization {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        let body = match form {
            Some(form) => {
                request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Full::new(Bytes::from(form))
            }
            None => Full::new(Bytes::new()),
        };
        let request = request.body(body).map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(self.timeout, client.request(request))
            .await
            .map_err(|_| "timed out".to_owned())?
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = tokio::time::timeout(self.timeout, response.into_body().collect())
            .await
            .map_err(|_| "timed out".to_owned())?
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Answer { status, body })
    }
}

/// The body of `url` over https (the BundID metadata): [`HttpClient::get`] with `timeout`.
pub async fn https_get(url: &str, timeout: std::time::Duration) -> Result<Bytes, String> {
    HttpClient::https_only().with_timeout(timeout).get(url).await
}
