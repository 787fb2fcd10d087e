//! The citizen's journey as one model that the page functions share: the pre-check's
//! questions and the answers she gave ([`precheck`]), the application form's steps over her
//! draft ([`form`]), what her BundID account states ([`account`]), and the check-answers page
//! ([`check`]) that the form shows and the submit button shows again with problems.

pub mod account;
pub mod check;
pub mod form;
pub mod precheck;
