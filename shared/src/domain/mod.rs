//! Rules of the service, free of AWS and HTTP types.

pub mod application;
pub mod din91379;
pub mod draft;
pub mod normalize;
pub mod office;
pub mod precheck;
pub mod request;
pub mod values;
