//! Rules of the service, free of AWS and HTTP types.

pub mod application;
pub mod audit;
pub mod din91379;
pub mod draft;
pub mod message;
pub mod normalize;
pub mod notice;
pub mod office;
pub mod places;
pub mod precheck;
pub mod register;
pub mod request;
pub mod routing;
pub mod upload;
pub mod values;
pub mod verification;
