//! What every function's web pages share: server-rendered HTML in the three languages, one
//! layout, the session cookie, and the protections every page gets.
//!
//! - [`session`]: cookies, and who is signed in ([`SignedIn`], [`SignedInUntil`],
//!   [`OfficeStaff`]; with the services and the page: [`CitizenPage`], [`StaffPage`]), else the
//!   way to `/anmelden` and back.
//! - [`page`]: the language and address of a page request ([`Page`]).
//! - [`post`]: what a form posts ([`FormData`]) and the cross-site check.
//! - [`upload`]: files that go from the browser straight into the document store.
//! - [`form`]: form fields as the macros draw them (GOV.UK patterns).
//! - [`templates`]: the layout, the text catalogue in templates, and shared formats and views.
//! - [`errors`]: [`PageError`] and the styled error page.
//! - [`layer`]: [`pages`] wraps a function's page routes (CSRF, language cookie, security
//!   headers, error pages, panics); the stylesheet and the fallbacks.

pub mod errors;
pub mod form;
pub mod layer;
pub mod page;
pub mod post;
pub mod session;
pub mod templates;
pub mod upload;

pub use cookie::SameSite;
pub use errors::{PageError, PageResult, error_page};
pub use layer::{fallback, finish, method_not_allowed, pages, router};
pub use page::Page;
pub use post::FormData;
pub use session::{
    CitizenPage, LANG_COOKIE, OfficeStaff, SESSION_COOKIE, STAFF_PATH, STAFF_SESSION_COOKIE, SignedIn, SignedInUntil,
    StaffPage, cookie, is_staff_path, same_site_path, set_cookie, set_cookie_at, set_staff_cookie, signed_out,
    staff_signed_out,
};
pub use templates::{
    MessageView, OfficeView, SummaryRow, Templates, Value, code_groups, context, file_size, fill, format_date,
    format_date_time,
};
