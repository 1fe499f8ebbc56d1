//! How long tokens live (SPEC §9 "Expiry", "Rotation with a grace period"): an account's
//! policy, and the rules an `expiresAt` and a grace period must meet. Pure: `now` is passed in.
//!
//! The policy counts from the moment `expiresAt` is set and applies whenever it is set (on
//! create and on PUT); tokens keep the expiry they have when a policy changes.

use time::{Duration, OffsetDateTime};

use crate::values::FieldError;

/// An account's rules for token lifetimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenPolicy {
    /// The longest lifetime, in days, an `expiresAt` may give (`None`: any).
    pub max_lifetime_days: Option<u32>,
    /// Whether every token must have an `expiresAt`.
    pub require_expiry: bool,
}

/// The longest grace period a rotation may give the previous value (7 days).
pub const MAX_GRACE_SECONDS: u32 = 604_800;

impl TokenPolicy {
    /// Checks an `expiresAt` being set at `now` (`None`: the token never expires).
    pub fn check(
        &self,
        expires_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<(), FieldError> {
        let Some(at) = expires_at else {
            return if self.require_expiry {
                Err(FieldError::new(
                    "expiresAt",
                    "is required: this account's policy requires every token to expire",
                ))
            } else {
                Ok(())
            };
        };
        if at <= now {
            return Err(FieldError::new("expiresAt", "must lie in the future"));
        }
        if let Some(days) = self.max_lifetime_days
            && at > now + Duration::days(i64::from(days))
        {
            return Err(FieldError::new(
                "expiresAt",
                format!("must be within {days} days (this account's policy)"),
            ));
        }
        Ok(())
    }
}

/// A rotation's grace period: 0 to [`MAX_GRACE_SECONDS`]; the end of the grace, or `None` for
/// none.
pub fn grace_until(
    seconds: u64,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, FieldError> {
    if seconds > u64::from(MAX_GRACE_SECONDS) {
        return Err(FieldError::new(
            "gracePeriodSeconds",
            format!("must be between 0 and {MAX_GRACE_SECONDS}"),
        ));
    }
    Ok((seconds > 0).then(|| now + Duration::seconds(seconds.cast_signed())))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn policies() {
        let now = datetime!(2026-12-01 12:00 UTC);
        let any = TokenPolicy::default();
        assert!(any.check(None, now).is_ok());
        assert!(any.check(Some(now + Duration::days(3650)), now).is_ok());
        assert!(any.check(Some(now), now).is_err(), "not in the past or now");
        let strict = TokenPolicy {
            max_lifetime_days: Some(30),
            require_expiry: true,
        };
        assert!(strict.check(None, now).is_err());
        assert!(strict.check(Some(now + Duration::days(30)), now).is_ok());
        assert!(
            strict
                .check(
                    Some(now + Duration::days(30) + Duration::milliseconds(1)),
                    now
                )
                .is_err()
        );
    }

    #[test]
    fn grace_periods() {
        let now = datetime!(2026-12-01 12:00 UTC);
        assert_eq!(grace_until(0, now), Ok(None));
        assert_eq!(grace_until(60, now), Ok(Some(now + Duration::minutes(1))));
        assert!(grace_until(604_800, now).is_ok());
        assert!(grace_until(604_801, now).is_err());
    }
}
