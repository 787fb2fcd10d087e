//! The library every function uses.
//!
//! - [`domain`]: the legal and business rules as plain Rust (no AWS, no HTTP).
//! - [`ports`]: what the functions need from the outside world, as traits.
//! - [`embedded`]: the default adapters (SQLite on disk, the file system).
//! - [`auth`]: verification of citizen and staff tokens.
//! - [`texts`]: the text catalogue (German, Leichte Sprache, English).
//! - [`http`]: the plumbing every API function shares (errors, extractors, context).

pub mod auth;
pub mod domain;
pub mod embedded;
pub mod http;
pub mod input;
pub mod pipeline;
pub mod ports;
pub mod records;
#[cfg(feature = "testing")]
pub mod testing;
pub mod texts;
