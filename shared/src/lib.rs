//! The library every function uses.
//!
//! - [`domain`]: the legal and business rules as plain Rust (no AWS, no HTTP).
//! - [`ports`]: what the functions need from the outside world, as traits.
//! - [`embedded`]: the default adapters (SQLite on disk, the file system).
//! - `aws` (feature `aws`): the adapters on DynamoDB, S3 and SQS.
//! - `lambda` (feature `lambda`): the Lambda entrypoints of the functions.
//! - [`auth`]: verification of citizen and staff tokens and what staff may do; [`office_idp`]:
//!   staff tokens from an office's own identity provider; [`oidc`]: case workers' sign-in there
//!   (code flow with PKCE); [`outbound`]: the HTTP client for identity providers.
//! - [`texts`]: the text catalogue (German, Leichte Sprache, English).
//! - [`services`]: the adapters a function is wired to; [`directory`]: the offices and
//!   municipalities, cached in each process.
//! - [`http`]: the plumbing every API function shares (errors, extractors); [`openapi`]: the
//!   published contract of `/api/v1`; [`paging`]: lists a page at a time (`limit`, `cursor`,
//!   `Link`).
//! - [`steps`]: the queue steps of the document chain and the one way to hand a request on.
//! - [`web`]: what every function's pages share (layout, templates, session cookie, CSRF).
//! - [`journey`]: the citizen's way through the pre-check and the form, shared by their pages.
//! - [`upload_policy`]: browser uploads straight into the document store (S3 POST policies).
//! - `mail` (feature `mail`): the mailers on lettre (outbox folder, SMTP).

pub mod audit_keys;
pub mod auth;
#[cfg(feature = "aws")]
pub mod aws;
pub mod directory;
pub mod domain;
pub mod embedded;
pub mod http;
pub mod input;
pub mod journey;
pub mod jwks;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "mail")]
pub mod mail;
pub mod office_idp;
pub mod oidc;
pub mod openapi;
pub mod outbound;
pub mod paging;
pub mod ports;
pub mod records;
pub mod services;
pub mod steps;
#[cfg(feature = "testing")]
pub mod testing;
pub mod texts;
pub mod throttle;
pub mod upload_policy;
pub mod web;
pub mod xfamilie;
