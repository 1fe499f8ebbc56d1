//! The one error → HTTP mapping, as the REST API uses it: the gate's problem details
//! ([`tollgate_gate::problem`]), so that the middleware and the REST API answer alike.

pub use tollgate_gate::problem::{ApiError, Problem};
