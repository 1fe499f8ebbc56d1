//! The store's error contract.

use tollgate_domain::TransitionError;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached (the HTTP layer answers 503). The pool reconnects by
    /// itself when it returns.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The database stopped answering while a transaction was committing: the change may or
    /// may not have been made (the HTTP layer answers 503 "outcome unknown").
    #[error("the database stopped answering during a commit: {0}")]
    OutcomeUnknown(String),
    /// The database URL is not usable.
    #[error("bad database URL: {0}")]
    BadUrl(String),
    /// Migrations failed.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// There is no Tollgate database at the URL (a command other than `serve` or `migrate`
    /// creates none).
    #[error(
        "there is no Tollgate database at {url}: check TOLLGATE_DATABASE_URL (and the folder you run in), or create the database with `tollgate migrate`"
    )]
    NoDatabase {
        /// The URL looked at, password hidden.
        url: String,
    },
    /// The configured server key does not fit the database; nothing was written.
    #[error("{0}; nothing was written")]
    KeyMismatch(String),
    /// A row's security fields do not match its row MAC (changed outside Tollgate).
    #[error("{0}")]
    Integrity(String),
    /// The object does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The domain refused the transition (nothing was written).
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The row changed under us (a concurrent writer won); nothing was written.
    #[error("the token was changed concurrently; retry")]
    Conflict,
    /// A uniqueness rule was broken (e.g. a module code already used by another id).
    #[error("{0}")]
    Duplicate(String),
    /// Stored data does not parse (a bug, or tampering).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(String),
}

impl From<diesel::result::Error> for StoreError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::NotFound => Self::NotFound("row".into()),
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info)
            | Error::DatabaseError(DatabaseErrorKind::UnableToSendCommand, info) => {
                Self::Unavailable(info.message().to_owned())
            }
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                Self::Duplicate(info.message().to_owned())
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => Self::Conflict,
            other => {
                let text = other.to_string();
                if text.contains("server closed the connection")
                    || text.contains("terminating connection")
                    || text.contains("connection to server")
                    || text.contains("no connection to the server")
                {
                    Self::Unavailable(text)
                } else {
                    Self::Database(text)
                }
            }
        }
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(error: r2d2::Error) -> Self {
        Self::Unavailable(error.to_string())
    }
}
