//! The HTTP API over real HTTPS: a server per test (self-signed certificate, `127.0.0.1:0`), a
//! `reqwest` client that trusts that certificate (and a raw TLS client for exact bytes), every
//! test body on SQLite then on PostgreSQL (see `common`).

/// Fails the test body (with the file and line) unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!("{}:{}: {}", file!(), line!(), format!($($arg)+)).into());
        }
    };
    ($cond:expr) => {
        if !$cond {
            return Err(format!("{}:{}: {}", file!(), line!(), stringify!($cond)).into());
        }
    };
}

/// Fails the test body (with the file and line) unless both sides are equal.
macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($arg:tt)+) => {
        match (&$left, &$right) {
            (left, right) => {
                if left != right {
                    return Err(format!(
                        "{}:{}: `{}` is {:?}, expected {:?}: {}",
                        file!(),
                        line!(),
                        stringify!($left),
                        left,
                        right,
                        format!($($arg)+)
                    )
                    .into());
                }
            }
        }
    };
    ($left:expr, $right:expr) => {
        match (&$left, &$right) {
            (left, right) => {
                if left != right {
                    return Err(format!(
                        "{}:{}: `{}` is {:?}, expected {:?}",
                        file!(),
                        line!(),
                        stringify!($left),
                        left,
                        right
                    )
                    .into());
                }
            }
        }
    };
}

mod authz;
mod bad_input;
mod bounds;
mod client_address;
mod clients;
mod common;
mod envoy;
mod gate;
mod integrity;
mod lifecycle;
mod lifetimes;
mod neutralise;
mod openapi;
mod statuses;
mod tracing;
mod web;
