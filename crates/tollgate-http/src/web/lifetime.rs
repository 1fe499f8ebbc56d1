//! Tokens that end, on the pages (SPEC §9 "Expiry", "Owners see trouble"): the Expiration
//! choice of the wizard and the edit form (7, 30, 60, 90 days, a date, none) and what it
//! becomes as the REST API's `expiresAt`, the self-rotation switch, "expires in N days", and
//! the list page's banner about tokens that need their owners.

use maud::{Markup, html};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, Month, OffsetDateTime, Time};
use tollgate_domain::lifetime::TokenPolicy;
use tollgate_store::{Trouble, TroubleList};

use super::TOKENS_PATH;
use super::form::first;
use super::views::{Errors, TokenForm, described_by, field_errors, when};

/// The lifetimes offered, in days.
pub const PRESET_DAYS: [u16; 4] = [7, 30, 60, 90];

/// A token expiring within this is a warning (in the list, on its page, in the banner).
pub const SOON: Duration = Duration::days(7);

/// The banner counts a retired value presented within this.
pub const RETIRED_WINDOW: Duration = Duration::days(7);

/// The banner names at most this many tokens of each kind.
pub const BANNER_NAMES: u32 = 5;

/// What the Expiration field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryChoice {
    /// Edit only: leave the expiry as it is.
    Keep,
    /// This many days from now.
    Days(u16),
    /// At 00:00 UTC on the date of the date field.
    Date,
    /// Never expires.
    Never,
}

impl ExpiryChoice {
    /// From the form; `None` for anything not offered.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "keep" => Some(Self::Keep),
            "date" => Some(Self::Date),
            "never" => Some(Self::Never),
            days => days
                .parse()
                .ok()
                .filter(|days| PRESET_DAYS.contains(days))
                .map(Self::Days),
        }
    }

    /// The option's value.
    pub fn key(self) -> String {
        match self {
            Self::Keep => "keep".into(),
            Self::Days(days) => days.to_string(),
            Self::Date => "date".into(),
            Self::Never => "never".into(),
        }
    }

    /// The choice a new token's form starts with: none, unless the account's policy makes
    /// every token expire (then the longest preset up to 30 days it allows, else a date).
    pub fn default_for(policy: &TokenPolicy) -> Self {
        if !policy.require_expiry {
            return Self::Never;
        }
        let allowed = |days: u16| {
            policy
                .max_lifetime_days
                .is_none_or(|max| u32::from(days) <= max)
        };
        [30, 7]
            .into_iter()
            .find(|days| allowed(*days))
            .map_or(Self::Date, Self::Days)
    }
}

/// The Expiration field and its date field, as posted (or as a form starts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryForm {
    /// The chosen option.
    pub choice: ExpiryChoice,
    /// The date field (`YYYY-MM-DD`), used with [`ExpiryChoice::Date`].
    pub date: String,
    /// The token's expiry now (RFC 3339; edit only).
    pub current: Option<String>,
}

impl Default for ExpiryForm {
    fn default() -> Self {
        Self {
            choice: ExpiryChoice::Never,
            date: String::new(),
            current: None,
        }
    }
}

impl ExpiryForm {
    /// From a posted form: a missing or unknown choice keeps what the token has (a new token
    /// then never expires, as over the REST API without `expiresAt`).
    pub fn posted(choice: Option<&str>, date: Option<&str>, current: Option<String>) -> Self {
        let fallback = if current.is_some() {
            ExpiryChoice::Keep
        } else {
            ExpiryChoice::Never
        };
        Self {
            choice: choice.and_then(ExpiryChoice::parse).unwrap_or(fallback),
            date: date.unwrap_or_default().trim().chars().take(32).collect(),
            current,
        }
    }

    /// The form's `expiresAt` for the REST API's functions at `now`: `None` leaves it as it
    /// is, `Some(None)` clears it. An Err is the message for the date field.
    pub fn expires_at(&self, now: OffsetDateTime) -> Result<Option<Option<String>>, String> {
        let at = match self.choice {
            ExpiryChoice::Keep => return Ok(None),
            // Nothing to clear: leave it (so that an edit of the name is not refused by a
            // policy that came after the token).
            ExpiryChoice::Never if self.current.is_none() => return Ok(None),
            ExpiryChoice::Never => return Ok(Some(None)),
            ExpiryChoice::Days(days) => now + Duration::days(i64::from(days)),
            ExpiryChoice::Date => parse_date(&self.date)?
                .with_time(Time::MIDNIGHT)
                .assume_utc(),
        };
        at.format(&Rfc3339)
            .map(|text| Some(Some(text)))
            .map_err(|_| "Enter a valid date.".to_owned())
    }
}

/// The Expiration and self-rotation fields of a posted token form (`current`: the token's
/// expiry now, when editing).
pub fn lifetime_of(pairs: &[(String, String)], current: Option<String>) -> (ExpiryForm, bool) {
    (
        ExpiryForm::posted(first(pairs, "expiry"), first(pairs, "expiry_date"), current),
        first(pairs, "self_rotate").is_some(),
    )
}

/// The form's `expiresAt` at `now`, or the date field's error in `errors`.
pub fn expiry_of(
    form: &TokenForm,
    now: OffsetDateTime,
    errors: &mut Errors,
) -> Option<Option<String>> {
    match form.expiry.expires_at(now) {
        Ok(expires_at) => expires_at,
        Err(message) => {
            errors.insert("expiry_date".into(), vec![message]);
            None
        }
    }
}

/// With "On a date…" chosen, what the REST API says of `expiresAt` belongs to the date field.
pub fn place_expiry_errors(form: &TokenForm, mut errors: Errors) -> Errors {
    if form.expiry.choice == ExpiryChoice::Date
        && let Some(messages) = errors.remove("expiry")
    {
        errors
            .entry("expiry_date".into())
            .or_default()
            .extend(messages);
    }
    errors
}

/// `YYYY-MM-DD`, as a date input sends it.
fn parse_date(text: &str) -> Result<Date, String> {
    if text.is_empty() {
        return Err("Choose the date the token expires on.".into());
    }
    let invalid = || "Enter the date as YYYY-MM-DD, for example 2027-01-31.".to_owned();
    let mut parts = text.splitn(3, '-');
    let mut number = |digits: usize| {
        parts
            .next()
            .filter(|part| part.len() == digits && part.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|part| part.parse::<i32>().ok())
            .ok_or_else(invalid)
    };
    let (year, month, day) = (number(4)?, number(2)?, number(2)?);
    let month = u8::try_from(month)
        .ok()
        .and_then(|month| Month::try_from(month).ok())
        .ok_or_else(invalid)?;
    let day = u8::try_from(day).map_err(|_| invalid())?;
    Date::from_calendar_date(year, month, day).map_err(|_| invalid())
}

fn date_text(date: Date) -> String {
    format!(
        "{}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn short_date(at: OffsetDateTime) -> String {
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months
        .get(usize::from(u8::from(at.month())) - 1)
        .copied()
        .unwrap_or("");
    format!("{} {month} {}", at.day(), at.year())
}

/// What the account's policy asks of an expiry, in words (empty without a policy).
pub fn policy_text(policy: &TokenPolicy) -> String {
    match (policy.require_expiry, policy.max_lifetime_days) {
        (false, None) => String::new(),
        (false, Some(days)) => format!("This account's policy: at most {days} days."),
        (true, None) => "This account's policy: every token must expire.".into(),
        (true, Some(days)) => {
            format!("This account's policy: every token must expire, within {days} days.")
        }
    }
}

/// The Expiration select and its date field. Errors: `expiry` (the choice, the policy) and
/// `expiry_date` (the date).
pub fn expiry_fields(
    prefix: &str,
    form: &ExpiryForm,
    policy: &TokenPolicy,
    errors: &Errors,
    now: OffsetDateTime,
) -> Markup {
    let select_id = format!("{prefix}expiry");
    let help_id = format!("{prefix}expiry-help");
    let date_id = format!("{prefix}expiry-date");
    let date_help = format!("{prefix}expiry-date-help");
    let date_box = format!("{prefix}expiry-date-field");
    let tomorrow = now.date().next_day().map(date_text);
    let current = form
        .current
        .as_deref()
        .and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok());
    let policy = policy_text(policy);
    html! {
        div.field {
            label for=(select_id) { "Expiration" }
            select id=(select_id) name="expiry" data-expiry-date=(date_box)
                aria-invalid=[errors.contains_key("expiry").then_some("true")]
                aria-describedby=(described_by(errors, "expiry", Some(&help_id)).unwrap_or_default()) {
                @if let Some(at) = current {
                    option value="keep" selected[form.choice == ExpiryChoice::Keep] {
                        @if at <= now { "Keep: expired " (short_date(at)) } @else { "Keep: " (short_date(at)) }
                    }
                }
                @for days in PRESET_DAYS {
                    option value=(days) selected[form.choice == ExpiryChoice::Days(days)] {
                        (days) " days (" (short_date(now + Duration::days(i64::from(days)))) ")"
                    }
                }
                option value="date" selected[form.choice == ExpiryChoice::Date] { "On a date…" }
                option value="never" selected[form.choice == ExpiryChoice::Never] { "No expiration" }
            }
            p.muted id=(help_id) {
                "When the token stops working; it can be changed later. "
                @if !policy.is_empty() { (policy) }
            }
            (field_errors(errors, "expiry"))
        }
        div.field.expiry-date id=(date_box) {
            label for=(date_id) { "Expiration date" }
            input id=(date_id) type="date" name="expiry_date" value=(form.date) min=[tomorrow]
                aria-invalid=[errors.contains_key("expiry_date").then_some("true")]
                aria-describedby=(described_by(errors, "expiry_date", Some(&date_help)).unwrap_or_default());
            p.muted id=(date_help) { "With “On a date…”: the token stops working at 00:00 UTC on this day." }
            (field_errors(errors, "expiry_date"))
        }
    }
}

/// The self-rotation switch.
pub fn self_rotate_field(prefix: &str, on: bool) -> Markup {
    let id = format!("{prefix}self-rotate");
    let help = format!("{prefix}self-rotate-help");
    html! {
        div.field.switch {
            div.switch-row {
                input id=(id) type="checkbox" role="switch" name="self_rotate" value="1" checked[on]
                    aria-describedby=(help);
                label for=(id) { "Let this token rotate itself" }
            }
            p.muted id=(help) {
                "With its own value it may then ask for a new one (POST …/api-tokens/{id}/rotate), \
                 as CI jobs do before their token expires. Leave it off, and a stolen value cannot \
                 lock you out by rotating the token."
            }
        }
    }
}

/// "expires in N days" (N rounded) within [`SOON`] of `at`, "expires in N hours" within a day;
/// `None` further out or once it has passed.
pub fn expires_in(at: OffsetDateTime, now: OffsetDateTime) -> Option<String> {
    let left = at - now;
    if left <= Duration::ZERO || left > SOON {
        return None;
    }
    Some(if left < Duration::hours(1) {
        "expires in less than an hour".into()
    } else if left < Duration::days(1) {
        let hours = left.whole_hours();
        format!(
            "expires in {hours} hour{}",
            if hours == 1 { "" } else { "s" }
        )
    } else {
        let days = (left + Duration::hours(12)).whole_days();
        format!("expires in {days} day{}", if days == 1 { "" } else { "s" })
    })
}

/// A token's expiry for the list and the details page: the date, and the warning when near.
pub fn expiry_text(expires_at: Option<&str>, now: OffsetDateTime) -> Markup {
    let parsed = expires_at.and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok());
    html! {
        @match (expires_at, parsed) {
            (None, _) => { span.muted { "Never" } }
            (Some(text), None) => { (text) }
            (Some(text), Some(at)) => {
                div {
                    (when(text))
                    @if let Some(soon) = expires_in(at, now) { div.soon { (soon) } }
                }
            }
        }
    }
}

fn names(
    list: &TroubleList,
    note: impl Fn(&tollgate_store::TroubleToken) -> Option<String>,
) -> Markup {
    let shown = list.tokens.len() as u64;
    html! {
        @for (index, token) in list.tokens.iter().enumerate() {
            @if index > 0 { ", " }
            a href=(format!("{TOKENS_PATH}/{}", token.id)) { (token.name) }
            " " span.mono { "(" (token.id) ")" }
            @if let Some(note) = note(token) { " " (note) }
        }
        @if list.total > shown { " and " (list.total - shown) " more" }
    }
}

/// The list page's banner (nothing when no token needs attention).
pub fn trouble_banner(trouble: &Trouble, now: OffsetDateTime) -> Markup {
    let none = |list: &TroubleList| list.total == 0;
    html! {
        @if !(none(&trouble.compromised) && none(&trouble.retired_value_used) && none(&trouble.expiring)) {
            section.notice.warning #trouble aria-labelledby="trouble-title" {
                h2 #trouble-title { "API tokens that need attention" }
                ul {
                    @if !none(&trouble.compromised) {
                        li data-trouble="compromised" {
                            strong { "Reported leaked: " }
                            (names(&trouble.compromised, |_| None))
                            ". Each was disabled; rotate it to give it a new value, then enable it."
                        }
                    }
                    @if !none(&trouble.retired_value_used) {
                        li data-trouble="retired-value" {
                            strong { "Used with a retired value in the last 7 days: " }
                            (names(&trouble.retired_value_used, |_| None))
                            ". Something still holds a value a rotation replaced: give it the new one, or find out who it is."
                        }
                    }
                    @if !none(&trouble.expiring) {
                        li data-trouble="expiring" {
                            strong { "Expiring within 7 days: " }
                            (names(&trouble.expiring, |token| {
                                token.expires_at.and_then(|at| expires_in(at, now)).map(|text| format!("— {text}"))
                            }))
                            ". Give them a later expiration with Edit, or replace them."
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn choices_become_expires_at() {
        let now = datetime!(2026-12-01 12:00 UTC);
        let form = |choice: &str, date: &str, current: Option<&str>| {
            ExpiryForm::posted(Some(choice), Some(date), current.map(str::to_owned)).expires_at(now)
        };
        assert_eq!(
            form("30", "", None),
            Ok(Some(Some("2026-12-31T12:00:00Z".into())))
        );
        assert_eq!(
            form("date", "2027-01-31", None),
            Ok(Some(Some("2027-01-31T00:00:00Z".into())))
        );
        assert_eq!(form("never", "", None), Ok(None), "nothing to clear");
        assert_eq!(
            form("never", "", Some("2027-01-01T00:00:00Z")),
            Ok(Some(None))
        );
        assert_eq!(form("keep", "", Some("2027-01-01T00:00:00Z")), Ok(None));
        // Not offered: the token keeps what it has.
        assert_eq!(form("31", "", Some("2027-01-01T00:00:00Z")), Ok(None));
        for bad in [
            "",
            "2027-1-31",
            "2027-02-30",
            "27-01-31",
            "2027-01-31x",
            "+2027-01-31",
        ] {
            assert!(form("date", bad, None).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn defaults_follow_the_policy() {
        let policy = |require_expiry, max_lifetime_days| TokenPolicy {
            max_lifetime_days,
            require_expiry,
        };
        assert_eq!(
            ExpiryChoice::default_for(&policy(false, Some(7))),
            ExpiryChoice::Never
        );
        assert_eq!(
            ExpiryChoice::default_for(&policy(true, None)),
            ExpiryChoice::Days(30)
        );
        assert_eq!(
            ExpiryChoice::default_for(&policy(true, Some(10))),
            ExpiryChoice::Days(7)
        );
        assert_eq!(
            ExpiryChoice::default_for(&policy(true, Some(3))),
            ExpiryChoice::Date
        );
    }

    #[test]
    fn warnings_within_seven_days() {
        let now = datetime!(2026-12-01 12:00 UTC);
        let at = |d: Duration| expires_in(now + d, now);
        assert_eq!(
            at(Duration::days(7) - Duration::seconds(1)).as_deref(),
            Some("expires in 7 days")
        );
        assert_eq!(at(Duration::days(7) + Duration::seconds(1)), None);
        assert_eq!(
            at(Duration::hours(36)).as_deref(),
            Some("expires in 2 days")
        );
        assert_eq!(at(Duration::hours(25)).as_deref(), Some("expires in 1 day"));
        assert_eq!(
            at(Duration::hours(5)).as_deref(),
            Some("expires in 5 hours")
        );
        assert_eq!(
            at(Duration::minutes(5)).as_deref(),
            Some("expires in less than an hour")
        );
        assert_eq!(at(Duration::ZERO), None);
        assert_eq!(at(-Duration::days(1)), None);
    }
}
