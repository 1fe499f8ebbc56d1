//! The one error → HTTP mapping, as the REST API uses it: the gate's problem details
//! ([`tollgate_gate::problem`]), so that the middleware and the REST API answer alike, and the
//! use cases' errors in those terms.

use tollgate_app::{ChangeError, CreateError, RevealError, RotateError};
pub use tollgate_gate::problem::{ApiError, Problem};

/// A refused create, as a problem.
pub fn create_error(error: CreateError) -> ApiError {
    match error {
        CreateError::Validation(errors) => ApiError::Validation(errors),
        CreateError::Denied(denial) => denial.into(),
        CreateError::OtherAccount => ApiError::Forbidden(CreateError::OtherAccount.to_string()),
        CreateError::Store(error) => error.into(),
    }
}

/// A refused change, as a problem.
pub fn change_error(error: ChangeError) -> ApiError {
    match error {
        ChangeError::Denied(denial) => denial.into(),
        ChangeError::Store(error) => error.into(),
    }
}

/// A refused rotation, as a problem.
pub fn rotate_error(error: RotateError) -> ApiError {
    match error {
        RotateError::Validation(errors) => ApiError::Validation(errors),
        RotateError::Denied(denial) => denial.into(),
        RotateError::Store(error) => error.into(),
    }
}

/// A refused reveal, as a problem.
pub fn reveal_error(error: RevealError) -> ApiError {
    match error {
        RevealError::Denied(denial) => denial.into(),
        RevealError::NotKept => ApiError::Conflict(RevealError::NotKept.to_string()),
        unseal @ RevealError::Unseal { .. } => ApiError::Internal(unseal.to_string()),
        RevealError::Store(error) => error.into(),
    }
}
