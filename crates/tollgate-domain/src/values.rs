//! Validated values (SPEC §5 "Validation"). Each newtype can only hold a valid value; its
//! constructor says which field failed and why.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// One field's validation failure: which field, and a message that reads after the field name
/// ("must be at most 200 characters").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {message}")]
pub struct FieldError {
    /// The field as the REST API spells it (`name`, `modules[0].id`).
    pub field: String,
    /// Why it was refused.
    pub message: String,
}

impl FieldError {
    /// A failure of `field` with `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every field failure of one request, grouped by field (the problem body's `errors` member).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}", summary(.0))]
pub struct ValidationErrors(pub BTreeMap<String, Vec<String>>);

fn summary(errors: &BTreeMap<String, Vec<String>>) -> String {
    let mut parts = Vec::new();
    for (field, messages) in errors {
        for message in messages {
            parts.push(format!("{field} {message}"));
        }
    }
    parts.join("; ")
}

impl ValidationErrors {
    /// Records one failure.
    pub fn push(&mut self, error: FieldError) {
        self.0.entry(error.field).or_default().push(error.message);
    }

    /// True when nothing failed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing failed, else these errors.
    pub fn into_result<T>(self, value: T) -> Result<T, Self> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// Keeps the value of a successful parse, or records its error.
    pub fn take<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.push(error);
                None
            }
        }
    }
}

impl ValidationErrors {
    /// Keeps the value of a successful validation, or merges its errors into these.
    pub fn absorb<T>(&mut self, result: Result<T, ValidationErrors>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(errors) => {
                for (field, messages) in errors.0 {
                    self.0.entry(field).or_default().extend(messages);
                }
                None
            }
        }
    }
}

impl From<FieldError> for ValidationErrors {
    fn from(error: FieldError) -> Self {
        let mut errors = Self::default();
        errors.push(error);
        errors
    }
}

fn char_count_between(field: &str, text: &str, min: usize, max: usize) -> Result<(), FieldError> {
    let count = text.chars().count();
    if count < min {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if count > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// A token's name: 1–200 characters of letters, digits, spaces and `- . ' "`. Surrounding
/// spaces are trimmed.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct TokenName(String);

impl TokenName {
    /// The longest name, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Validates `text` as the `name` field.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        Self::parse_field("name", text)
    }

    /// Validates `text`, naming `field` in the error.
    pub fn parse_field(field: &str, text: &str) -> Result<Self, FieldError> {
        let text = text.trim_matches(' ');
        char_count_between(field, text, 1, Self::MAX_CHARS)?;
        if let Some(bad) = text.chars().find(|c| !Self::allowed(*c)) {
            return Err(FieldError::new(
                field,
                format!(
                    "may contain only letters, digits, spaces and - . ' \" (found {})",
                    describe_char(bad)
                ),
            ));
        }
        Ok(Self(text.to_owned()))
    }

    fn allowed(c: char) -> bool {
        c.is_alphanumeric() || matches!(c, ' ' | '-' | '.' | '\'' | '"')
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn describe_char(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!("U+{:04X}", u32::from(c))
    } else {
        format!("'{c}'")
    }
}

/// A token's description: at most 2000 characters, no control characters other than line
/// breaks and tabs. May be empty.
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TokenDescription(String);

impl TokenDescription {
    /// The longest description, in characters.
    pub const MAX_CHARS: usize = 2000;

    /// Validates `text` as the `description` field.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        char_count_between("description", text, 0, Self::MAX_CHARS)?;
        if let Some(bad) = text
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(FieldError::new(
                "description",
                format!(
                    "must not contain control characters (found {})",
                    describe_char(bad)
                ),
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The description ("" when there is none).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when there is no description.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The display name of an account, a user or a module: 1–200 characters, trimmed, no control
/// characters.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    /// Validates `text`, naming `field` in the error.
    pub fn parse(field: &str, text: &str) -> Result<Self, FieldError> {
        let text = text.trim();
        char_count_between(field, text, 1, 200)?;
        if let Some(bad) = text.chars().find(|c| c.is_control()) {
            return Err(FieldError::new(
                field,
                format!(
                    "must not contain control characters (found {})",
                    describe_char(bad)
                ),
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A module's stable code: kebab-case (`access-management`), at most 64 characters.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ModuleCode(String);

impl ModuleCode {
    /// Validates `text` as a module code.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        char_count_between("code", text, 1, 64)?;
        let kebab = text.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        }) && text.as_bytes()[0].is_ascii_lowercase();
        if !kebab {
            return Err(FieldError::new(
                "code",
                "must be kebab-case: lower-case letters and digits in parts joined by '-', starting with a letter",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An API path prefix under `/public/v1/` that a module grants, held as its segments
/// (`commerce/` → `["commerce"]`). Matching is on whole segments.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PathPrefix(Vec<String>);

impl PathPrefix {
    /// Validates a prefix such as `accounts/api-tokens` or `commerce/`: relative, segments of
    /// `[A-Za-z0-9._~-]`, no dot segments.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let trimmed = text.strip_suffix('/').unwrap_or(text);
        let segments: Vec<&str> = trimmed.split('/').collect();
        let valid = !trimmed.is_empty()
            && !text.starts_with('/')
            && segments.iter().all(|segment| {
                !segment.is_empty()
                    && *segment != "."
                    && *segment != ".."
                    && segment.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-')
                    })
            });
        if !valid {
            return Err(FieldError::new(
                "paths",
                format!(
                    "{text:?} is not a path prefix: expected segments like accounts/api-tokens, without a leading slash"
                ),
            ));
        }
        Ok(Self(segments.into_iter().map(str::to_owned).collect()))
    }

    /// The segments of the prefix.
    pub fn segments(&self) -> &[String] {
        &self.0
    }

    /// True when `path_segments` starts with every segment of this prefix.
    pub fn matches<'a>(&self, path_segments: impl IntoIterator<Item = &'a str>) -> bool {
        let mut path = path_segments.into_iter();
        self.0
            .iter()
            .all(|segment| path.next() == Some(segment.as_str()))
    }
}

impl fmt::Display for PathPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("/"))
    }
}

macro_rules! debug_as_display {
    ($($ty:ty),*) => {$(
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
debug_as_display!(TokenName, TokenDescription, DisplayName, ModuleCode);

impl fmt::Debug for PathPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PathPrefix({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_name(input: &str, expect: Result<&str, &str>) {
        let got = TokenName::parse(input);
        match expect {
            Ok(value) => assert_eq!(got.map(|n| n.0), Ok(value.to_owned()), "{input:?}"),
            Err(message) => assert_eq!(
                got.map_err(|e| e.to_string()).err().as_deref(),
                Some(message),
                "{input:?}"
            ),
        }
    }

    #[test]
    fn token_names() {
        check_name("CRM robot", Ok("CRM robot"));
        check_name("  CRM robot  ", Ok("CRM robot"));
        check_name("O'Brien \"v2.0\" - sync", Ok("O'Brien \"v2.0\" - sync"));
        check_name("Zürich Ünïcode 東京 42", Ok("Zürich Ünïcode 東京 42"));
        check_name("", Err("name must not be empty"));
        check_name("   ", Err("name must not be empty"));
        check_name(&"a".repeat(200), Ok(&"a".repeat(200)));
        check_name(&"a".repeat(201), Err("name must be at most 200 characters"));
        check_name(&"é".repeat(200), Ok(&"é".repeat(200)));
        check_name(
            "a<script>",
            Err("name may contain only letters, digits, spaces and - . ' \" (found '<')"),
        );
        check_name(
            "tab\there",
            Err("name may contain only letters, digits, spaces and - . ' \" (found U+0009)"),
        );
        check_name(
            "under_score",
            Err("name may contain only letters, digits, spaces and - . ' \" (found '_')"),
        );
    }

    #[test]
    fn descriptions() {
        assert!(TokenDescription::parse("").is_ok());
        assert!(TokenDescription::parse("Line one\nLine two\ttabbed").is_ok());
        assert!(TokenDescription::parse(&"x".repeat(2000)).is_ok());
        assert_eq!(
            TokenDescription::parse(&"x".repeat(2001)).map_err(|e| e.to_string()),
            Err("description must be at most 2000 characters".to_owned())
        );
        assert_eq!(
            TokenDescription::parse("bell\u{7}").map_err(|e| e.to_string()),
            Err("description must not contain control characters (found U+0007)".to_owned())
        );
    }

    #[test]
    fn display_names() {
        assert_eq!(
            DisplayName::parse("name", " Jane Doe ").map(|n| n.0),
            Ok("Jane Doe".to_owned())
        );
        assert!(DisplayName::parse("name", "").is_err());
        assert!(DisplayName::parse("name", "a\u{0}b").is_err());
    }

    #[test]
    fn module_codes() {
        for good in ["access-management", "billing", "a1-b2", "x"] {
            assert!(ModuleCode::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "Access", "-a", "a-", "a--b", "1abc", "a_b", "a b"] {
            assert!(ModuleCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn path_prefixes() {
        let prefix = PathPrefix::parse("commerce/").ok();
        assert_eq!(
            prefix.as_ref().map(ToString::to_string).as_deref(),
            Some("commerce")
        );
        let users = PathPrefix::parse("accounts/users").ok();
        assert_eq!(users.as_ref().map(|p| p.segments().len()), Some(2));
        for bad in [
            "",
            "/commerce",
            "a//b",
            "a/../b",
            "a/./b",
            "a b",
            "a?b",
            "%2e",
        ] {
            assert!(PathPrefix::parse(bad).is_err(), "{bad}");
        }
        let Some(users) = users else { return };
        assert!(users.matches(["accounts", "users"]));
        assert!(users.matches(["accounts", "users", "USR-1"]));
        assert!(!users.matches(["accounts", "users-x"]));
        assert!(!users.matches(["accounts"]));
    }

    #[test]
    fn errors_collect_by_field() {
        let mut errors = ValidationErrors::default();
        assert_eq!(
            errors.take(TokenName::parse("ok")).map(|n| n.0),
            Some("ok".to_owned())
        );
        assert!(errors.take(TokenName::parse("")).is_none());
        errors.push(FieldError::new("name", "second"));
        assert_eq!(errors.0.get("name").map(Vec::len), Some(2));
        assert_eq!(errors.to_string(), "name must not be empty; name second");
        let mut more =
            ValidationErrors::from(FieldError::new("modules", "MOD-0001 does not exist"));
        more.push(FieldError::new("name", "third"));
        assert_eq!(errors.absorb::<()>(Err(more)), None);
        assert_eq!(errors.0.get("name").map(Vec::len), Some(3));
        assert_eq!(errors.absorb(Ok::<_, ValidationErrors>(7)), Some(7));
    }
}
